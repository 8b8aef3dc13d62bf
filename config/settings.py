"""Keti settings: one module, driven by environment variables.

Every value has an embedded default so that ``make demo`` and ``make test`` run
on a fresh machine with nothing but Python packages: SQLite under ``var/``,
Celery tasks run eagerly, a Whoosh index on disk, e-mail to the console.
"""

import os
from pathlib import Path

import environ
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
    "accounts",
    "projects",
    "reviews",
    "archive",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
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
