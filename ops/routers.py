"""Reports read from a PostgreSQL replica when one is configured (DATABASE_REPLICA_URL; docs/deploy.md).

Only code inside `reading_from_replica()` reads there (the summary export), and only the data it reports on:
the export job's own row, and every write, stay on the primary. A replica lags by a second or so, which a
summary of a year's evaluations can afford and an edit page cannot.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings

REPLICA = "replica"
REPORTED_APPS = {"evaluations", "auth", "contenttypes"}
_reading = ContextVar("reading_from_replica", default=False)


@contextmanager
def reading_from_replica():
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if _reading.get() and REPLICA in settings.DATABASES and model._meta.app_label in REPORTED_APPS:
            return REPLICA
        return None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica holds the same rows

    def allow_migrate(self, db, app_label, **hints):
        return db == "default"
