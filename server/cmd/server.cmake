prom_program(prom-server
    SOURCES server_main.c server_metrics.c server_reload.c
    DEPS prom_web prom_scrape prom_discovery prom_rules prom_notifier prom_config prom_tsdb prom_static)
