# packaging.mongo_c_driver_2*: the build finds mongo-c-driver 2.x by its
# pkg-config names (bson2, mongoc2). 2.x is not installed where the tests
# run, so this builds a pkg-config directory of its own: the installed
# libbson and libmongoc under the 2.x names (Name and Requires adjusted),
# with BOTH=ON also under their 1.x names, plus SQLite's files. It
# configures libmigrate against that directory alone (PKG_CONFIG_LIBDIR),
# checks that the 2.x names were used in the cache, the generated .pc and
# the package config, and with BUILD=ON builds the MongoDB module.
#
#   cmake -DSOURCE_DIR=... -DWORK_DIR=... -DPKG_CONFIG=... -DBSON_MODULE=...
#         -DMONGOC_MODULE=... -DGENERATOR=... -DMAKE_PROGRAM=... -DC_COMPILER=...
#         [-DBOTH=ON] [-DBUILD=ON] -P mongo_c_driver_2.cmake
#
# BSON_MODULE and MONGOC_MODULE are the modules the enclosing build found
# (1.x or 2.x): their files are the ones copied.

cmake_minimum_required(VERSION 3.22)

include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

# The .pc file of an installed module.
function(pc_file module out)
  run("pkg-config" ${PKG_CONFIG} --variable=pcfiledir ${module})
  string(STRIP "${run_output}" dir)
  if(NOT EXISTS "${dir}/${module}.pc")
    fail("no ${dir}/${module}.pc")
  endif()
  set(${out} "${dir}/${module}.pc" PARENT_SCOPE)
endfunction()

# Copies module's .pc file, and those of everything it requires, to PC_DIR.
function(copy_with_requires module)
  if(EXISTS "${PC_DIR}/${module}.pc")
    return()
  endif()
  pc_file(${module} file)
  file(COPY_FILE "${file}" "${PC_DIR}/${module}.pc")
  run("pkg-config" ${PKG_CONFIG} --print-requires --print-requires-private ${module})
  string(REGEX MATCHALL "[^\n]+" lines "${run_output}")
  foreach(line ${lines})
    string(REGEX REPLACE "[ <>=].*" "" required "${line}")
    copy_with_requires(${required})
  endforeach()
endfunction()

# Writes module's .pc file to PC_DIR as new_name, with the 1.x names in its
# Name and Requires lines changed to the 2.x ones.
function(copy_renamed module new_name)
  pc_file(${module} file)
  file(STRINGS "${file}" lines)
  set(text "")
  foreach(line IN LISTS lines)
    if(line MATCHES "^Name:")
      set(line "Name: ${new_name}")
    elseif(line MATCHES "^Requires")
      string(REGEX REPLACE "(^|[ :,])libbson-1\\.0" "\\1bson2" line "${line}")
    endif()
    string(APPEND text "${line}\n")
  endforeach()
  file(WRITE "${PC_DIR}/${new_name}.pc" "${text}")
endfunction()

function(check_contains file regex what)
  file(READ "${file}" text)
  if(NOT text MATCHES "${regex}")
    fail("${file}: ${what} (no match for ${regex}):\n${text}")
  endif()
endfunction()

function(check_lacks file regex what)
  file(READ "${file}" text)
  if(text MATCHES "${regex}")
    fail("${file}: ${what} (${CMAKE_MATCH_0}):\n${text}")
  endif()
endfunction()

set(PC_DIR "${WORK_DIR}/pkgconfig")
set(BIN_DIR "${WORK_DIR}/build")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${PC_DIR}")

copy_renamed(${BSON_MODULE} bson2)
copy_renamed(${MONGOC_MODULE} mongoc2)
copy_with_requires(sqlite3)
if(BOTH)
  # The 1.x files too: the build must still pick 2.x.
  copy_with_requires(${BSON_MODULE})
  copy_with_requires(${MONGOC_MODULE})
endif()
file(GLOB pc_files RELATIVE "${PC_DIR}" "${PC_DIR}/*.pc")
message(STATUS "pkg-config directory ${PC_DIR}: ${pc_files}")

run("configure against the 2.x names" ${CMAKE_COMMAND} -E env --unset=PKG_CONFIG_PATH
  "PKG_CONFIG_LIBDIR=${PC_DIR}"
  ${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${BIN_DIR}" -G "${GENERATOR}" "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}"
  "-DCMAKE_C_COMPILER=${C_COMPILER}" "-DPKG_CONFIG_EXECUTABLE=${PKG_CONFIG}" -DCMAKE_BUILD_TYPE=Release
  -DMIGRATE_TESTS=OFF -DMIGRATE_EXAMPLES=OFF -DMIGRATE_BENCH=OFF -DMIGRATE_TOOL=OFF -DMIGRATE_DOCS=OFF
  -DMIGRATE_WITH_SQLITE=ON -DMIGRATE_WITH_POSTGRES=OFF -DMIGRATE_WITH_MONGO=ON)
message(STATUS "${run_output}")
if(NOT run_output MATCHES "libmigrate: MIGRATE_WITH_MONGO on \\(mongoc2 ")
  fail("the configure output does not say the MongoDB driver uses mongoc2")
endif()

set(cache "${BIN_DIR}/CMakeCache.txt")
check_contains("${cache}" "\nBSON_MODULE_NAME:INTERNAL=bson2\n" "libbson not found as bson2")
check_contains("${cache}" "\nMIGRATE_WITH_MONGO_DEP_MODULE_NAME:INTERNAL=mongoc2\n" "libmongoc not found as mongoc2")
# The generated pkg-config file (before install) and the package config.
set(pc "${BIN_DIR}/pkgconfig/libmigrate.pc.stage")
check_contains("${pc}" "\nRequires: bson2\n" "Requires does not name bson2")
check_contains("${pc}" "\nRequires.private:[^\n]* mongoc2(\n| )" "Requires.private does not name mongoc2")
check_lacks("${pc}" "lib(bson|mongoc)-1\\.0" "names a 1.x module")
set(config "${BIN_DIR}/libmigrateConfig.cmake")
check_contains("${config}" "BSON=bson2" "the package config does not look libbson up as bson2")
check_contains("${config}" "=mongoc2" "the package config does not look libmongoc up as mongoc2")
check_lacks("${config}" "lib(bson|mongoc)-1\\.0" "the package config names a 1.x module")

if(BUILD)
  # The MongoDB module, and with it the shared library it links.
  run("build the MongoDB module" ${CMAKE_COMMAND} --build "${BIN_DIR}" --target migrate_mongo --parallel 2)
  file(GLOB_RECURSE modules "${BIN_DIR}/*/mongo.so")
  if(NOT modules)
    fail("the build made no mongo.so")
  endif()
  message(STATUS "built ${modules}")
endif()
