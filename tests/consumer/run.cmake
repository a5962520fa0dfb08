# The packaging tests, run by CTest as `cmake -DMODE=... -P run.cmake`
# (tests/packaging.cmake registers them and passes the variables below).
#
#   MODE=install      install the build tree into PREFIX and check the layout
#                     (libraries, headers, packages, docs; with CLI the tool,
#                     its man page and completions, and its --help's last line)
#   MODE=exports      check the shared library's dynamic symbols (CHECK=only:
#                     nothing but migrate_*; CHECK=declared: every function the
#                     public headers declare is defined)
#   MODE=cmake        build tests/consumer with find_package and run it
#                     (STATIC=ON/OFF, REQUEST=version to ask for; EXPECT_FAIL
#                     when the configure must be refused)
#   MODE=pkgconfig    build tests/consumer/main.c with the compiler and
#                     pkg-config alone, as a Makefile would, and run it
#   MODE=recipe       build tests/consumer/main.c with README.md's static
#                     recipe (static_recipe.sh runs its block) and run it

cmake_minimum_required(VERSION 3.16)

include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

# The DT_NEEDED entries of an ELF file.
function(needed_libraries file out)
  run("readelf" ${READELF} -d ${file})
  string(REGEX MATCHALL "\\(NEEDED\\)[^\n]*" entries "${run_output}")
  set(names "")
  foreach(entry ${entries})
    string(REGEX REPLACE ".*\\[(.*)\\]" "\\1" name "${entry}")
    list(APPEND names ${name})
  endforeach()
  set(${out} "${names}" PARENT_SCOPE)
endfunction()

# A consumer built against the shared library needs libmigrate.so.MAJOR;
# one built against the static library must not need it at all.
function(check_linkage exe static)
  needed_libraries(${exe} needed)
  list(FILTER needed INCLUDE REGEX "^libmigrate\\.")
  if(static AND needed)
    fail("${exe} links the static library but needs ${needed}")
  elseif(NOT static AND NOT needed STREQUAL "libmigrate.so.${MAJOR}")
    fail("${exe} should need libmigrate.so.${MAJOR}, needs '${needed}'")
  endif()
endfunction()

function(check_consumer_output exe)
  run("the consumer" ${CMAKE_COMMAND} -E env "LD_LIBRARY_PATH=${LIB_DIR}" ${exe})
  string(REGEX REPLACE "[.]" "[.]" version_re "${VERSION}")
  if(NOT run_output MATCHES "libmigrate ${version_re}: plan consumer at version 1\n")
    fail("unexpected consumer output:\n${run_output}")
  endif()
  message(STATUS "${run_output}")
endfunction()

# migrate --help ends with a line naming the manual in the doc directory it
# was built for (the configured prefix: the test installs elsewhere).
function(check_help_points_at_docs)
  run("migrate --help" ${CMAKE_COMMAND} -E env "LD_LIBRARY_PATH=${LIB_DIR}" ${PREFIX}/${BINDIR}/migrate --help)
  string(STRIP "${run_output}" help)
  string(REGEX MATCH "[^\n]*$" last "${help}")
  if(NOT last MATCHES "man migrate" OR NOT last MATCHES " ${FULL_DOCDIR}/cli\\.md$")
    fail("the last line of migrate --help does not name man migrate and ${FULL_DOCDIR}/cli.md: ${last}")
  endif()
endfunction()

# The installed tool finds each driver module where it was installed: a
# URL of the module's scheme gets as far as connecting (to a closed port).
function(check_installed_modules_load)
  string(REPLACE "," ";" modules "${MODULES}")
  set(urls "postgres=postgresql://127.0.0.1:1/none?connect_timeout=2=001_processing_jobs.postgres.json"
    "mongo=mongodb://127.0.0.1:1/none?serverSelectionTimeoutMS=200&connectTimeoutMS=200=004_chat_collections.mongo.json")
  foreach(entry ${urls})
    string(REGEX MATCH "^[a-z]+" module "${entry}")
    string(REGEX REPLACE "^[a-z]+=(.*)=[^=]*$" "\\1" url "${entry}")
    string(REGEX REPLACE ".*=" "" plan "${entry}")
    if(NOT module IN_LIST modules)
      continue()
    endif()
    execute_process(COMMAND ${CMAKE_COMMAND} -E env "LD_LIBRARY_PATH=${LIB_DIR}" ${PREFIX}/${BINDIR}/migrate
        -u ${url} --plan ${SOURCE_DIR}/examples/plans/${plan} status RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(rc EQUAL 0 OR out MATCHES "not installed|no driver" OR NOT out MATCHES "[Cc]onnect|server|refused")
      fail("the installed migrate did not reach the ${module} module's connect (exit ${rc}):\n${out}")
    endif()
    message(STATUS "installed ${module} module loads: ${out}")
  endforeach()
endfunction()

function(check_install)
  file(REMOVE_RECURSE ${PREFIX})
  run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX})
  string(REPLACE "," ";" headers "${HEADERS}")
  set(expected
    ${LIB_DIR}/libmigrate.a
    ${LIB_DIR}/libmigrate.so
    ${LIB_DIR}/libmigrate.so.${MAJOR}
    ${LIB_DIR}/libmigrate.so.${VERSION}
    ${LIB_DIR}/pkgconfig/libmigrate.pc
    ${LIB_DIR}/cmake/libmigrate/libmigrateConfig.cmake
    ${LIB_DIR}/cmake/libmigrate/libmigrateConfigVersion.cmake
    ${LIB_DIR}/cmake/libmigrate/libmigrateTargets.cmake)
  # The manual: docs/ in the doc directory, the tool's man page and completions.
  file(GLOB docs RELATIVE ${SOURCE_DIR}/docs ${SOURCE_DIR}/docs/*.md ${SOURCE_DIR}/docs/*.json)
  list(TRANSFORM docs PREPEND ${PREFIX}/${DOCDIR}/)
  list(APPEND expected ${PREFIX}/${DOCDIR}/README.md ${PREFIX}/${DOCDIR}/LICENSE ${docs})
  if(CLI)
    list(APPEND expected
      ${PREFIX}/${BINDIR}/migrate
      ${PREFIX}/${MANDIR}/man1/migrate.1
      ${PREFIX}/${DATADIR}/bash-completion/completions/migrate
      ${PREFIX}/${DATADIR}/zsh/site-functions/_migrate)
  endif()
  foreach(header ${headers})
    get_filename_component(name ${header} NAME)
    list(APPEND expected ${INCLUDE_DIR}/migrate/${name})
  endforeach()
  string(REPLACE "," ";" modules "${MODULES}")
  foreach(module ${modules})
    list(APPEND expected ${LIB_DIR}/${MODULE_SUBDIR}/${module}.so)
  endforeach()
  foreach(file ${expected})
    if(NOT EXISTS ${file})
      fail("not installed: ${file}")
    endif()
  endforeach()
  file(GLOB installed_headers ${INCLUDE_DIR}/migrate/*.h)
  list(LENGTH installed_headers n)
  list(LENGTH headers m)
  if(NOT n EQUAL m)
    fail("installed headers: ${installed_headers}; expected ${headers}")
  endif()

  if(EXISTS ${PREFIX}/${DOCDIR}/Doxyfile.in)
    fail("the Doxygen template is installed with the docs")
  endif()
  if(CLI)
    check_help_points_at_docs()
    check_installed_modules_load()
    # Without LD_LIBRARY_PATH too: the tool's RUNPATH names its library.
    run("installed migrate --version" ${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH ${PREFIX}/${BINDIR}/migrate --version)
    if(NOT run_output MATCHES "${VERSION}")
      fail("the installed migrate --version printed: ${run_output}")
    endif()
  endif()

  run("readelf" ${READELF} -d ${LIB_DIR}/libmigrate.so.${VERSION})
  if(NOT run_output MATCHES "\\(SONAME\\)[^\n]*\\[libmigrate\\.so\\.${MAJOR}\\]")
    fail("the SONAME is not libmigrate.so.${MAJOR}:\n${run_output}")
  endif()
  if(run_output MATCHES "\\((RPATH|RUNPATH)\\)[^\n]*${BUILD_DIR}")
    fail("the installed library points into the build tree:\n${run_output}")
  endif()

  file(READ ${LIB_DIR}/pkgconfig/libmigrate.pc pc)
  if(NOT pc MATCHES "\nprefix=${PREFIX}\n")
    fail("libmigrate.pc does not name the install prefix ${PREFIX}:\n${pc}")
  endif()
  set(ENV{PKG_CONFIG_PATH} ${LIB_DIR}/pkgconfig)
  run("pkg-config" ${PKG_CONFIG} --modversion libmigrate)
  string(STRIP "${run_output}" pc_version)
  if(NOT pc_version STREQUAL VERSION)
    fail("pkg-config says version '${pc_version}', expected ${VERSION}")
  endif()
  run("pkg-config --static" ${PKG_CONFIG} --static --libs libmigrate)
  message(STATUS "installed into ${PREFIX}; pkg-config --static --libs: ${run_output}")
endfunction()

function(check_exports)
  run("nm" ${NM} -D --defined-only ${LIBRARY})
  string(REPLACE "\n" ";" lines "${run_output}")
  set(defined "")
  set(foreign "")
  foreach(line ${lines})
    if(NOT line MATCHES "^[0-9a-fA-F]* *([A-Za-z]) ([^@ ]+)(@+([A-Za-z0-9_]+))?")
      continue()
    endif()
    set(type ${CMAKE_MATCH_1})
    set(name ${CMAKE_MATCH_2})
    set(node "${CMAKE_MATCH_4}")
    # Type A: a version node of the version script, not a symbol.
    if(type STREQUAL "A")
      continue()
    endif()
    if(CHECK STREQUAL "module")
      # A driver module exports its table and nothing else.
      if(name MATCHES "^migrate__module_[a-z]+$")
        list(APPEND defined ${name})
      else()
        list(APPEND foreign ${name})
      endif()
      continue()
    endif()
    # The API under LIBMIGRATE_0; the internal functions the driver
    # modules call under LIBMIGRATE_PRIVATE_0 (lib/migrate.map), and
    # nothing else.
    if(name MATCHES "^migrate_[a-z]" AND node STREQUAL "LIBMIGRATE_0")
      list(APPEND defined ${name})
    elseif(NOT (name MATCHES "^migrate__" AND node STREQUAL "LIBMIGRATE_PRIVATE_0"))
      list(APPEND foreign "${name}@${node}")
    endif()
  endforeach()
  if(NOT defined)
    fail("${LIBRARY} exports nothing")
  endif()

  if(CHECK STREQUAL "module")
    if(foreign OR NOT defined)
      list(JOIN foreign "\n  " foreign)
      fail("${LIBRARY} must export its migrate__module_<name> alone; it exports:\n  ${defined}\n  ${foreign}")
    endif()
    message(STATUS "${LIBRARY} exports ${defined} alone")
    # lib/module.c opens it RTLD_LAZY (its client libraries' lookups wait
    # for their first call); its own symbols must bind when it loads, so
    # that a symbol it lacks is a load error, not a crash at first call.
    run("readelf -d" ${READELF} -d ${LIBRARY})
    if(NOT run_output MATCHES "FLAGS_1\\)[^\n]*NOW")
      fail("${LIBRARY} is not linked with -z now (no NOW in its FLAGS_1):\n${run_output}")
    endif()
    message(STATUS "${LIBRARY} binds its own symbols when it loads (-z now)")
    return()
  endif()
  if(CHECK STREQUAL "only")
    if(foreign)
      list(JOIN foreign "\n  " foreign)
      fail("${LIBRARY} exports symbols outside the API:\n  ${foreign}")
    endif()
    list(LENGTH defined n)
    message(STATUS "${n} API symbols exported, all migrate_* in LIBMIGRATE_0")
    return()
  endif()

  string(REPLACE "," ";" headers "${HEADERS}")
  set(missing "")
  set(declared 0)
  foreach(header ${headers})
    file(READ ${header} text)
    string(REGEX MATCHALL "MIGRATE_EXPORT\\([^)]*\\)[ \t*]*migrate_[a-z0-9_]+[ \t]*\\(" decls "${text}")
    foreach(decl ${decls})
      string(REGEX REPLACE ".*(migrate_[a-z0-9_]+)[ \t]*\\($" "\\1" name "${decl}")
      math(EXPR declared "${declared} + 1")
      if(NOT name IN_LIST defined)
        get_filename_component(base ${header} NAME)
        list(APPEND missing "${name} (${base})")
      endif()
    endforeach()
  endforeach()
  if(missing)
    list(JOIN missing "\n  " missing)
    fail("declared in the public headers but not exported by ${LIBRARY}:\n  ${missing}")
  endif()
  message(STATUS "all ${declared} functions the public headers declare are exported")
endfunction()

function(check_cmake_consumer)
  set(bin ${BUILD_DIR}/packaging/consumer-${NAME})
  file(REMOVE_RECURSE ${bin})
  set(subdir_sanitize "")
  if(SUBDIR_SOURCE AND SANITIZE_FLAGS)
    # libmigrate built inside the consumer knows its sanitized shared
    # library keeps the runtime's symbols undefined.
    set(subdir_sanitize -DMIGRATE_SANITIZE=ON)
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer -B ${bin} -G ${GENERATOR}
      -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM} -DCMAKE_C_COMPILER=${C_COMPILER}
      -DCMAKE_PREFIX_PATH=${PREFIX} -DMIGRATE_EXPECTED_DIR=${LIB_DIR}/cmake/libmigrate
      -DMIGRATE_CONSUMER_STATIC=${STATIC} -DMIGRATE_CONSUMER_REQUEST=${REQUEST}
      -DMIGRATE_CONSUMER_SUBDIR=${SUBDIR_SOURCE} ${subdir_sanitize}
      "-DCMAKE_C_FLAGS=${SANITIZE_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${SANITIZE_FLAGS}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(EXPECT_FAIL)
    if(rc EQUAL 0)
      fail("find_package(libmigrate ${REQUEST}) accepted version ${VERSION}")
    elseif(NOT out MATCHES "libmigrateConfig\\.cmake, version: ${VERSION}")
      fail("the configure failed for another reason than the version:\n${out}")
    endif()
    message(STATUS "find_package(libmigrate ${REQUEST}) refuses ${VERSION}, as it should")
    return()
  endif()
  if(NOT rc EQUAL 0)
    fail("configuring the consumer failed:\n${out}")
  endif()
  run("building the consumer" ${CMAKE_COMMAND} --build ${bin})
  check_linkage(${bin}/consumer ${STATIC})
  check_consumer_output(${bin}/consumer)
endfunction()

# libmigrate.a with the system's shared client libraries, as a Debian user
# links it: the static library, the shared libraries of everything the .pc
# requires, and the .pc's own Libs.private. (`pkg-config --static` would
# also expand each requirement's private libraries, and Debian's libpq.pc
# names static libraries that no package ships.)
function(static_link_flags var)
  set(libs ${${var}})
  # Both libraries sit in libdir, and -l prefers the shared one.
  list(TRANSFORM libs REPLACE "^-lmigrate$" "-Wl,-Bstatic;-lmigrate;-Wl,-Bdynamic")
  run("pkg-config --print-requires-private" ${PKG_CONFIG} --print-requires-private libmigrate)
  string(REGEX MATCHALL "[^ \n]+( [<>=]+ [^ \n]+)?" modules "${run_output}")
  list(TRANSFORM modules REPLACE " .*" "")
  if(modules)
    run("pkg-config --libs ${modules}" ${PKG_CONFIG} --libs ${modules})
    separate_arguments(private UNIX_COMMAND "${run_output}")
    list(APPEND libs ${private})
  endif()
  file(STRINGS ${LIB_DIR}/pkgconfig/libmigrate.pc own REGEX "^Libs\\.private:")
  string(REGEX REPLACE "^Libs\\.private:" "" own "${own}")
  separate_arguments(own UNIX_COMMAND "${own}")
  list(APPEND libs ${own})
  set(${var} ${libs} PARENT_SCOPE)
endfunction()

function(check_pkgconfig_consumer)
  set(bin ${BUILD_DIR}/packaging/consumer-${NAME})
  file(REMOVE_RECURSE ${bin})
  file(MAKE_DIRECTORY ${bin})
  set(ENV{PKG_CONFIG_PATH} ${LIB_DIR}/pkgconfig)
  run("pkg-config --cflags" ${PKG_CONFIG} --cflags libmigrate)
  separate_arguments(cflags UNIX_COMMAND "${run_output}")
  if(NOT "-I${INCLUDE_DIR}" IN_LIST cflags)
    fail("pkg-config --cflags does not name ${INCLUDE_DIR}: ${cflags}")
  endif()
  run("pkg-config --libs" ${PKG_CONFIG} --libs libmigrate)
  separate_arguments(libs UNIX_COMMAND "${run_output}")
  if(STATIC)
    static_link_flags(libs)
  endif()
  separate_arguments(sanitize UNIX_COMMAND "${SANITIZE_FLAGS}")
  run("compiling the consumer" ${C_COMPILER} ${sanitize} -std=c99 -Wall -Wextra -Wpedantic -Werror ${cflags}
    ${SOURCE_DIR}/tests/consumer/main.c -o ${bin}/consumer ${libs})
  check_linkage(${bin}/consumer ${STATIC})
  check_consumer_output(${bin}/consumer)
endfunction()

# README.md's static-linking recipe, run as written: libmigrate.a, the
# client libraries shared, -DMIGRATE_STATIC.
function(check_static_recipe)
  set(bin ${BUILD_DIR}/packaging/consumer-${NAME})
  file(REMOVE_RECURSE ${bin})
  file(MAKE_DIRECTORY ${bin})
  set(ENV{PKG_CONFIG_PATH} ${LIB_DIR}/pkgconfig)
  run("the static recipe" sh ${SOURCE_DIR}/tests/consumer/static_recipe.sh ${SOURCE_DIR}/README.md
    ${C_COMPILER} ${SOURCE_DIR}/tests/consumer/main.c ${bin} "${SANITIZE_FLAGS}")
  message(STATUS "${run_output}")
  check_linkage(${bin}/app ON)
  check_consumer_output(${bin}/app)
endfunction()

set(LIB_DIR ${PREFIX}/${LIBDIR})
set(INCLUDE_DIR ${PREFIX}/${INCLUDEDIR})
if(MODE STREQUAL "install")
  check_install()
elseif(MODE STREQUAL "exports")
  check_exports()
elseif(MODE STREQUAL "cmake")
  check_cmake_consumer()
elseif(MODE STREQUAL "pkgconfig")
  check_pkgconfig_consumer()
elseif(MODE STREQUAL "recipe")
  check_static_recipe()
else()
  fail("unknown MODE '${MODE}'")
endif()
