"""Defaults; environment variables override them."""

import json
import os
import secrets
from datetime import timedelta

from app import paths

# Notification defaults, here once: from_environment() and app.sms (given a bare mapping) read them.
SMS_DEFAULTS = {"SMS_PROVIDER": "console", "SMS_TENCENT_REGION": "ap-guangzhou", "SMS_TIMEOUT": 10.0}


def from_environment(instance_path: str) -> dict:
    """Build the configuration from defaults and the process environment."""
    env = os.environ.get
    database_url = env("DATABASE_URL") or "sqlite:///" + os.path.join(instance_path, "gridsnap.db")
    return {
        "SECRET_KEY": env("SECRET_KEY") or _instance_secret(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "UPLOAD_DIR": env("GRIDSNAP_UPLOAD_DIR") or paths.default_upload_dir(instance_path),
        "TIMEZONE": env("GRIDSNAP_TIMEZONE") or "Asia/Shanghai",
        "LOG_FORMAT": env("GRIDSNAP_LOG_FORMAT") or "text",
        "LOG_LEVEL": env("GRIDSNAP_LOG_LEVEL") or "INFO",
        # How many proxies (load balancer, nginx/Caddy) sit in front and set X-Forwarded-For/-Proto.
        "PROXY_COUNT": int(env("GRIDSNAP_PROXY_COUNT") or 0),
        # PostgreSQL only: fail fast when the database is unreachable; a small pool per worker.
        "DB_CONNECT_TIMEOUT": int(env("GRIDSNAP_DB_CONNECT_TIMEOUT") or 3),
        "DB_POOL_SIZE": int(env("GRIDSNAP_DB_POOL_SIZE") or 3),
        "DB_MAX_OVERFLOW": int(env("GRIDSNAP_DB_MAX_OVERFLOW") or 2),
        # Notifications by email, SMS and group robots wait out these local hours (hazards never wait).
        "NOTIFY_QUIET_HOURS": env("GRIDSNAP_QUIET_HOURS") or "22:00-07:00",
        "NOTIFY_BELL_POLL_SECONDS": int(env("GRIDSNAP_BELL_POLL_SECONDS") or 60),  # the header's unread count
        # Base maps (app/maps.py): osm|tianditu|amap|tencent; tianditu by default when its key is set.
        "MAP_PROVIDER": env("GRIDSNAP_MAP_PROVIDER") or "",
        "TIANDITU_KEY": env("GRIDSNAP_TIANDITU_KEY") or "",
        "AMAP_KEY": env("GRIDSNAP_AMAP_KEY") or "",
        "TENCENT_MAP_KEY": env("GRIDSNAP_TENCENT_MAP_KEY") or "",
        "MAP_APPROVAL": env("GRIDSNAP_MAP_APPROVAL") or "",  # the 审图号 the provider publishes, shown with the map
        # The map tiles a rider has seen, kept on the phone by the service worker (0: none)
        "TILE_CACHE_MB": float(env("GRIDSNAP_TILE_CACHE_MB") or 30),
        # For osm: any WGS-84 XYZ tile server instead of OpenStreetMap's
        "TILE_URL": env("GRIDSNAP_TILE_URL") or "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "TILE_ATTRIBUTION": env("GRIDSNAP_TILE_ATTRIBUTION") or "&copy; OpenStreetMap contributors",
        # Where the report map opens before a location is known ("lat,lon"; Qianwei County by default)
        "MAP_CENTER": env("GRIDSNAP_MAP_CENTER") or "29.2254,103.9507",
        # Where reports can be (a GeoJSON file; default: the grids, else 50 km around the map centre), and its
        # name in the phone's warning about a location far from it
        "SERVICE_AREA": env("GRIDSNAP_SERVICE_AREA") or "",
        "SERVICE_AREA_NAME": env("GRIDSNAP_SERVICE_AREA_NAME") or "犍为县",
        "GEOCODER": env("GRIDSNAP_GEOCODER") or "",
        "GEOCODER_TIMEOUT": float(env("GRIDSNAP_GEOCODER_TIMEOUT") or 2.0),
        "GEOCODER_USER_AGENT": env("GRIDSNAP_GEOCODER_USER_AGENT") or "gridsnap",
        # SQLite only: reads through a memory map of the file (the OS page cache, shared by every worker)
        # and a private page cache per connection. Address space, not memory; SQLite caps the map at its
        # build's limit (2 GB for Python's). Measurements: docs/PERFORMANCE.md.
        "SQLITE_MMAP_MB": int(env("GRIDSNAP_SQLITE_MMAP_MB") or 2048),
        "SQLITE_CACHE_MB": int(env("GRIDSNAP_SQLITE_CACHE_MB") or 32),
        "MAX_CONTENT_LENGTH": int(env("GRIDSNAP_MAX_UPLOAD_MB") or 40) * 1024 * 1024,
        "MAX_PHOTOS": 4,
        "MAX_PIXELS": 50_000_000,  # any photo (a camera JPEG is decoded at a DCT scale, a strip at a time)
        # a photo decoded whole (PNG, HEIC, WebP, progressive JPEG): the worker holds ~4 bytes a pixel of it
        "MAX_DECODE_PIXELS": round(float(env("GRIDSNAP_MAX_DECODE_MP") or 24) * 1_000_000),
        "DUPLICATE_RADIUS_M": float(env("GRIDSNAP_DUPLICATE_RADIUS_M") or 100),
        "DUPLICATE_DAYS": int(env("GRIDSNAP_DUPLICATE_DAYS") or 14),
        # Open311: report photos are public only when switched on (parking photos show plates)
        "OPEN311_PUBLIC_MEDIA": (env("GRIDSNAP_OPEN311_PUBLIC_MEDIA") or "").lower() in ("1", "true", "yes", "on"),
        "OPEN311_RATE_LIMIT": env("GRIDSNAP_OPEN311_RATE_LIMIT") or "30 per minute",
        "OPEN311_READ_RATE_LIMIT": env("GRIDSNAP_OPEN311_READ_RATE_LIMIT") or "120 per minute",  # per address
        # Rejected reports (not real, with the coordinator's reason) stay out of the public feed unless on
        "OPEN311_INCLUDE_REJECTED": (env("GRIDSNAP_OPEN311_INCLUDE_REJECTED") or "").lower()
        in ("1", "true", "yes", "on"),
        # The updates feed's status in FixMyStreet's finer words (fixed, duplicate, not_councils_responsibility,
        # ...) instead of open/closed, which FixMyStreet reads as "fixed" whatever the outcome
        "OPEN311_EXTENDED_STATUSES": (env("GRIDSNAP_OPEN311_EXTENDED_STATUSES") or "").lower()
        in ("1", "true", "yes", "on"),
        "OPEN311_CONTACT": env("GRIDSNAP_OPEN311_CONTACT") or "",
        "RATELIMIT_STORAGE_URI": env("GRIDSNAP_REDIS_URL") or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": env("GRIDSNAP_LOGIN_RATE_LIMIT") or "10 per minute",
        "LOGIN_ACCOUNT_RATE_LIMIT": env("GRIDSNAP_LOGIN_ACCOUNT_RATE_LIMIT") or "20 per hour",
        # Receipts of a stop: the county's Ed25519 signing key (PEM, or the 32-byte seed in base64); made in
        # the instance folder on first use when unset. RECEIPT_FONT: a font with Chinese glyphs for the image.
        "RECEIPT_KEY": env("GRIDSNAP_RECEIPT_KEY") or "",
        "RECEIPT_FONT": env("GRIDSNAP_RECEIPT_FONT") or "",
        # Sign-in codes by text message: per number, and per address (app/auth/codes.py).
        "SMS_CODE_PHONE_LIMIT": env("GRIDSNAP_SMS_CODE_PHONE_LIMIT") or "1 per minute;5 per hour",
        "SMS_CODE_ADDRESS_LIMIT": env("GRIDSNAP_SMS_CODE_ADDRESS_LIMIT") or "20 per hour",
        # Per rider, whatever way they file (form, API, Open311); staff and handlers are not limited
        "REPORT_RATE_LIMIT": env("GRIDSNAP_REPORT_RATE_LIMIT") or "20 per hour;100 per day",
        "COMMENT_RATE_LIMIT": env("GRIDSNAP_COMMENT_RATE_LIMIT") or "30 per hour;100 per day",  # and added photos
        "TOKEN_FAILURE_LIMIT": env("GRIDSNAP_TOKEN_FAILURE_LIMIT") or "20 per minute",  # unknown API tokens
        "MAX_JSON_BYTES": 1024 * 1024,  # JSON bodies are small (a move, a comment); photos come as forms
        "REMEMBER_COOKIE_DURATION": timedelta(days=180),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": timedelta(days=180),
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_TRANSLATION_DIRECTORIES": os.path.join(paths.PACKAGE, "translations"),
        "LANGUAGES": ["zh_CN", "en"],
        "SEND_FILE_MAX_AGE_DEFAULT": timedelta(days=365),
        # Weekly summary digest: links point at BASE_URL; SMTP_TLS is "", "starttls" or "ssl".
        "BASE_URL": env("GRIDSNAP_BASE_URL") or "http://localhost:5000",
        "SMTP_HOST": env("GRIDSNAP_SMTP_HOST") or "localhost",
        "SMTP_PORT": int(env("GRIDSNAP_SMTP_PORT") or 25),
        "SMTP_USER": env("GRIDSNAP_SMTP_USER") or "",
        "SMTP_PASSWORD": env("GRIDSNAP_SMTP_PASSWORD") or "",
        "SMTP_TLS": (env("GRIDSNAP_SMTP_TLS") or "").lower(),
        "SMTP_SENDER": env("GRIDSNAP_SMTP_SENDER") or "gridsnap@localhost",
        # Notifications (app/notify). SMS_PROVIDER: "console" (the gridsnap.sms log), "aliyun" or "tencent".
        # SMS_TEMPLATES maps each message kind to the provider's approved template, e.g. {"assigned": "SMS_1"};
        # SMS_ENDPOINT overrides the provider's API host (a local stand-in in tests; plain http on loopback only).
        "SMS_PROVIDER": env("GRIDSNAP_SMS_PROVIDER") or SMS_DEFAULTS["SMS_PROVIDER"],
        "SMS_SIGN_NAME": env("GRIDSNAP_SMS_SIGN_NAME") or "",
        "SMS_TEMPLATES": _json_object("GRIDSNAP_SMS_TEMPLATES"),
        "SMS_ENDPOINT": env("GRIDSNAP_SMS_ENDPOINT") or "",
        "SMS_TIMEOUT": float(env("GRIDSNAP_SMS_TIMEOUT") or SMS_DEFAULTS["SMS_TIMEOUT"]),
        "SMS_ALIYUN_ACCESS_KEY_ID": env("GRIDSNAP_SMS_ALIYUN_ACCESS_KEY_ID") or "",
        "SMS_ALIYUN_ACCESS_KEY_SECRET": env("GRIDSNAP_SMS_ALIYUN_ACCESS_KEY_SECRET") or "",
        "SMS_TENCENT_SECRET_ID": env("GRIDSNAP_SMS_TENCENT_SECRET_ID") or "",
        "SMS_TENCENT_SECRET_KEY": env("GRIDSNAP_SMS_TENCENT_SECRET_KEY") or "",
        "SMS_TENCENT_APP_ID": env("GRIDSNAP_SMS_TENCENT_APP_ID") or "",
        "SMS_TENCENT_REGION": env("GRIDSNAP_SMS_TENCENT_REGION") or SMS_DEFAULTS["SMS_TENCENT_REGION"],
        # Recognition points (see app/teams/points.py)
        "GRIDSNAP_POINTS_ACCEPTED": int(env("GRIDSNAP_POINTS_ACCEPTED") or 5),
        "GRIDSNAP_POINTS_FIXED": int(env("GRIDSNAP_POINTS_FIXED") or 10),
        "GRIDSNAP_POINTS_COREPORTER_PERCENT": int(env("GRIDSNAP_POINTS_COREPORTER_PERCENT") or 50),
        "GRIDSNAP_POINTS_DAILY_CAP": int(env("GRIDSNAP_POINTS_DAILY_CAP") or 30),
    }


def _json_object(name: str) -> dict:
    """A setting holding a JSON object, {} when unset; a clear error at start-up when it is not one."""
    text = os.environ.get(name) or ""
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError as err:
        raise ValueError(f"{name} must be a JSON object: {err}") from None
    if not isinstance(value, dict):
        raise ValueError(f'{name} must be a JSON object, like {{"assigned": "SMS_123"}}')
    return value


def _instance_secret(instance_path: str) -> str:
    """Keep one random secret per instance so sessions survive restarts without configuration."""
    path = os.path.join(instance_path, "secret_key")
    try:
        with open(path) as fh:
            return fh.read().strip()
    except FileNotFoundError:
        os.makedirs(instance_path, exist_ok=True)
        key = secrets.token_hex(32)
        # Owner-only: whoever reads the secret can sign a session cookie for any account, admins too.
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
            fh.write(key)
        return key
