"""gunicorn settings for Gatehouse (the fallback server; granian is the measured winner,
deploy/granian.env): ``gunicorn -c deploy/gunicorn.conf.py wsgi:app``."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# One sync worker per core: the app is CPU-bound between short database round trips
# (gthread measured no better, bench/RESULTS.md).
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
worker_class = "sync"
backlog = 2048
timeout = 30
accesslog = None  # the app writes a JSON line per request
loglevel = "warning"
max_requests = 100_000  # recycle now and then; snapshots are rebuilt on demand
max_requests_jitter = 10_000
