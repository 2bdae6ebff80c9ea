# Version, git revision and branch of the build, for --version and *_build_info.
find_package(Git QUIET)
set(PROM_REVISION "unknown")
set(PROM_BRANCH "unknown")
if(GIT_FOUND AND EXISTS ${PROJECT_SOURCE_DIR}/.git)
    execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --short=12 HEAD
        WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} OUTPUT_VARIABLE rev
        OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
    if(rc EQUAL 0 AND rev)
        set(PROM_REVISION ${rev})
    endif()
    execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --abbrev-ref HEAD
        WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} OUTPUT_VARIABLE br
        OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
    if(rc EQUAL 0 AND br)
        set(PROM_BRANCH ${br})
    endif()
endif()
# The build date is the commit's date, so that building a commit twice gives the
# same binary (and a reconfigure does not rebuild everything).
set(PROM_BUILD_DATE "unknown")
if(GIT_FOUND AND EXISTS ${PROJECT_SOURCE_DIR}/.git)
    execute_process(COMMAND ${GIT_EXECUTABLE} log -1 --format=%cd
            --date=format-local:%Y%m%d-%H:%M:%S
        WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} OUTPUT_VARIABLE date
        OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
    if(rc EQUAL 0 AND date)
        set(PROM_BUILD_DATE ${date})
    endif()
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/buildinfo_gen.h.in
    ${PROJECT_BINARY_DIR}/generated/buildinfo_gen.h @ONLY)
