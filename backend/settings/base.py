"""Settings for every environment. Everything that differs between machines comes from the environment.

`RECOVERY_ENV=production` turns on production mode: it refuses to start without SECRET_KEY,
ALLOWED_HOSTS and DATABASE_URL, and turns on the HTTPS and cookie hardening that
`manage.py check --deploy` asks for.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from backend.settings.env import (
    development_secret_key,
    env_bool,
    env_int,
    env_list,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "data")) or BASE_DIR / "data")

ENVIRONMENT = env_str("RECOVERY_ENV", "development")
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured("RECOVERY_ENV must be 'development' or 'production'")
PRODUCTION = ENVIRONMENT == "production"

if PRODUCTION:
    missing = [
        name for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL") if not env_str(name)
    ]
    if missing:
        raise ImproperlyConfigured(
            f"Production mode needs these environment variables: {', '.join(missing)}"
        )

DEBUG = env_bool("DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production mode")

SECRET_KEY = env_str("SECRET_KEY") or development_secret_key(DATA_DIR)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "accounts",
    "recovery",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "backend.api.middleware.AppVersionMiddleware",
    "backend.api.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "recovery.idempotency.IdempotencyKeyMiddleware",
    "accounts.audit.AuditMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"
ASGI_APPLICATION = "backend.asgi.application"

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
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'recovery.sqlite3'}")
if DATABASE_URL and DATABASE_URL.startswith("sqlite:///"):
    DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL or "",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT: it pays off for long analytical queries, not for these millisecond ones. With it on
    # (PostgreSQL's default), a plan estimated above jit_above_cost, e.g. on a table without
    # statistics yet, was JIT-compiled for 0.5-0.8 s on every request (docs/performance.md).
    # Options given in DATABASE_URL (`?options=...`) come after and win.
    db_options = DATABASES["default"].setdefault("OPTIONS", {})
    db_options["options"] = " ".join(filter(None, ["-c jit=off", db_options.get("options")]))
    # psycopg prepares a statement of `backend.db.prepared_cursor` once it has run this many
    # times on a connection (Django's own cursors bind on the client and never prepare). Empty:
    # no prepared statements (a transaction-mode pooler without prepared statement support).
    if os.environ.get("DB_PREPARE_THRESHOLD", "5").strip():
        db_options.setdefault("prepare_threshold", env_int("DB_PREPARE_THRESHOLD", 5))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "recovery"}
    )
}

AUTH_USER_MODEL = "accounts.User"
# django-axes first: it refuses a locked-out (account, address) pair before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Outside production, serve static files straight from the apps (no collectstatic needed to see the docs).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION

# Request bodies: the largest legitimate one is a 500-record sync batch.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_REQUEST_BODY_BYTES", 2 * 1024 * 1024)

# orjson with DRF's JSON conventions (backend/api/renderers.py; docs/performance.md).
RENDERERS = ["backend.api.renderers.ORJSONRenderer"]
if DEBUG:
    RENDERERS.append("rest_framework.renderers.BrowsableAPIRenderer")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.auth.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": RENDERERS,
    "DEFAULT_PARSER_CLASSES": ["backend.api.parsers.StrictJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "backend.api.pagination.CursorPagination",
    "DEFAULT_SCHEMA_CLASS": "backend.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "backend.api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "auth": env_str("THROTTLE_AUTH", "10/min"),
        "register": env_str("THROTTLE_REGISTER", "5/min"),
        "refresh": env_str("THROTTLE_REFRESH", "30/min"),
        "user": env_str("THROTTLE_USER", "600/min"),
        "export": env_str("THROTTLE_EXPORT", "5/hour"),
    },
    # Every view not naming its own throttles: per user (per address when anonymous).
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    # Trust X-Forwarded-For only when told how many proxies add to it (0: use REMOTE_ADDR).
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
    "UNAUTHENTICATED_USER": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": False,
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env_str("JWT_SIGNING_KEY") or SECRET_KEY,
    "AUDIENCE": "recovery-api",
    "ISSUER": "recovery-api",
    "LEEWAY": 5,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "TOKEN_OBTAIN_SERIALIZER": "accounts.auth.EmailTokenObtainPairSerializer",
    "TOKEN_REFRESH_SERIALIZER": "accounts.auth.RotatingRefreshSerializer",
}
# A refresh chain (sign-in to last refresh) may not outlive this, however often it rotates.
JWT_SESSION_MAX_DAYS = env_int("JWT_SESSION_MAX_DAYS", 90)

# Login lockout (django-axes): failures counted per (account, address) pair, so one gym's shared
# address does not lock out a whole team and one account is not locked for everyone. The answer
# is the API's 429 problem+json `locked_out` with Retry-After, the same for unknown accounts.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "email"
AXES_USERNAME_CALLABLE = "accounts.lockout.login_username"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "backend.api.client.client_ip"
AXES_HTTP_RESPONSE_CODE = 429

SPECTACULAR_SETTINGS = {
    "TITLE": "Recovery API",
    "DESCRIPTION": (
        "Athlete recovery tracking for sports teams: training load, soreness body map, massage and "
        "neuromuscular therapy sessions, load metrics, and where the next session should focus.\n\n"
        "Authenticate with `POST /api/v1/auth/token/` and send `Authorization: Bearer <access>`. "
        "Every error is `application/problem+json` (RFC 9457) with a stable `code`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Pinned enum component names: they become class names in generated mobile clients.
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "accounts.models.Role",
        "DominantSideEnum": "accounts.models.DominantSide",
        "InvitationStatusEnum": ["pending", "used", "revoked", "expired"],
        "HealthStatusEnum": ["ok"],
        "SideEnum": "recovery.models.Side",
        "TrainingSessionTypeEnum": "recovery.models.SessionType",
        "SorenessKindEnum": "recovery.models.SorenessKind",
        "MassageStatusEnum": "recovery.models.MassageStatus",
        "MassageTypeEnum": "recovery.models.MassageType",
        "TechniqueEnum": "recovery.models.Technique",
        "PressureEnum": "recovery.models.Pressure",
        "InjuryStatusEnum": "recovery.models.InjuryStatus",
        "AuditActionEnum": "accounts.models.AuditAction",
        "RiskBandEnum": "recovery.serializers.dashboard.RISK_BAND_CHOICES",
        "MetricReasonEnum": "recovery.serializers.dashboard.METRIC_REASON_CHOICES",
        "WellnessTrendDirectionEnum": "recovery.serializers.dashboard.WELLNESS_DIRECTION_CHOICES",
        "SessionModeEnum": "recovery.serializers.recommendation.SESSION_MODE_CHOICES",
        "WarningCodeEnum": "recovery.serializers.recommendation.WARNING_CODE_CHOICES",
        "AvoidReasonEnum": "recovery.serializers.recommendation.AVOID_REASON_CHOICES",
        "SorenessFlagStatusEnum": "recovery.selectors.soreness.FlagStatus",
        "SyncChangeKindEnum": "recovery.sync.protocol.ChangeKind",
        "SyncChangeOpEnum": "recovery.sync.protocol.ChangeOp",
        "SyncPushKindEnum": "recovery.sync.protocol.PushKind",
        "SyncPushResultEnum": "recovery.sync.protocol.PushResult",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "backend.api.schema.postprocess_problem_media_type",
        "backend.api.schema.postprocess_for_generators",
    ],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "TAGS": [],
}

# The benchmark floor endpoint (backend/api/floor.py); only bench/run turns it on.
BENCH_FLOOR_ENABLED = env_bool("BENCH_FLOOR_ENABLED", default=False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # axes logs every attempt at INFO; its failures and lockouts are WARNINGs.
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}

# Security headers on every response (also in development, so tests see what production sends).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
