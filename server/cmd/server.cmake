prom_program(prom-server SOURCES server_main.c DEPS prom_web)
