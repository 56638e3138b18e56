"""What a test needs from the machine. A user's fresh machine may have no PostgreSQL and no Pango: tests that
need them skip, saying why. CI (.ci/run sets CI=1) has both, so there a missing one fails instead."""

import contextlib
import os
import subprocess
from pathlib import Path

import pytest

from evaluations.documents.html_pdf import pdf_unavailable_reason

# Why the PDF of the 说明 cannot be made here (None: it can, or this is CI, where it must).
PDF_UNAVAILABLE = None if os.environ.get("CI") else pdf_unavailable_reason()

SERVER = "host=127.0.0.1 port=5432 user=postgres"
ROOT = Path(__file__).resolve().parent.parent
# What the suite's own process has set and a fresh process of the project must not inherit.
SUITE_ONLY = ("DATABASE_URL", "SECRET_KEY", "DEBUG", "HTTPS", "REDIS_URL", "DJANGO_SETTINGS_MODULE",
              "DJANGO_ALLOW_ASYNC_UNSAFE", "SECURE_SSL_REDIRECT", "COLLECTED_STATIC")


def project_env(env):
    """The environment of a fresh installation's process: only `env` on top of the machine's environment, and no
    per-installation secret key file (var/secret_key) unless `env` names one."""
    clean = {k: v for k, v in os.environ.items() if k not in SUITE_ONLY}
    return {**clean, "SECRET_KEY_FILE": str(ROOT / "var" / "no-such-key-file"), **env}


def project_process(args, env, **kwargs):
    """Run `args` in the project folder as a fresh installation would (project_env)."""
    return subprocess.run(args, env=project_env(env), cwd=ROOT, capture_output=True, text=True, **kwargs)


# A scratch database on the machine's PostgreSQL (127.0.0.1:5432, user postgres, trust auth), for tests that run
# processes of their own against it.
def require_postgres():
    try:
        import psycopg

        psycopg.connect(f"{SERVER} dbname=postgres connect_timeout=3").close()
    except Exception as error:  # noqa: BLE001
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL 不可用（127.0.0.1:5432，用户 postgres）：{error}；CI 会运行此测试")


@contextlib.contextmanager
def scratch_database(prefix):
    """An empty database for the block, dropped after it however the block ends; yields (name, DATABASE_URL)."""
    import psycopg

    name = f"{prefix}_{os.getpid()}"
    with psycopg.connect(f"{SERVER} dbname=postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name, f"postgres://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(f"{SERVER} dbname=postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
