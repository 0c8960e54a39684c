"""gunicorn settings for `make serve`, all overridable from the environment.

Sync workers: a photo upload is CPU-bound (Pillow decode/resize), so one request per process
uses the cores best (measured: 0.95 of the 2-core pipeline limit vs 0.74 with gthread).
"""
import os

from app.ops.logs import logging_config

env = os.environ.get
cores = os.cpu_count() or 1

os.environ.setdefault("GRIDSNAP_LOG_FORMAT", "json")

bind = env("GRIDSNAP_BIND") or "127.0.0.1:8000"
# With photos in the local folder a report is CPU work (Pillow) plus short database calls: cores + 1
# workers keep every core busy, and more only make them take turns (bench/load.py on 2 cores with
# PostgreSQL on the same cores: 0.64-0.68 of the pipeline's rate with 5 workers, 0.73-0.75 with 3; on
# SQLite 3 did as well as 5, at lower latency). A slow page (a summary, an export) holds one worker
# meanwhile: raise GRIDSNAP_WORKERS where many such pages are served. With photos in an object store
# each upload also waits on the network (two PUTs): 2 x cores + 1 then. Never more than 12: past that,
# workers only queue on the database and memory.
_object_store = (env("GRIDSNAP_STORAGE_BACKEND") or "local").lower() != "local"
workers = int(env("GRIDSNAP_WORKERS") or min((2 * cores + 1) if _object_store else (cores + 1), 12))
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
