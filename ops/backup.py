"""The backup file (`manage.py backup` / `restore`): a zip that any supported database can be restored from.

    manifest.json   format, version, time, the migrations it was taken at, row counts and a content checksum
                    per model, and the SHA-256 and size of every other member
    data.jsonl      every row of every model, one JSON object a line, as Django's serializers write them
                    (contenttypes, permissions and users referred to by natural key; sessions left out), with
                    times to the microsecond (ExactJSONEncoder)
    files/<name>    every uploaded file a FileField refers to (佐证材料, the archived 说明 PDFs), under its
                    storage name

Version 1 wrote data.xml (dumpdata's XML); it is still restored. XML was left (issue 13) because it cannot hold
control characters (one U+000B stopped every backup) and its reader strips every value and turns CRLF into LF;
JSON holds every string exactly. The restore then checks each table's content against the checksum taken at
backup (`table_checksums`), computed from the rows as Django reads them, so the same on SQLite and PostgreSQL.
"""

import datetime
import hashlib
import json

from django.apps import apps
from django.core import serializers
from django.core.serializers.json import DjangoJSONEncoder
from django.core.serializers.python import Serializer as PythonSerializer
from django.db import models
from django.db.migrations.recorder import MigrationRecorder

FORMAT = "jixiao-backup"
VERSION = 2
READABLE_VERSIONS = {1, 2}
DATA = "data.jsonl"
DATA_V1 = "data.xml"
# Made by `migrate` itself, referred to by natural key, never restored as rows.
FROM_MIGRATE = {"contenttypes.contenttype", "auth.permission"}
# Sessions are transient; after a restore everyone logs in again.
LEFT_OUT = {"sessions.session"}
# Created by data migrations (evaluations 0002_roles, 0010_rechecks' standard deduction reasons): a fresh
# database already has them; the restore replaces them with the backup's.
SEEDED = {"auth.group", "evaluations.deductionreason"}


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


class ExactJSONEncoder(DjangoJSONEncoder):
    """Django's encoder, but times to the microsecond (it cuts them to milliseconds)."""

    def default(self, o):
        if isinstance(o, (datetime.datetime, datetime.time)):
            return o.isoformat()
        return super().default(o)


def write_data(models_, stream):
    """Every row of these models to `stream` (text, UTF-8) as JSON lines, in an order loaddata can read back:
    what others refer to by natural key first."""
    serializer = serializers.get_serializer("jsonl")()
    for model in serializers.sort_dependencies([(None, models_)], allow_cycles=True):
        serializer.serialize(
            model._base_manager.order_by(model._meta.pk.name).iterator(chunk_size=2000), stream=stream,
            use_natural_foreign_keys=True, cls=ExactJSONEncoder,
        )


class _TableDigest(PythonSerializer):
    """Each row as Django's serializers see it (natural keys for contenttypes, permissions, users), hashed as
    canonical JSON; the table's checksum is the sum of its rows' hashes, so it does not depend on the order the
    database returns them in, nor on the order of many-to-many lists or of JSON keys (jsonb reorders them)."""

    def start_serialization(self):
        super().start_serialization()
        self.total = self.count = 0

    def end_object(self, obj):
        row = self.get_dump_object(obj)
        for field in obj._meta.many_to_many:
            if field.name in row["fields"]:
                row["fields"][field.name] = sorted(row["fields"][field.name], key=json.dumps)
        text = json.dumps(row, cls=ExactJSONEncoder, sort_keys=True, ensure_ascii=False)
        self.total = (self.total + int(hashlib.sha256(text.encode()).hexdigest(), 16)) % 2**256
        self.count += 1
        self._current = None


def table_checksums(models_):
    """{label: {"rows": n, "sha256": hex}} of the rows in the database now."""
    result = {}
    for model in models_:
        digest = _TableDigest()
        digest.serialize(model._base_manager.iterator(chunk_size=2000), use_natural_foreign_keys=True)
        result[label(model)] = {"rows": digest.count, "sha256": f"{digest.total:064x}"}
    return result
