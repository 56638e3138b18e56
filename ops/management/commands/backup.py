"""manage.py backup -o FILE: all data and uploaded files in one zip, restorable into SQLite or PostgreSQL."""

import hashlib
import tempfile
import zipfile
from pathlib import Path

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from ops import backup


class Command(BaseCommand):
    help = "备份全部数据和上传的文件到一个 zip 文件（与数据库类型无关，可恢复到 SQLite 或 PostgreSQL）。"

    def add_arguments(self, parser):
        parser.add_argument("-o", "--output", required=True, help="备份文件路径（.zip）")

    def handle(self, *args, output, **options):
        target = Path(output)
        if target.exists() or target.is_dir():
            raise CommandError(f"{target} 已存在，不会覆盖，请换一个文件名。")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        models = backup.backed_up_models()
        members = {}
        # One snapshot: the rows, their counts and the file names all come from the same moment.
        outer = connection.in_atomic_block  # (in tests) a snapshot level can only be set first in a transaction
        with transaction.atomic(), tempfile.TemporaryDirectory() as tmp:
            if connection.vendor == "postgresql" and not outer:
                connection.cursor().execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            data = Path(tmp) / backup.DATA
            with data.open("w", encoding="utf-8") as stream:
                backup.write_data(models, stream)
            checksums = backup.table_checksums(models)
            counts = {name: table["rows"] for name, table in checksums.items()}
            names = sorted({
                name for m in models for f in backup.file_fields(m)
                for name in m._base_manager.exclude(**{f.name: ""}).values_list(f.name, flat=True) if name
            })
            with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
                with data.open("rb") as f:
                    members[backup.DATA] = {"sha256": backup.sha256_of(f), "size": data.stat().st_size}
                archive.write(data, backup.DATA)
                missing = []
                for name in names:
                    if not default_storage.exists(name):
                        missing.append(name)
                        continue
                    with default_storage.open(name, "rb") as src, archive.open(f"files/{name}", "w") as dst:
                        digest, size = hashlib.sha256(), 0
                        while block := src.read(1024 * 1024):
                            digest.update(block)
                            size += len(block)
                            dst.write(block)
                    members[f"files/{name}"] = {"sha256": digest.hexdigest(), "size": size}
                manifest = {
                    "format": backup.FORMAT, "version": backup.VERSION, "created_at": timezone.now().isoformat(),
                    "source_database": connection.vendor, "migrations": backup.migration_state(connection),
                    "counts": counts, "checksums": checksums, "members": members, "missing_files": missing,
                }
                archive.writestr("manifest.json", backup.dumps(manifest))
        partial.replace(target)
        rows = sum(counts.values())
        self.stdout.write(self.style.SUCCESS(
            f"已备份 {rows} 行数据、{len(members) - 1} 个文件到 {target}（{target.stat().st_size / 1024 / 1024:.1f} MB）。"
        ))
        for name in missing:
            self.stderr.write(f"警告：数据库引用的文件不存在，未能备份：{name}")
