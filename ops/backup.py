"""The backup file (`manage.py backup` / `restore`): a zip that any supported database can be restored from.

    manifest.json   format, version, time, the migrations it was taken at, row counts per model,
                    and the SHA-256 and size of every other member
    data.xml        dumpdata of every model (contenttypes and permissions by natural key; sessions left out); XML,
                    because Django's JSON encoder cuts times to milliseconds and XML keeps the microseconds
    files/<name>    every uploaded file a FileField refers to (佐证材料, the archived 说明 PDFs), under its
                    storage name
"""

import hashlib
import json

from django.apps import apps
from django.db import models
from django.db.migrations.recorder import MigrationRecorder

FORMAT = "jixiao-backup"
VERSION = 1
# Made by `migrate` itself, referred to by natural key, never restored as rows.
FROM_MIGRATE = {"contenttypes.contenttype", "auth.permission"}
# Sessions are transient; after a restore everyone logs in again.
LEFT_OUT = {"sessions.session"}
# Created by a data migration (evaluations 0002_roles): a fresh database already has them.
SEEDED = {"auth.group"}


def label(model):
    return model._meta.label_lower


def backed_up_models():
    return [
        m for m in apps.get_models(include_auto_created=False)
        if label(m) not in FROM_MIGRATE | LEFT_OUT and not m._meta.proxy and m._meta.managed
    ]


def file_fields(model):
    return [f for f in model._meta.concrete_fields if isinstance(f, models.FileField)]


def migration_state(connection):
    applied = MigrationRecorder(connection).applied_migrations()
    latest = {}
    for app, name in sorted(applied):
        latest[app] = max(latest.get(app, ""), name)
    return latest


def sha256_of(stream, chunk=1024 * 1024):
    digest = hashlib.sha256()
    while block := stream.read(chunk):
        digest.update(block)
    return digest.hexdigest()


def dumps(manifest):
    return json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True)
