"""Loaded by pytest before Django's settings (see pyproject.toml): the tests' own environment."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-not-for-production")
