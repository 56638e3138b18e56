"""Settings come from the environment; the embedded SQLite database is set up for several writers."""

import sys
from pathlib import Path

import pytest
from django.db import connection

from evaluations.models import Unit
from tests.machine import project_process

pytestmark = pytest.mark.multiprocess

ROOT = Path(__file__).resolve().parent.parent


def settings_in_subprocess(env, expr):
    code = f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; from django.conf import settings; print({expr})"
    return project_process([sys.executable, "-c", code], env)


def test_secret_key_is_required_when_debug_is_off():
    result = settings_in_subprocess({}, "settings.DEBUG")
    assert result.returncode != 0
    assert "DEBUG 关闭时必须设置环境变量 SECRET_KEY" in result.stderr


def test_secret_key_can_come_from_the_installation_key_file(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text("a-key-made-by-make-install\n")
    result = settings_in_subprocess({"SECRET_KEY_FILE": str(key_file)}, "settings.SECRET_KEY, settings.DEBUG")
    assert result.stdout.strip() == "a-key-made-by-make-install False"


def test_default_database_is_an_sqlite_file_in_the_project():
    result = settings_in_subprocess({"DEBUG": "1"}, "settings.DATABASES['default']['NAME']")
    assert result.stdout.strip() == str(ROOT / "db.sqlite3")


def test_postgres_url_selects_postgresql():
    result = settings_in_subprocess(
        {"SECRET_KEY": "x", "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/jx"},
        "settings.DATABASES['default']['ENGINE'], settings.LANGUAGE_CODE, settings.TIME_ZONE",
    )
    # Django's PostgreSQL backend, batching under PostgreSQL's limit of parameters (ops/postgresql/base.py)
    assert result.stdout.strip() == "ops.postgresql zh-hans Asia/Shanghai"


@pytest.mark.django_db
def test_sqlite_is_set_up_for_several_writers():
    if connection.vendor != "sqlite":
        pytest.skip("只在 SQLite 上检查 SQLite 的设置")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 20000
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone()[0] == 1
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in connection.settings_dict["OPTIONS"]["init_command"]


@pytest.mark.django_db
def test_postgresql_plans_a_repeated_query_once_per_connection():
    if connection.vendor != "postgresql":
        pytest.skip("预备语句只用于 PostgreSQL（SQLite 无此设置）")
    for _ in range(6):  # psycopg prepares a query from its fifth run on a connection
        list(Unit.objects.filter(code="no-such-unit"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('FROM "evaluations_unit"' in statement and "$1" in statement for statement in prepared), prepared


def test_prepared_statements_are_on_for_postgresql_and_can_be_turned_off_for_a_pooler():
    url = {"SECRET_KEY": "x", "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/jx"}
    expr = "{k: v for k, v in settings.DATABASES['default']['OPTIONS'].items() if k != 'options'}"
    assert settings_in_subprocess(url, expr).stdout.strip() == "{'server_side_binding': True, 'prepare_threshold': 5}"
    assert settings_in_subprocess(url | {"DATABASE_PREPARED": "0"}, expr).stdout.strip() == "{}"
    assert settings_in_subprocess(url | {"DATABASE_PREPARED": "0"}, "settings.DATABASES['default']['ENGINE']"
                                  ).stdout.strip() == "django.db.backends.postgresql"


@pytest.mark.django_db
def test_a_bulk_write_of_more_parameters_than_a_statement_carries_runs_in_batches():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL 每条语句最多 65,535 个参数；SQLite 的限制由 Django 自己分批")
    # 20,000 rows × (2 columns × 2 + 1) parameters: one UPDATE would carry 100,000.
    units = Unit.objects.bulk_create([Unit(name=f"批量单位{i}", code=f"bulk-{i}") for i in range(20000)])
    for unit in units:
        unit.short_name, unit.name = f"简称{unit.pk}", f"{unit.name}（改）"
    Unit.objects.bulk_update(units, ["short_name", "name"])
    assert Unit.objects.filter(code__startswith="bulk-", name__endswith="（改）").count() == 20000
    Unit.objects.filter(code__startswith="bulk-").delete()
    assert not Unit.objects.filter(code__startswith="bulk-").exists()
