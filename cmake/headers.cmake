# The public headers that ship with this build: every include/migrate/*.h
# except the wrapper of a driver that is turned off (sqlite.h goes with
# MIGRATE_WITH_SQLITE_ENABLED, postgres.h with ..._POSTGRES_ENABLED, and so
# on), since it would declare functions the library does not define.
# Used by the install rules, the header test and the export test.
function(migrate_public_headers out)
  file(GLOB headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/include/migrate/*.h)
  set(result "")
  foreach(header ${headers})
    get_filename_component(stem ${header} NAME_WE)
    string(TOUPPER ${stem} driver)
    if(DEFINED MIGRATE_WITH_${driver} AND NOT MIGRATE_WITH_${driver}_ENABLED)
      continue()
    endif()
    list(APPEND result ${header})
  endforeach()
  set(${out} ${result} PARENT_SCOPE)
endfunction()
