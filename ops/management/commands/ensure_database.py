"""Create the PostgreSQL database named in DATABASE_URL when it does not exist yet (used by `make serve`)."""

from django.core.management.base import BaseCommand
from django.db import connections


class Command(BaseCommand):
    help = "若 DATABASE_URL 指定的 PostgreSQL 数据库不存在，则创建它（SQLite 无需创建）。"

    def handle(self, *args, **options):
        import psycopg
        from psycopg import sql

        settings_dict = connections["default"].settings_dict
        if connections["default"].vendor != "postgresql":
            return
        params = {k: v for k, v in {
            "host": settings_dict["HOST"], "port": settings_dict["PORT"] or None,
            "user": settings_dict["USER"], "password": settings_dict["PASSWORD"] or None,
        }.items() if v}
        name = settings_dict["NAME"]
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                return
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.stdout.write(f"已创建数据库 {name}。")
