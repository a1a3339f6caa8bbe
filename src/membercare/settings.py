"""Django settings for MemberCare.

SQLite is the embedded default; set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/membercare)
for PostgreSQL. Everything else has a working default so `make demo` needs no configuration.
"""

import datetime as dt
import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from membercare.core.keys import DEV_SECRET_KEY

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent
VAR_DIR = Path(os.environ.get("MEMBERCARE_VAR_DIR", PROJECT_DIR / "var"))

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "").strip() or DEV_SECRET_KEY
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "axes",
    "csp",
    "health_check",
    "django_prometheus",
    "ninja",
    "membercare.core",
    "membercare.org",
    "membercare.members",
    "membercare.loyalty",
    "membercare.sales",
    "membercare.care",
    "membercare.audiences",
    "membercare.messaging",
    "membercare.service",
    "membercare.campaigns",
    "membercare.events",
    "membercare.storedvalue",
    "membercare.checkout",
    "membercare.analytics",
    "membercare.prediction",
    "membercare.privacy",
    "membercare.web",
    "membercare.membercentre",
    "membercare.api",
    "membercare.demo",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # first and last: the whole request is timed
    "membercare.core.request_log.RequestIdMiddleware",  # every log line of the request carries its id
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy (CONTENT_SECURITY_POLICY below)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "membercare.api.middleware.ApiInputGuard",  # /api/ only: body size, control characters
    "django.middleware.common.CommonMiddleware",
    "membercare.core.public.PublicUrlMiddleware",  # public links (surveys, RSVP) use this request's host
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "membercare.core.replica.ReplicaMiddleware",  # report pages read from the replica (DATABASE_REPLICA_URL)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "membercare.web.middleware.LoginRequiredMiddleware",
    "membercare.web.middleware.ControlCharacterGuard",  # pages: no control characters in any input
    "axes.middleware.AxesMiddleware",  # turns a locked-out login into the lockout page
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]
# Error reports to Sentry (or a compatible service such as GlitchTip) when SENTRY_DSN is set: exceptions of the
# web requests and the Celery tasks, without personal data (PIPL: no cookies, no request bodies, no user names;
# the request id travels as a tag so a report meets its log lines).
if os.environ.get("SENTRY_DSN"):
    from membercare.core.errors import sentry_init

    sentry_init(os.environ["SENTRY_DSN"], environment=os.environ.get("SENTRY_ENVIRONMENT", "production"))
# /metrics for Prometheus with "Authorization: Bearer <token>"; unset: no metrics endpoint
MEMBERCARE_METRICS_TOKEN = os.environ.get("MEMBERCARE_METRICS_TOKEN", "")

ROOT_URLCONF = "membercare.urls"
WSGI_APPLICATION = "membercare.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "membercare.web.context_processors.nav",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'membercare.sqlite3'}"),
        # persistent connections in production (each checked before reuse); 0 with DJANGO_DEBUG=1
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0" if DEBUG else "60")), conn_health_checks=True,
    )
}
# a streaming replica for the dashboards, reports and exports (core.replica); the counter stays on the primary
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"], conn_max_age=DATABASES["default"].get("CONN_MAX_AGE", 0),
        conn_health_checks=True)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["membercare.core.replica.ReplicaRouter"]
# GET requests here read from the replica when there is one: the dashboards and reports, and the prediction page
# (the models' summary per brand; its recompute is a POST and a job, reading and writing on the primary)
MEMBERCARE_REPLICA_PATHS = ("/analytics/", "/prediction/")
# behind PgBouncer in transaction mode: no server-side cursors (they live across transactions); the exports read
# in keyset chunks anyway (core.bulk.in_pk_chunks)
if os.environ.get("DB_DISABLE_SERVER_SIDE_CURSORS") == "1":
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
if os.environ.get("DATABASE_TEST_NAME") and DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    # the test database's name (default: test_ + the database's) when several runs share one server
    DATABASES["default"]["TEST"] = {"NAME": os.environ["DATABASE_TEST_NAME"]}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the demo generator or an import writes.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", "timeout": 20}
    )
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("SQLITE_TEST_NAME") or None}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# models.W040: SQLite has no INCLUDE columns in indexes; the receipts' covering index is then a plain one there
# (the covering part only matters for the checkout's speed on PostgreSQL)
SILENCED_SYSTEM_CHECKS = ["models.W040"]
AUTH_USER_MODEL = "org.Staff"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"

# The cache (the POS API's rate counters): Redis shared by every app server when MEMBERCARE_CACHE_URL is set
# (e.g. redis://127.0.0.1:6379/1), else each process's memory.
CACHE_URL = os.environ.get("MEMBERCARE_CACHE_URL", "").strip()
CACHES = {"default": ({"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
                      if CACHE_URL else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"})}
# requests a minute one POS key may make before it is answered 429 (0: no limit)
MEMBERCARE_POS_RATE_PER_MINUTE = int(os.environ.get("MEMBERCARE_POS_RATE_PER_MINUTE", "600"))
# the member centre (/m/): days a member stays signed in after the last visit; points expiring within this many
# days are called out on the card page
MEMBERCARE_MEMBER_SESSION_DAYS = max(1, int(os.environ.get("MEMBERCARE_MEMBER_SESSION_DAYS", "30")))
MEMBERCARE_POINTS_EXPIRING_DAYS = max(1, int(os.environ.get("MEMBERCARE_POINTS_EXPIRING_DAYS", "30")))

# Login throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one username, or from one address,
# that username or address is locked out for AXES_COOLOFF_TIME; the attempts are rows in the database (shared by
# every app server). Unlock: Django admin → Axes → access attempts (delete), or `membercare axes_reset_username`.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_ENABLED = os.environ.get("MEMBERCARE_LOGIN_LOCKOUT", "1") == "1"
AXES_FAILURE_LIMIT = int(os.environ.get("MEMBERCARE_LOGIN_FAILURES", "10"))  # a store's tablets share one address
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(os.environ.get("MEMBERCARE_LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one locks: the account, or the address
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "membercare.web.lockout.locked_out"
AXES_VERBOSE = False
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Language: Chinese first, English second.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise serves from finders in development; it wants the root
# Front-end assets come from installed npm packages (package.json), never from a CDN.
# In a checkout they are read from node_modules; a release wheel carries the two files it serves in the web
# app's static/vendor/ (`make dist` copies them there), so an installed package needs no node_modules.
NODE_MODULES = Path(os.environ.get("MEMBERCARE_NODE_MODULES", PROJECT_DIR / "node_modules"))
STATICFILES_DIRS = [(prefix, path) for prefix, path in (("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
                                                        ("vendor/chartjs", NODE_MODULES / "chart.js" / "dist"))
                    if path.is_dir()]
# Every file (imports, sales uploads, exports, reports) goes through Django's storage API: the local disk
# (var/media) in the demo; an S3-compatible service (Alibaba OSS, MinIO, AWS S3) shared by every app server and
# worker when MEMBERCARE_S3_BUCKET is set (django-storages; the files stay private, downloads go through the app).
S3_BUCKET = os.environ.get("MEMBERCARE_S3_BUCKET", "")
STORAGES = {
    "default": ({"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": S3_BUCKET,
        "endpoint_url": os.environ.get("MEMBERCARE_S3_ENDPOINT_URL") or None,
        "region_name": os.environ.get("MEMBERCARE_S3_REGION") or None,
        "access_key": os.environ.get("MEMBERCARE_S3_ACCESS_KEY_ID") or None,
        "secret_key": os.environ.get("MEMBERCARE_S3_SECRET_ACCESS_KEY") or None,
        "location": os.environ.get("MEMBERCARE_S3_PREFIX", ""),
        "addressing_style": os.environ.get("MEMBERCARE_S3_ADDRESSING_STYLE") or None,  # "path" for MinIO
        "default_acl": None, "querystring_auth": True, "file_overwrite": False,
    }} if S3_BUCKET else {"BACKEND": "django.core.files.storage.FileSystemStorage"}),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"
WHITENOISE_USE_FINDERS = True

# Encryption keys for sensitive fields (ID numbers): Fernet keys separated by commas, the first encrypts and
# indexes, all decrypt (a rotation: "new,old", then `membercare rotate_field_key`, then "new"). With DEBUG on and
# none set, a key derived from SECRET_KEY; production (DJANGO_DEBUG=0) refuses to start without both keys.
MEMBERCARE_FIELD_KEY = os.environ.get("MEMBERCARE_FIELD_KEY", "").strip()
# HTTPS in production (DJANGO_DEBUG=0): cookies only over HTTPS, HSTS; MEMBERCARE_HTTPS=0 only for a plain-HTTP
# demo on one machine. Behind a TLS proxy, it must set X-Forwarded-Proto and the site's origin goes in
# DJANGO_CSRF_TRUSTED_ORIGINS (e.g. https://vip.example.com).
HTTPS = os.environ.get("MEMBERCARE_HTTPS", "0" if DEBUG else "1") == "1"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = int(os.environ.get("MEMBERCARE_HSTS_SECONDS", "31536000")) if HTTPS else 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

if not DEBUG:
    from membercare.core.keys import check_production_keys

    check_production_keys(os.environ)  # stops the process with the missing variable's name

# Imports
MEMBERCARE_IMPORT_MAX_BYTES = int(os.environ.get("MEMBERCARE_IMPORT_MAX_BYTES", str(20 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = 60 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Celery (production task queue); tests and the demo run tasks eagerly unless a broker is set.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
# Background jobs (exports, reports, recomputes) go to the Celery queue, run by `membercare worker`-style
# processes (celery -A membercare worker). Eager (run inside the request) only in development (DJANGO_DEBUG=1) and
# in the demo (`make demo` sets MEMBERCARE_DEMO=1 and CELERY_TASK_ALWAYS_EAGER=1: one process, no worker);
# production refuses it (membercare.core.keys.check_production_settings).
MEMBERCARE_DEMO = os.environ.get("MEMBERCARE_DEMO", "0") == "1"
# the address members' links (surveys, event RSVP) start with, e.g. https://vip.example.com; unset: the host of
# the request that builds the link (membercare.core.public); `make demo` sets it from its HOST
MEMBERCARE_PUBLIC_URL = os.environ.get("MEMBERCARE_PUBLIC_URL", "")
# the member centre's WeChat (membercentre.wechat): the dotted path of the official account's adapter; unset: no WeChat
MEMBERCARE_WECHAT_ADAPTER = os.environ.get("MEMBERCARE_WECHAT_ADAPTER", "")
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_TASK_ALWAYS_EAGER", "1" if DEBUG else "0") == "1"
if not DEBUG:
    from membercare.core.keys import check_production_settings

    check_production_settings(os.environ)  # names the variable that would make production unsafe
CELERY_TIMEZONE = TIME_ZONE
# One scheduler for the whole deployment however many nodes start one (`celery -A membercare.celery_app beat`):
# RedBeat keeps the schedule in Redis and a lock there; a second scheduler waits and takes over within
# CELERY_REDBEAT_LOCK_TIMEOUT seconds when the first dies.
CELERY_BEAT_SCHEDULER = "redbeat.RedBeatScheduler"
CELERY_REDBEAT_REDIS_URL = os.environ.get("CELERY_REDBEAT_REDIS_URL", CELERY_BROKER_URL)
CELERY_REDBEAT_KEY_PREFIX = os.environ.get("CELERY_REDBEAT_KEY_PREFIX", "membercare:beat:")
CELERY_REDBEAT_LOCK_TIMEOUT = int(os.environ.get("CELERY_REDBEAT_LOCK_TIMEOUT", "60"))
CELERY_BEAT_MAX_LOOP_INTERVAL = 5  # seconds between the scheduler's checks (and lock renewals)
# A task is acknowledged once done (a worker killed mid-task: the task runs again on another worker; the daily
# jobs and the messaging tick are safe to run twice), one at a time per worker process, with time limits.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = int(os.environ.get("CELERY_TASK_SOFT_TIME_LIMIT", str(60 * 60)))
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 300
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 600}  # > the longest task
# Task events (received, started, succeeded, failed, retried; and "sent" from whoever queues a task) on the broker,
# so `celery -A membercare.celery_app events` or Flower can watch the workers; CELERY_SEND_EVENTS=0 turns them off
CELERY_WORKER_SEND_TASK_EVENTS = CELERY_TASK_SEND_SENT_EVENT = os.environ.get("CELERY_SEND_EVENTS", "1") == "1"

# Logs to stderr, each line with the request's id (X-Request-ID); JSON in production (one object per line for
# the log collector), plain text with DJANGO_DEBUG=1. LOG_FORMAT=json|text chooses, LOG_LEVEL the threshold.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "membercare.core.request_log.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "pythonjsonlogger.json.JsonFormatter",
                 "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
                 "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"}},
        "text": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request_id"],
                             "formatter": "json" if LOG_FORMAT == "json" else "text"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

ROLE_LABELS = {
    "clerk": _("Store clerk"),
    "manager": _("Store manager"),
    "specialist": _("VIP specialist"),
    "admin": _("Administrator"),
}

# --- messaging ----------------------------------------------------------------------------------------
# A channel's backend: "class" plus options. The demo writes SMS and WeChat messages to var/outbox/ and
# sends email through Django's email backend (a file in var/outbox/email unless EMAIL_HOST is set).
# Production SMS: {"class": "membercare.messaging.backends.aliyun.AliyunSmsBackend", "access_key_id": ...,
# "access_key_secret": ..., "sign_name": ...} (set MESSAGING_SMS_* in the environment).
MESSAGING_BACKENDS = {
    "sms": ({"class": "membercare.messaging.backends.aliyun.AliyunSmsBackend",
             "access_key_id": os.environ["MESSAGING_SMS_ACCESS_KEY_ID"],
             "access_key_secret": os.environ.get("MESSAGING_SMS_ACCESS_KEY_SECRET", ""),
             "sign_name": os.environ.get("MESSAGING_SMS_SIGN_NAME", ""),
             "endpoint": os.environ.get("MESSAGING_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com/")}
            if os.environ.get("MESSAGING_SMS_ACCESS_KEY_ID") else "membercare.messaging.backends.outbox.OutboxBackend"),
    "email": "membercare.messaging.backends.email.EmailBackend",
    "wechat": os.environ.get("MESSAGING_WECHAT_BACKEND", "membercare.messaging.backends.outbox.OutboxBackend"),
}
# the SMS provider posts members' replies to /api/messaging/inbound/sms with this in X-Messaging-Secret
MESSAGING_INBOUND_SECRET = os.environ.get("MESSAGING_INBOUND_SECRET", "")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "membercare@localhost")
if not EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "outbox" / "email"

# Content-Security-Policy (django-csp): every script is a file of ours (web/static/web/app.js declares the pages'
# behaviours by data attributes; htmx's eval is off), nothing loads from another origin, no page is framed.
# Inline style attributes remain in the templates, hence 'unsafe-inline' for styles only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
