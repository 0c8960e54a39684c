"""gunicorn settings for `make serve`, all overridable from the environment.

Sync workers: a photo upload is CPU-bound (Pillow decode/resize), so one request per process
uses the cores best (measured: 0.95 of the 2-core pipeline limit vs 0.74 with gthread).
"""

import os

from app.ops.logs import logging_config
from app.ops.serving import default_workers

env = os.environ.get
cores = os.cpu_count() or 1

os.environ.setdefault("GRIDSNAP_LOG_FORMAT", "json")

bind = env("GRIDSNAP_BIND") or "127.0.0.1:8000"
# cores + 1 with local photos, 2 x cores + 1 with an object store (why: app/ops/serving.py)
workers = int(env("GRIDSNAP_WORKERS") or default_workers(cores, env("GRIDSNAP_STORAGE_BACKEND") or "local"))
worker_class = "sync"
# A 4-photo upload from a slow phone is read by the proxy in front, not by the worker; 60 s covers
# the photo pipeline on a busy machine with a wide margin.
timeout = int(env("GRIDSNAP_TIMEOUT") or 60)
graceful_timeout = int(env("GRIDSNAP_GRACEFUL_TIMEOUT") or 30)
keepalive = int(env("GRIDSNAP_KEEPALIVE") or 5)
# Recycle workers now and then so a slow leak (image libraries) never grows without bound.
max_requests = int(env("GRIDSNAP_MAX_REQUESTS") or 2000)
max_requests_jitter = int(env("GRIDSNAP_MAX_REQUESTS_JITTER") or 200)
# Trust X-Forwarded-* only from the proxies named here (the app's ProxyFix uses GRIDSNAP_PROXY_COUNT).
forwarded_allow_ips = env("GRIDSNAP_FORWARDED_ALLOW_IPS") or "127.0.0.1,::1"
wsgi_app = "app:create_app()"
# Build the app once in the master and fork warm workers: they start in milliseconds (a killed or
# recycled worker is replaced at once) and share the imported code. Nothing connects before the fork:
# database pools, the Redis client and the S3 client all open their connections in each worker.
preload_app = (env("GRIDSNAP_PRELOAD") or "1") != "0"
accesslog = None  # the app logs each request itself, as JSON with its request id
errorlog = "-"
loglevel = (env("GRIDSNAP_LOG_LEVEL") or "info").lower()
logconfig_dict = logging_config((env("GRIDSNAP_LOG_LEVEL") or "INFO").upper())
proc_name = "gridsnap"
