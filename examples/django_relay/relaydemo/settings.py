"""Settings: the only errata-specific line is the DSN, which points at `errata relay`."""

from __future__ import annotations

import os

import sentry_sdk

SECRET_KEY = "django-insecure-relay-demo"  # noqa: S105 (a demo key, never deployed)
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "relaydemo.urls"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True

REST_FRAMEWORK = {
    "EXCEPTION_HANDLER": "relaydemo.views.exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}

KAKAO_API_BASE = os.environ.get("KAKAO_API_BASE", "https://kapi.kakao.com")

# The service as its team runs it: the Sentry SDK with a DSN, here the relay's.
# `send_default_pii=True` is the worst case: the SDK then sends headers, cookies and bodies
# unscrubbed, so anything secret must be removed by the relay.
if os.environ.get("SENTRY_DSN"):
    sentry_sdk.init(
        dsn=os.environ["SENTRY_DSN"],
        environment="ci",
        release="relaydemo@1.0.0",
        send_default_pii=True,
        max_request_body_size="always",
        include_local_variables=True,
        # A storm is sent in full: the default queue (100 envelopes) would drop most of it, and
        # the test counts exactly.
        transport_queue_size=100_000,
    )
