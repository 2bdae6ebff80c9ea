prom_program(prom-tool
    SOURCES
        ${CMAKE_CURRENT_SOURCE_DIR}/tool_main.c
        ${CMAKE_CURRENT_SOURCE_DIR}/tool_tsdb.c
        ${CMAKE_CURRENT_SOURCE_DIR}/tool_backfill.c
        ${CMAKE_CURRENT_SOURCE_DIR}/tool_check.c
        ${CMAKE_CURRENT_SOURCE_DIR}/tool_rules.c
        ${CMAKE_CURRENT_SOURCE_DIR}/tool_query.c
    DEPS
        prom_rules prom_promql prom_tsdb prom_config prom_model prom_core PkgConfig::PCRE2
        PkgConfig::CURL PkgConfig::JANSSON)
