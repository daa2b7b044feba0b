"""Reports: terminal and JSON output, Riemann events, Prometheus metrics text."""
