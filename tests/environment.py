"""Loaded by pytest before Django's settings (see pyproject.toml): the tests' own environment."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-not-for-production")
# Playwright's sync API runs an event loop in the test thread; the test's own database calls are synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# The test client and the live server talk plain HTTP, and nothing is collected (collectstatic) for the suite.
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("COLLECTED_STATIC", "0")
