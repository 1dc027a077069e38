"""Operating the daemon (SPEC §9): Prometheus metrics, health endpoints and webhook
notifications, all fed by the scheduler's event bus and never in the scheduler's way."""
