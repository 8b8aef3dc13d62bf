"""Keti settings: one module, driven by environment variables.

Every value has an embedded default so that ``make demo`` and ``make test`` run
on a fresh machine with nothing but Python packages: SQLite under ``var/``,
Celery tasks run eagerly, a Whoosh index on disk, e-mail to the console.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="keti-development-key-not-for-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "guardian",
    "axes",
    "django_ratelimit",
    "csp",
    "accounts",
    "projects",
    "reviews",
    "archive",
    # The site as a whole: its commands that span every app (load_scale).
    "config",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves the collected static files from gunicorn itself (compressed, cached);
    # with a proxy in front, the proxy may serve STATIC_ROOT instead.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns a request over its rate limit into the 429 page (config.views.rate_limited).
    "django_ratelimit.middleware.RatelimitMiddleware",
    # Last: turns a refused login of a locked-out user into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.unread_messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'keti.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads (the dev server, Celery eager tasks) write to one file:
    # take the write lock when a transaction begins and wait for it, instead of
    # failing when a reader later tries to write.
    DATABASES["default"].setdefault("OPTIONS", {}).update(timeout=20, transaction_mode="IMMEDIATE")
    # Tests use a file too (threads in the concurrency tests share it); one per
    # process so that two test runs on one machine never meet.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-keti-{os.getpid()}.sqlite3")}
else:
    # Keep connections open between requests (seconds) and check them before reuse.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache holds the rate-limit counters. The embedded default lives in the process;
# several processes (gunicorn workers, app servers) must share one: CACHE_URL=rediscache://host:6379/2.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a username and address locked out after repeated failures (django-axes).
    "accounts.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"
ANONYMOUS_USER_NAME = None  # guardian: anonymous visitors get no object permissions

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "static"))
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
SEARCH_INDEX_DIR = env.path("SEARCH_INDEX_DIR", default=str(VAR_DIR / "search-index"))

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="keti@localhost")

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # Eager tasks still take a producer from the pool: give it an in-process
    # transport instead of a broker on localhost that nobody runs.
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=None)
CELERY_TIMEZONE = TIME_ZONE

# The rules of DESIGN.md, as defaults. A call class may override any of them
# in its ``rules`` field; code reads them through ``projects.rules.rule()``.
KETI_RULES = {
    "TITLE_MAX_LENGTH": 40,
    "MAX_KEYWORDS": 3,
    "ARGUMENT_MAX_CHARS": 7000,
    # Lowest professional title level of a PI, per class code (see accounts.models.TitleLevel).
    "MIN_PI_TITLE_LEVEL": {"A": 3, "B": 2},
    "MIN_PI_TITLE_LEVEL_OTHER": 2,
    "REVOCATION_BAR_YEARS": 3,
    "NOTICE_DAYS": 7,
    "EXTENSION_MAX_COUNT": 1,
    "EXTENSION_MAX_MONTHS": 12,
    "EXTENSION_MIN_MONTHS_BEFORE_END": 2,
    "MEMBER_CHANGE_MAX_FRACTION": 1 / 3,
    "KICKOFF_WITHIN_MONTHS": 3,
    "RECTIFICATION_MONTHS": 3,
    "APPRAISAL_MAX_FAILURES": 2,
    # Expert review (reviews/).
    "CONFLICT_SHARED_PROJECT_YEARS": 5,  # 回避: shared a project as PI or member in the last N years
    "MAX_AVOID_REQUESTS": 3,  # experts an applicant may ask to exclude
    "MIN_VALID_REVIEWS": 3,  # valid reviews a proposal needs to be ranked
    "TRIM_FROM_REVIEWS": 5,  # drop the highest and lowest score from this many reviews on
    "NORMALISE_MIN_REVIEWS": 5,  # z-scores only for experts with at least this many reviews in the round
    "DISAGREEMENT_SPREAD": 20,  # flag a proposal whose weighted totals differ by this much or more
    "SHORTLIST_FACTOR": 2,  # the shortlist (入围) holds about quota × this
    "EXPERT_LOAD_LIMIT": 20,  # m: proposals per expert per round
    "ANSWER_WITHIN_DAYS": 3,  # an invitation unanswered longer is flagged with a proposed replacement
    "REMIND_INVITATION_AFTER_DAYS": 1,  # first reminder to answer an invitation
    "REMIND_REVIEW_DAYS_BEFORE": [3, 1],  # reminders before the review deadline
    "REMIND_OVERDUE_EVERY_DAYS": 2,  # reminders after the deadline
    "AFFINITY_WEIGHTS": {"discipline": 0.4, "text": 0.6},
    # After the review (issue 5).
    "MEETING_APPROVAL_FRACTION": "2/3",  # a recommendation needs this share of the members present
}
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=20 * 1024 * 1024)
PROJECT_NUMBER_PREFIX = env.str("PROJECT_NUMBER_PREFIX", default="CAEA")
# Absolute address of the site, for links in e-mails sent by workers (no request at hand).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# ---- security (issue 7) -------------------------------------------------------------------
# Login lockout (django-axes): a username is locked out from one client address after
# LOGIN_FAILURE_LIMIT failed logins, for LOGIN_COOLOFF_MINUTES; other users and the
# same user from elsewhere can still log in. A successful login clears the count.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_ip"
AXES_VERBOSE = False
# Reverse proxies in front of the application that append to X-Forwarded-For (0: none).
PROXY_COUNT = env.int("PROXY_COUNT", default=0)

# Content-Security-Policy (django-csp): no inline scripts, styles or handlers anywhere;
# scripts and styles are files under static/.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# HTTPS in production (DEBUG false): secure cookies, redirect to https and HSTS, each
# overridable. Behind a proxy that terminates TLS, set SECURE_PROXY_SSL_HEADER to the
# header it sets, e.g. "HTTP_X_FORWARDED_PROTO,https" (only if the proxy always sets it).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) if _proxy_ssl_header else None

# Rate limits of the public forms and the API, per client address (config/ratelimits.py,
# django-ratelimit); "N/s", "N/m", "N/h" or "N/d". A request over its limit gets the 429 page.
RATE_LIMITS = {
    "login": env.str("RATE_LIMIT_LOGIN", default="30/m"),  # login posts, beside the lockout per user
    "forms": env.str("RATE_LIMIT_FORMS", default="30/h"),  # registration, password reset, objections
    "search": env.str("RATE_LIMIT_SEARCH", default="120/m"),  # the public archive's pages and exports
    "api": env.str("RATE_LIMIT_API", default="120/m"),  # the archive API
}
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
RATELIMIT_VIEW = "config.views.rate_limited"
SILENCED_SYSTEM_CHECKS = [
    # Django's own RedisCache increments atomically; django-ratelimit only lists django-redis.
    "django_ratelimit.W001",
]
if DEBUG:
    # The embedded default is one process, where the in-process cache is the shared one.
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.E003")

# Request sizes. UPLOAD_MAX_BYTES (above) bounds each uploaded file and is checked by the
# views; uploads up to 2.5 MB (or UPLOAD_MAX_BYTES if smaller) stay in memory, larger ones
# are streamed to a temporary file. The other fields of a request may hold at most
# DATA_UPLOAD_MAX_MEMORY_SIZE bytes. A proxy in front should accept bodies of
# UPLOAD_MAX_BYTES + DATA_UPLOAD_MAX_MEMORY_SIZE (nginx: client_max_body_size).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
FILE_UPLOAD_MAX_MEMORY_SIZE = min(UPLOAD_MAX_BYTES, 2_621_440)
DATA_UPLOAD_MAX_NUMBER_FILES = 20
# ---- end of security ----------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}

# ---- archive search (archive/search/) -------------------------------------------------
# "whoosh": the embedded index on disk under SEARCH_INDEX_DIR (the default);
# "postgres": a tsvector GIN index in the application's PostgreSQL database
# (needs DATABASE_URL pointing at PostgreSQL). Index updates run as Celery tasks
# on the queue "archive-index", served by one worker:
#   celery -A config worker -Q archive-index --concurrency 1
# Long-lived processes set KETI_WARM_JIEBA=1 to load jieba's dictionary at start.
SEARCH_BACKEND = env.str("SEARCH_BACKEND", default="whoosh")
CELERY_TASK_ROUTES = {"archive.tasks.*": {"queue": "archive-index"}}
# ---- end of archive search ----------------------------------------------------------------

# ---- review reminders (reviews/tasks_reminders.py) -------------------------------------
# Run by `celery -A config beat`; times are CELERY_TIMEZONE (Asia/Shanghai).
from celery.schedules import crontab  # noqa: E402

CELERY_BEAT_SCHEDULE = {
    "send-review-reminders": {
        "task": "reviews.tasks_reminders.send_review_reminders",
        "schedule": crontab(hour=9, minute=0),
    },
    "flag-unanswered-invitations": {
        "task": "reviews.tasks_reminders.flag_unanswered_invitations",
        "schedule": crontab(hour=9, minute=30),
    },
    # Supervision sweeps (督办, projects/tasks_supervision.py): overdue kick-offs, mid-terms, end dates.
    "supervision-sweep": {
        "task": "projects.tasks_supervision.supervision_sweep",
        "schedule": crontab(hour=8, minute=30),
    },
}
# ---- end of review reminders ------------------------------------------------------------
