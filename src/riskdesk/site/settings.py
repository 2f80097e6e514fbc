"""Django settings for RiskDesk.

Embedded default: a SQLite file under ``$RISKDESK_HOME`` (default ``./var``).
PostgreSQL when ``DATABASE_URL`` is set (``postgresql://…``).
"""

import os
from pathlib import Path

import dj_database_url

PACKAGE_DIR = Path(__file__).resolve().parent.parent
HOME = Path(os.environ.get("RISKDESK_HOME", Path.cwd() / "var")).resolve()

SECRET_KEY = os.environ.get("RISKDESK_SECRET_KEY", "dev-only-insecure-key-change-me-in-production")
DEBUG = os.environ.get("RISKDESK_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("RISKDESK_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(
    ","
)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "django.contrib.staticfiles",
    "django_htmx",
    "simple_history",
    "django_tasks",
    "django_tasks_db",
    "riskdesk.users",
    "riskdesk.book",
    "riskdesk.console",
    "riskdesk.jobs",
    "riskdesk.approvals",
    "riskdesk.credit",
    "riskdesk.calendars",
    "riskdesk.lists",
    "riskdesk.margin",
    "riskdesk.margincall",
    "riskdesk.notices",
    "riskdesk.liquidation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "riskdesk.users.middleware.LoginRequiredMiddleware",
]

ROOT_URLCONF = "riskdesk.site.urls"
WSGI_APPLICATION = "riskdesk.site.wsgi.application"
ASGI_APPLICATION = "riskdesk.site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "riskdesk.console.menu.menu_context",
                "riskdesk.approvals.context.approvals_waiting",
            ],
        },
    },
]


def _database() -> dict:
    url = os.environ.get("DATABASE_URL")
    if url:
        db = dj_database_url.parse(url, conn_max_age=60)
        db.setdefault("TEST", {})["NAME"] = os.environ.get("RISKDESK_TEST_DB_NAME")
        return db
    HOME.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("RISKDESK_SQLITE", str(HOME / "riskdesk.sqlite3")),
        # Tests use a file too: an in-memory shared-cache database locks whole tables and
        # ignores the busy timeout, so it cannot show how concurrent writers really queue.
        "TEST": {"NAME": str(HOME / "test-riskdesk.sqlite3")},
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of
        # failing with "database is locked" half-way through a transaction.
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;"
                # the risk monitor checkpoints in the background (site.wal); a writer
                # checkpoints in its own COMMIT only past 40 MB of log
                "PRAGMA wal_autocheckpoint=10000;"
            ),
        },
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("zh-hans", "简体中文"), ("zh-hant", "繁體中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
# Figures in Chinese are read in groups of three with commas, as on HK statements; Django's own
# zh formats have no thousand separator.
FORMAT_MODULE_PATH = ["riskdesk.locale"]
TIME_ZONE = "Asia/Hong_Kong"
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = True

STATIC_URL = "static/"
STATIC_ROOT = HOME / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# With an SMTP server named, mail goes out through it; without one (a demo), each message is
# written as a file under $RISKDESK_HOME/mail so nothing is lost and nothing fails.
EMAIL_BACKEND = os.environ.get(
    "RISKDESK_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("RISKDESK_SMTP_HOST")
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = HOME / "mail"
EMAIL_HOST = os.environ.get("RISKDESK_SMTP_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("RISKDESK_SMTP_PORT", "1025"))
DEFAULT_FROM_EMAIL = os.environ.get("RISKDESK_MAIL_FROM", "riskdesk@localhost")
# Where links in e-mails point.
RISKDESK_CONSOLE_URL = os.environ.get("RISKDESK_CONSOLE_URL", "http://127.0.0.1:8000")

NINJA_PAGINATION_PER_PAGE = 100

# The firm's base currency (主币种): every figure of the risk engine is in it.
RISKDESK_BASE_CURRENCY = os.environ.get("RISKDESK_BASE_CURRENCY", "HKD")
# Trading days a client has to meet a margin call (MC-1), counted on the account's market.
RISKDESK_CALL_DEADLINE_DAYS = int(os.environ.get("RISKDESK_CALL_DEADLINE_DAYS", "3"))
# Rows an .xlsx export may hold; larger selections are refused with a message to narrow them.
RISKDESK_EXPORT_MAX_ROWS = int(os.environ.get("RISKDESK_EXPORT_MAX_ROWS", "200000"))
# Where client messages go for SMS / push (PL-7): a JSON POST per message; empty = no webhook.
RISKDESK_WEBHOOK_URL = os.environ.get("RISKDESK_WEBHOOK_URL", "")
# Liquidation orders (MC-10): "simulated" fills at the last price; "fix" sends FIX 4.4 to the
# order-management system at RISKDESK_FIX_HOST:RISKDESK_FIX_PORT (see docs/operations.md).
RISKDESK_ORDER_GATEWAY = os.environ.get("RISKDESK_ORDER_GATEWAY", "simulated")
RISKDESK_FIX_HOST = os.environ.get("RISKDESK_FIX_HOST", "127.0.0.1")
RISKDESK_FIX_PORT = int(os.environ.get("RISKDESK_FIX_PORT", "9878"))
RISKDESK_FIX_SENDER = os.environ.get("RISKDESK_FIX_SENDER", "RISKDESK")
RISKDESK_FIX_TARGET = os.environ.get("RISKDESK_FIX_TARGET", "OMS")
RISKDESK_FIX_HEARTBEAT = int(os.environ.get("RISKDESK_FIX_HEARTBEAT", "30"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("RISKDESK_LOG_LEVEL", "WARNING")},
}
