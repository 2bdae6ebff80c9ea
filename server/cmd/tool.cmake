prom_program(prom-tool
    SOURCES
        ${CMAKE_CURRENT_SOURCE_DIR}/tool_main.c
        ${CMAKE_CURRENT_SOURCE_DIR}/tool_tsdb.c
        ${CMAKE_CURRENT_SOURCE_DIR}/tool_backfill.c
        ${CMAKE_CURRENT_SOURCE_DIR}/tool_check.c
    DEPS
        prom_promql prom_tsdb prom_config prom_model prom_core PkgConfig::PCRE2)
