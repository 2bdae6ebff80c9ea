prom_placeholder(prom-server "The Prometheus monitoring server" "issue 8")
