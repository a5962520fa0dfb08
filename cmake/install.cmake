# Install rules: headers, both libraries, a pkg-config file and a CMake
# package (find_package(libmigrate CONFIG) gives libmigrate::migrate and
# libmigrate::migrate_static). Included at the end of the top CMakeLists.txt.

include(${CMAKE_CURRENT_LIST_DIR}/headers.cmake)

set(MIGRATE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/libmigrate)

migrate_public_headers(MIGRATE_PUBLIC_HEADERS)
install(FILES ${MIGRATE_PUBLIC_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/migrate)

install(TARGETS migrate migrate_static EXPORT libmigrateTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# The driver modules the shared library loads (lib/module.c).
foreach(module ${MIGRATE_MODULE_TARGETS})
  install(TARGETS ${module} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/${MIGRATE_MODULE_SUBDIR})
endforeach()
install(EXPORT libmigrateTargets NAMESPACE libmigrate:: DESTINATION ${MIGRATE_CMAKE_DIR})

# The exported targets link the pkg-config imported targets by name
# (PkgConfig::BSON ...), so the package config recreates them under the same
# names: record each one's prefix and module.
set(MIGRATE_CONFIG_DEPS "")
foreach(dep ${MIGRATE_DEPS})
  if(NOT dep MATCHES "^PkgConfig::(.+)$")
    message(FATAL_ERROR "libmigrate: cannot export the dependency ${dep}")
  endif()
  set(prefix ${CMAKE_MATCH_1})
  if(NOT ${prefix}_MODULE_NAME)
    message(FATAL_ERROR "libmigrate: no pkg-config module recorded for ${dep}")
  endif()
  list(APPEND MIGRATE_CONFIG_DEPS "${prefix}=${${prefix}_MODULE_NAME}")
endforeach()

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/libmigrateConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/libmigrateConfig.cmake
  INSTALL_DESTINATION ${MIGRATE_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/libmigrateConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/libmigrateConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/libmigrateConfigVersion.cmake
  DESTINATION ${MIGRATE_CMAKE_DIR})

# pkg-config. libbson is public (<migrate/driver.h> exposes it); the rest
# of MIGRATE_PC_REQUIRES is needed for static linking only.
separate_arguments(_pc_modules UNIX_COMMAND "${MIGRATE_PC_REQUIRES}")
set(MIGRATE_PC_REQUIRES_PUBLIC ${BSON_MODULE_NAME})
set(MIGRATE_PC_REQUIRES_PRIVATE ${_pc_modules})
list(REMOVE_ITEM MIGRATE_PC_REQUIRES_PRIVATE ${BSON_MODULE_NAME})
list(JOIN MIGRATE_PC_REQUIRES_PRIVATE " " MIGRATE_PC_REQUIRES_PRIVATE)
# Plain libraries the static library links (libm ...) and the thread flags.
set(MIGRATE_PC_LIBS_PRIVATE "${CMAKE_THREAD_LIBS_INIT}")
get_target_property(_pc_links migrate_static LINK_LIBRARIES)
foreach(lib ${_pc_links})
  if(NOT lib MATCHES "::" AND NOT TARGET ${lib})
    string(APPEND MIGRATE_PC_LIBS_PRIVATE " -l${lib}")
  endif()
endforeach()
string(STRIP "${MIGRATE_PC_LIBS_PRIVATE}" MIGRATE_PC_LIBS_PRIVATE)
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(MIGRATE_PC_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(MIGRATE_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()

# The prefix is only known at install time (cmake --install --prefix), so
# the file is configured twice: everything but the prefix now, the prefix
# by the install script.
set(MIGRATE_PC_PREFIX "@MIGRATE_PC_PREFIX@")
set(_pc_stage ${CMAKE_CURRENT_BINARY_DIR}/pkgconfig/libmigrate.pc.stage)
set(_pc_file ${CMAKE_CURRENT_BINARY_DIR}/pkgconfig/libmigrate.pc)
configure_file(${PROJECT_SOURCE_DIR}/pkgconfig/libmigrate.pc.in ${_pc_stage} @ONLY)
install(CODE "
  set(MIGRATE_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${_pc_stage}\" \"${_pc_file}\" @ONLY)
")
install(FILES ${_pc_file} DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(FILES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The manual (docs/*.md and the plan file's JSON schema); migrate --help points here.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
  PATTERN Doxyfile.in EXCLUDE)
