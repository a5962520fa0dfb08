# Packaging checks: every public header compiles alone (a build target), the
# shared library exports the API and nothing else, and programs build and run
# against an installed tree through find_package and through pkg-config.
include(${PROJECT_SOURCE_DIR}/cmake/headers.cmake)
migrate_public_headers(MIGRATE_HEADERTEST_HEADERS)
# The headers compile as C++ too, when there is a C++ compiler.
include(CheckLanguage)
check_language(CXX)
if(CMAKE_CXX_COMPILER)
  enable_language(CXX)
endif()
add_subdirectory(headertest)

list(JOIN MIGRATE_HEADERTEST_HEADERS "," _packaging_headers)
list(JOIN MIGRATE_MODULES "," _packaging_modules)
set(_packaging_sanitize "")
if(MIGRATE_SANITIZE)
  set(_packaging_sanitize "-fsanitize=address,undefined -fno-omit-frame-pointer")
endif()
set(_packaging_args
  -DBUILD_DIR=${PROJECT_BINARY_DIR} -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
  -DPREFIX=${PROJECT_BINARY_DIR}/packaging/prefix
  -DLIBDIR=${CMAKE_INSTALL_LIBDIR} -DINCLUDEDIR=${CMAKE_INSTALL_INCLUDEDIR}
  -DBINDIR=${CMAKE_INSTALL_BINDIR} -DDATADIR=${CMAKE_INSTALL_DATADIR} -DMANDIR=${CMAKE_INSTALL_MANDIR}
  -DDOCDIR=${CMAKE_INSTALL_DOCDIR} -DFULL_DOCDIR=${CMAKE_INSTALL_FULL_DOCDIR} -DCLI=$<TARGET_EXISTS:migrate_cli>
  -DVERSION=${PROJECT_VERSION} -DMAJOR=${PROJECT_VERSION_MAJOR} -DHEADERS=${_packaging_headers}
  -DREADELF=${CMAKE_READELF} -DNM=${CMAKE_NM} -DPKG_CONFIG=${PKG_CONFIG_EXECUTABLE}
  -DC_COMPILER=${CMAKE_C_COMPILER} "-DGENERATOR=${CMAKE_GENERATOR}" -DMAKE_PROGRAM=${CMAKE_MAKE_PROGRAM}
  "-DSANITIZE_FLAGS=${_packaging_sanitize}" -DMODULES=${_packaging_modules} -DMODULE_SUBDIR=${MIGRATE_MODULE_SUBDIR})
set(_packaging_script ${CMAKE_CURRENT_SOURCE_DIR}/consumer/run.cmake)

# packaging.NAME runs run.cmake in MODE with extra -D arguments.
function(migrate_packaging_test name mode)
  add_test(NAME packaging.${name}
    COMMAND ${CMAKE_COMMAND} ${_packaging_args} -DMODE=${mode} -DNAME=${name} ${ARGN} -P ${_packaging_script})
  set_tests_properties(packaging.${name} PROPERTIES TIMEOUT 300 LABELS packaging)
endfunction()

migrate_packaging_test(exports_only_api exports -DCHECK=only -DLIBRARY=$<TARGET_FILE:migrate>)
migrate_packaging_test(exports_all_declared exports -DCHECK=declared -DLIBRARY=$<TARGET_FILE:migrate>)
foreach(module ${MIGRATE_MODULES})
  migrate_packaging_test(exports_module_${module} exports -DCHECK=module -DLIBRARY=$<TARGET_FILE:migrate_${module}>)
endforeach()

# mongo-c-driver 2.x's pkg-config names (bson2, mongoc2), tried with the
# installed 1.x files renamed (tests/consumer/mongo_c_driver_2.cmake): alone,
# configure and build the MongoDB module; beside the 1.x names, configure.
if(MIGRATE_WITH_MONGO_ENABLED)
  foreach(variant "mongo_c_driver_2;-DBUILD=ON" "mongo_c_driver_2_preferred;-DBOTH=ON")
    list(GET variant 0 name)
    list(GET variant 1 arg)
    add_test(NAME packaging.${name}
      COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${PROJECT_SOURCE_DIR} -DWORK_DIR=${PROJECT_BINARY_DIR}/packaging/${name}
        -DPKG_CONFIG=${PKG_CONFIG_EXECUTABLE} -DBSON_MODULE=${BSON_MODULE_NAME}
        -DMONGOC_MODULE=${MIGRATE_WITH_MONGO_DEP_MODULE_NAME} "-DGENERATOR=${CMAKE_GENERATOR}"
        -DMAKE_PROGRAM=${CMAKE_MAKE_PROGRAM} -DC_COMPILER=${CMAKE_C_COMPILER} ${arg}
        -P ${CMAKE_CURRENT_SOURCE_DIR}/consumer/mongo_c_driver_2.cmake)
    set_tests_properties(packaging.${name} PROPERTIES TIMEOUT 600 LABELS packaging)
  endforeach()
endif()

set(_packaging_dirs LIBDIR INCLUDEDIR BINDIR DATADIR MANDIR DOCDIR)
list(TRANSFORM _packaging_dirs PREPEND CMAKE_INSTALL_)
set(_packaging_absolute FALSE)
foreach(dir ${_packaging_dirs})
  if(IS_ABSOLUTE "${${dir}}")
    set(_packaging_absolute TRUE)
  endif()
endforeach()
if(_packaging_absolute)
  message(STATUS "libmigrate: consumer tests off (absolute install directories)")
  return()
endif()
migrate_packaging_test(install install)
set_tests_properties(packaging.install PROPERTIES FIXTURES_SETUP migrate_installed)

math(EXPR _packaging_next_major "${PROJECT_VERSION_MAJOR} + 1")
set(_packaging_consumers
  "consumer_cmake_next_major cmake -DSTATIC=OFF -DREQUEST=${_packaging_next_major}.0 -DEXPECT_FAIL=ON")
# The consumer program opens sqlite::memory:.
if(MIGRATE_WITH_SQLITE_ENABLED)
  list(APPEND _packaging_consumers
    "consumer_cmake_shared cmake -DSTATIC=OFF -DREQUEST=${PROJECT_VERSION}"
    "consumer_cmake_static cmake -DSTATIC=ON"
    "consumer_cmake_subdirectory cmake -DSTATIC=OFF -DSUBDIR_SOURCE=${PROJECT_SOURCE_DIR}"
    "consumer_pkgconfig_shared pkgconfig -DSTATIC=OFF"
    "consumer_pkgconfig_static pkgconfig -DSTATIC=ON"
    "consumer_static_recipe recipe")
endif()
foreach(consumer IN LISTS _packaging_consumers)
  separate_arguments(consumer UNIX_COMMAND "${consumer}")
  migrate_packaging_test(${consumer})
  list(GET consumer 0 name)
  set_tests_properties(packaging.${name} PROPERTIES FIXTURES_REQUIRED migrate_installed)
endforeach()
