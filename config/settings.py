"""Settings for the 绩效自评 system, read from the environment (one file for every environment).

DATABASE_URL  default: SQLite file db.sqlite3 in the project folder; postgres://... for PostgreSQL (psycopg 3)
SECRET_KEY    required when DEBUG is off
DEBUG         "1"/"true" to turn on (default off)
ALLOWED_HOSTS comma-separated
SITE_URL      the address users open, for the links in notices (default http://127.0.0.1:8000)
HTTPS, BEHIND_PROXY, SESSION_*, AXES_*, REDIS_URL, DATABASE_REPLICA_URL, AWS_STORAGE_BUCKET_NAME: production and
              scale-out settings at the end of this file (docs/deploy.md)
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG")

# The key comes from SECRET_KEY, or from the file `make install` generates once per installation (var/secret_key,
# mode 600; SECRET_KEY_FILE names another), so `manage.py` works without exporting anything.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
SECRET_KEY_FILE = Path(os.environ.get("SECRET_KEY_FILE", BASE_DIR / "var" / "secret_key"))
if not SECRET_KEY and SECRET_KEY_FILE.is_file():
    SECRET_KEY = SECRET_KEY_FILE.read_text(encoding="utf-8").strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DEBUG 关闭时必须设置环境变量 SECRET_KEY（或先运行 make install 生成 var/secret_key）。"
        )
    SECRET_KEY = "insecure-development-key-only-for-debug"

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "import_export",
    "js_lib_bootstrap5",
    "django_htmx",
    "evaluations",
    "django_tasks",
    "django_tasks_db",
    "reports",
    "csp",
    "axes",
    "ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "ops.security.RefuseNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "ops.cache_control.PrivateResponsesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "ops.security.SessionTimeoutMiddleware",
    "axes.middleware.AxesMiddleware",
]

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
                "evaluations.context_processors.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Short queries of a web application: PostgreSQL's JIT compiler spent more time compiling the overview's
    # query (about 80 ms) than running it. Off for this application's connections only.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = " ".join(filter(None, [options.get("options"), "-c jit=off"]))  # after any from the URL
    # Parameters sent apart from the query text, and each query run five times on a connection prepared: PostgreSQL
    # then plans a page's queries once per connection instead of on every request (planning them took five times
    # as long as running them; docs/benchmarks.md「Issue 14, fifth round」). DATABASE_PREPARED=0 behind a pooler in
    # transaction mode (PgBouncer without max_prepared_statements), which cannot keep a connection's statements.
    if env_bool("DATABASE_PREPARED", default=True):
        options.setdefault("server_side_binding", True)
        options.setdefault("prepare_threshold", 5)
        DATABASES["default"]["ENGINE"] = "ops.postgresql"  # Django's, batching under the parameters' limit
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several people save at once in the embedded setup: WAL lets readers go on while one writes,
    # BEGIN IMMEDIATE takes the write lock up front (no deadlock on lock upgrade), and writers wait
    # up to 20 s instead of failing with "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    # Tests on a file too, as users run it: an in-memory test database is one connection shared by the live
    # server's threads and the test, which fails at random with "database table is locked" under load.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test_db.sqlite3")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
# Our corrections to third-party translations (django-import-export's zh_Hans): locale/zh_Hans/LC_MESSAGES.
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))

# Uploaded files (佐证材料) live outside the static files and are served only through views that check access.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
EVIDENCE_MAX_SIZE = int(os.environ.get("EVIDENCE_MAX_SIZE", 20 * 1024 * 1024))
# An Office file among them is a zip: refused when its entries declare more than this unpacked (zip bombs).
EVIDENCE_MAX_UNPACKED_SIZE = int(os.environ.get("EVIDENCE_MAX_UNPACKED_SIZE", 200 * 1024 * 1024))
# The 说明 is rendered to PDF and stored at approval (ARCHIVE_APPROVED_DOCUMENTS=0 skips it; the tests mostly do).
ARCHIVE_APPROVED_DOCUMENTS = env_bool("ARCHIVE_APPROVED_DOCUMENTS", default=True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "evaluations:list"
LOGOUT_REDIRECT_URL = "login"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
# Widgets written in Python where they are Django's own input/select/textarea templates (evaluations/form_renderer.py).
FORM_RENDERER = "evaluations.form_renderer.FastWidgetRenderer"

# A 150-row indicator table posts about 12 fields a row plus budget and narrative fields.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000
# Posted text is URL-encoded: a Chinese character takes 9 bytes. 10 MB holds an edit page with every text at its
# limit (evaluations/text.py), so a text too long is named by its field's error; past that, ops/errors.py says so.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024))

IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False

# Notices: printed to the console unless an SMTP server is named (EMAIL_HOST), e.g. the bureau's mail relay.
if os.environ.get("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["EMAIL_HOST"]
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
    EMAIL_TIMEOUT = 10
else:
    EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "jxzp@localhost")
# The address users open the system at, for the links in notices (a mail is read outside any request, so the host
# cannot come from one). Production sets it, e.g. https://jixiao.example.gov.cn; the default is `make run`'s.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# --- Excel import/export and background jobs (issue 5) -----------------------------------------------------
# Uploads over IMPORT_MAX_FILE_SIZE bytes, or .xlsx files unpacking to more than IMPORT_MAX_UNPACKED_SIZE bytes
# (zip bombs), are refused before any row is read.
IMPORT_MAX_FILE_SIZE = int(os.environ.get("IMPORT_MAX_FILE_SIZE", 10 * 1024 * 1024))
IMPORT_MAX_UNPACKED_SIZE = int(os.environ.get("IMPORT_MAX_UNPACKED_SIZE", 100 * 1024 * 1024))
IMPORT_TMP_DIR = Path(os.environ.get("IMPORT_TMP_DIR", BASE_DIR / "var" / "imports"))
# Finished exports are kept here and downloadable for EXPORT_LINK_HOURS hours.
EXPORT_ROOT = Path(os.environ.get("EXPORT_ROOT", BASE_DIR / "var" / "exports"))
EXPORT_LINK_HOURS = int(os.environ.get("EXPORT_LINK_HOURS", "24"))
# Background tasks (django-tasks): a queue in the database, run by `manage.py db_worker`; no extra server.
# TASKS_BACKEND=django_tasks.backends.immediate.ImmediateBackend runs them inside the request instead.
TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# The 说明's PDF (issue 13): renders are kept in the default storage and made by at most PDF_RENDER_SLOTS requests
# at once (lock files in PDF_RENDER_LOCK_DIR, one machine's); the others answer "正在生成，请稍候". gunicorn.conf.py
# sets it to its workers − 1, so one worker is always free for pages; 1 under runserver.
PDF_RENDER_SLOTS = max(1, int(os.environ.get("PDF_RENDER_SLOTS", 1)))
PDF_RENDER_LOCK_DIR = Path(os.environ.get("PDF_RENDER_LOCK_DIR", BASE_DIR / "var" / "locks"))
# Renders run this much nicer than the workers' pages (0-19): they give way to pages on the same cores.
PDF_RENDER_NICENESS = int(os.environ.get("PDF_RENDER_NICENESS", 10))

# --- Production: serving, security, sessions, cache, shared storage (issue 7; docs/deploy.md) ---------------
# Static files are collected (`collectstatic`) and served with hashed, compressed names unless DEBUG is on;
# COLLECTED_STATIC=0 serves them from the apps' folders as they are (the test suite: nothing is collected there).
COLLECTED_STATIC = env_bool("COLLECTED_STATIC", default=not DEBUG)

# Static files: whitenoise serves them from STATIC_ROOT with hashed, compressed names once `collectstatic` has
# run; uploaded files (MEDIA_ROOT) are never static: only the views that check access serve them.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage" if COLLECTED_STATIC
        else "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}
# Nothing collected: look files up per request, in the apps' folders.
WHITENOISE_AUTOREFRESH = WHITENOISE_USE_FINDERS = not COLLECTED_STATIC
for _static in (STATIC_ROOT, *STATICFILES_DIRS):
    if MEDIA_ROOT.resolve().is_relative_to(Path(_static).resolve()):
        raise ImproperlyConfigured("MEDIA_ROOT 不能位于静态文件目录中：上传的佐证材料只能经权限检查后下载。")
# Past one server, uploads go to S3-compatible storage (MinIO, a cloud's object store) when a bucket is named;
# needs `pip install -r requirements-s3.txt`. Downloads still stream through the views that check access.
if os.environ.get("AWS_STORAGE_BUCKET_NAME"):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["AWS_STORAGE_BUCKET_NAME"],
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
            "default_acl": "private",
            "file_overwrite": False,
            "querystring_auth": True,
        },
    }

# HTTPS (secure by default once DEBUG is off): secure cookies, HSTS, redirect to https. HTTPS=0 only for an
# intranet without a certificate (docs/deploy.md); BEHIND_PROXY=0 when clients reach gunicorn directly.
HTTPS = env_bool("HTTPS", default=not DEBUG)
BEHIND_PROXY = env_bool("BEHIND_PROXY", default=True)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
# SECURE_SSL_REDIRECT=0 where the proxy redirects to https itself, and for the test suite (plain HTTP test client).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 31536000)) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD")
# Preloading binds the whole registered domain (every subdomain, for good); a bureau's intranet host is not
# eligible and its domain owner decides, so it is opt-in (SECURE_HSTS_PRELOAD=1) and its warning is silenced.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
if BEHIND_PROXY:
    # nginx sets these (docs/deploy.md); gunicorn listens on 127.0.0.1 only, so clients cannot forge them.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "ops.errors.csrf_failure"  # a page expired: said in Chinese, in the site's layout
CSRF_COOKIE_HTTPONLY = True  # no script reads the token: forms carry it, htmx posts the form itself

# Content-Security-Policy: scripts and styles only from our own static files, no inline script, no eval.
# Bootstrap's CSS draws checkboxes and selects with data: SVG images. Style *attributes* stay allowed (the
# 自评表 appendix sets column widths, the admin uses a few); they cannot run script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # The one inline handler we cannot remove: django-import-export's export page ("select all" fields).
        # A hash allows exactly that text, so an injected handler still cannot run.
        "script-src-attr": ["'unsafe-hashes'", "'sha256-wid4zL8fR53ZYy1ljOepzR77Dn6vWUUxuNnnWWBP3I8='"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Sessions end after SESSION_IDLE_TIMEOUT seconds without a request and SESSION_ABSOLUTE_AGE after login,
# whichever comes first (ops.security.SessionTimeoutMiddleware). The edit page's live preview counts as use.
SESSION_IDLE_TIMEOUT = int(os.environ.get("SESSION_IDLE_TIMEOUT", 60 * 60))
SESSION_ABSOLUTE_AGE = int(os.environ.get("SESSION_ABSOLUTE_AGE", 12 * 60 * 60))
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_AGE

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failures for one user name from one address, that
# pair is locked for AXES_COOLOFF_MINUTES. Not by address alone: a whole bureau may share one NAT address.
AUTHENTICATION_BACKENDS = ["ops.security.LoginThrottleBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", 15)))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The client's address (django-ipware, which axes uses when installed: ops/login_throttle.py checks it is) is
# read from the one header nginx sets itself (X-Real-IP $remote_addr, docs/deploy.md), never from
# X-Forwarded-For, which a client can write; without the header (a request from this machine), REMOTE_ADDR.
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_REAL_IP", "REMOTE_ADDR"] if BEHIND_PROXY else ["REMOTE_ADDR"]
AXES_VERBOSE = False

# Past one server: cache and sessions in Redis when REDIS_URL is set (sessions also kept in the database, so a
# Redis restart logs nobody out); otherwise the local memory cache and database sessions.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "jixiao")}}
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# A PostgreSQL read replica for reports: the summary export reads from it (ops.routers.reading_from_replica).
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"], conn_max_age=DATABASES["default"].get("CONN_MAX_AGE", 0)
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["ops.routers.ReplicaRouter"]
