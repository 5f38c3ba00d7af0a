"""Observability: latency histograms and per-tenant series for /metrics (bounded
cardinality, :mod:`app.observability.metrics`) and optional OpenTelemetry tracing
(:mod:`app.observability.tracing`)."""
