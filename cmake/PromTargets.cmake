# Helpers that give every target of the project the same flags and places.

set(PROM_WARNINGS
    -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes
    -Wformat=2 -Wno-unused-parameter -Wvla -Wundef)
if(PROM_WERROR)
    list(APPEND PROM_WARNINGS -Werror)
endif()

if(PROM_SANITIZE)
    set(PROM_SAN_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all
                       -fno-omit-frame-pointer)
    add_compile_options(${PROM_SAN_FLAGS})
    add_link_options(${PROM_SAN_FLAGS})
endif()

# Link only the shared libraries a program really uses: an exporter that links
# libprom (for exposition) must not load libcurl and its TLS stack for pushing
# it never does; every library loaded is resident memory.
add_link_options(LINKER:--as-needed)

# prom_target_defaults(<target>): the project's warnings and include roots.
function(prom_target_defaults target)
    target_compile_options(${target} PRIVATE ${PROM_WARNINGS})
    target_include_directories(${target} PRIVATE
        ${PROJECT_SOURCE_DIR}/server ${PROJECT_BINARY_DIR}/generated)
endfunction()

# prom_module(<name> SOURCES ... DEPS ...): one static library per server module,
# named prom_<name>, whose door header is server/<name>/<name>.h.
function(prom_module name)
    cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
    add_library(prom_${name} STATIC ${M_SOURCES})
    prom_target_defaults(prom_${name})
    target_include_directories(prom_${name} PUBLIC
        ${PROJECT_SOURCE_DIR}/server ${PROJECT_BINARY_DIR}/generated)
    target_link_libraries(prom_${name} PUBLIC ${M_DEPS})
endfunction()

# prom_program(<name> SOURCES ... DEPS ...): a program into build/bin/, installed.
function(prom_program name)
    cmake_parse_arguments(P "" "" "SOURCES;DEPS" ${ARGN})
    add_executable(${name} ${P_SOURCES})
    prom_target_defaults(${name})
    target_link_libraries(${name} PRIVATE ${P_DEPS})
    install(TARGETS ${name} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endfunction()

# prom_placeholder(<name> <summary> <issue>): a program whose issue is not done
# yet; it answers --help and --version and says so (server/cmd/placeholder_main.c).
function(prom_placeholder name summary issue)
    prom_program(${name} SOURCES ${PROJECT_SOURCE_DIR}/server/cmd/placeholder_main.c
        DEPS prom_core)
    target_compile_definitions(${name} PRIVATE
        PROGRAM="${name}" SUMMARY="${summary}" ISSUE="${issue}")
endfunction()
