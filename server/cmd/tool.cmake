prom_placeholder(prom-tool "Tooling for the Prometheus monitoring system" "issues 8 and 10")
