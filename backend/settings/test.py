"""Test settings: base settings with fast hashing and no throttling noise unless a test asks for it.

django-axes stays on (login lockout is tested); its attempts live in the database, so each test's
rollback forgets them, and tests that count failures also reset them in a fixture."""

from backend.settings.base import *  # noqa: F403
from backend.settings.base import REST_FRAMEWORK

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        "auth": "1000/min",
        "register": "1000/min",
        "refresh": "1000/min",
        "user": "100000/min",
        "export": "1000/min",
    },
}
