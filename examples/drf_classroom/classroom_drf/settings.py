"""Settings of the example: no database, in-memory data, errata's exception handler."""

SECRET_KEY = "example-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
ROOT_URLCONF = "classroom_drf.urls"
INSTALLED_APPS = ["rest_framework", "drf_spectacular"]
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

REST_FRAMEWORK = {
    # The one line that puts every error of the service in the catalog's envelope.
    "EXCEPTION_HANDLER": "classroom_drf.errors.exception_handler",
    # And the one that lets a client ask for application/problem+json.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "classroom_drf.errors.ContentNegotiation",
    "DEFAULT_AUTHENTICATION_CLASSES": ["classroom_drf.auth.BearerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"ping": "2/minute"},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "classroom (DRF)",
    "VERSION": "1.0.0",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "classroom_drf.errors.spectacular_postprocess",
    ],
}
