"""manage.py restore FILE: load a backup into an empty, migrated database, in one transaction."""

import json
import tempfile
import zipfile
import zlib
from pathlib import Path

from django.apps import apps
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.core.management.color import no_style
from django.core.serializers.base import DeserializationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from ops import backup

# Where the files a restore replaces are kept (in the same storage) until it has succeeded or put them back.
KEPT = "restore-kept"


class Command(BaseCommand):
    help = "从 backup 生成的 zip 文件恢复全部数据和上传的文件（目标数据库须已迁移且为空，除非加 --force）。"

    def add_arguments(self, parser):
        parser.add_argument("file", help="备份文件（.zip）")
        parser.add_argument("--force", action="store_true", help="目标数据库已有数据时，先清空再恢复")

    def handle(self, *args, file, force, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"找不到备份文件 {path}。")
        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile as error:
            raise CommandError(f"{path} 不是有效的备份文件（不是 zip 文件）。") from error
        with archive, tempfile.TemporaryDirectory() as tmp:
            manifest = self.verify(archive)
            models = [apps.get_model(label) for label in manifest["counts"]]
            occupied = [
                f"{m._meta.verbose_name}（{n} 行）" for m in models
                if backup.label(m) not in backup.SEEDED and (n := m._base_manager.count())
            ]
            if occupied and not force:
                raise CommandError(
                    "目标数据库已有数据，未做任何修改：" + "、".join(occupied[:5]) + ("等" if len(occupied) > 5 else "")
                    + "。请恢复到新建并已迁移的空数据库；确需覆盖时加 --force。"
                )
            name = backup.DATA if backup.DATA in manifest["members"] else backup.DATA_V1
            data = Path(tmp) / name
            data.write_bytes(archive.read(name))
            files = [name for name in manifest["members"] if name.startswith("files/")]
            # Files are written last, inside the transaction: if one cannot be written, or the commit fails, no row
            # is kept, the files written are removed and the ones they replaced are put back. What they replace is
            # first copied aside in the same storage (KEPT), and removed from there only once all is done.
            written, replaced = [], {}
            kept_under = f"{KEPT}/{timezone.now():%Y%m%d-%H%M%S}"
            try:
                with transaction.atomic():
                    self.empty(models)
                    try:
                        call_command("loaddata", str(data), verbosity=0)
                    except (DatabaseError, DeserializationError) as error:
                        raise CommandError(f"备份中的数据无法载入（{error}），已全部撤销。") from error
                    counts = {backup.label(m): m._base_manager.count() for m in models}
                    if counts != manifest["counts"]:
                        wrong = [k for k in counts if counts[k] != manifest["counts"][k]]
                        raise CommandError(f"恢复后的行数与备份不符（{'、'.join(wrong)}），已全部撤销。")
                    if "checksums" in manifest:  # version 1 backups have counts only
                        restored = backup.table_checksums(models)
                        wrong = [k for k in restored if restored[k] != manifest["checksums"].get(k)]
                        if wrong:
                            raise CommandError(
                                f"恢复后的内容与备份时的校验值不符（{'、'.join(wrong)}），已全部撤销。"
                            )
                    for member in files:
                        self.restore_file(archive, member, manifest["members"][member]["sha256"], kept_under,
                                          written, replaced)
            except BaseException:
                self.put_back(written, replaced)
                raise
            for kept in replaced.values():
                default_storage.delete(kept)
        self.stdout.write(self.style.SUCCESS(
            f"已恢复 {sum(counts.values())} 行数据和 {len(files)} 个文件（备份时间 {manifest['created_at']}）。"
        ))

    def verify(self, archive):
        """Every member's checksum and the migrations, before anything is written."""
        try:
            manifest = json.loads(archive.read("manifest.json"))
        except (KeyError, ValueError) as error:
            raise CommandError("备份文件缺少 manifest.json 或其内容无效。") from error
        if manifest.get("format") != backup.FORMAT or manifest.get("version") not in backup.READABLE_VERSIONS:
            raise CommandError("这不是本系统生成的备份文件，或版本不受支持。")
        for member, expected in manifest["members"].items():
            try:
                with archive.open(member) as f:
                    actual = backup.sha256_of(f)
            except KeyError as error:
                raise CommandError(f"备份文件不完整：缺少 {member}。") from error
            except (zipfile.BadZipFile, zlib.error, EOFError) as error:
                raise CommandError(f"备份文件已损坏：{member} 无法读出，未做任何修改。") from error
            if actual != expected["sha256"]:
                raise CommandError(f"备份文件已损坏：{member} 的校验值不符。")
        current = backup.migration_state(connection)
        if current != manifest["migrations"]:
            apps_differ = sorted(a for a in set(current) | set(manifest["migrations"])
                                 if current.get(a) != manifest["migrations"].get(a))
            raise CommandError(
                f"备份时的数据库结构与当前不同（{'、'.join(apps_differ)}）。请先运行 migrate，"
                "并使用与备份时相同版本的系统恢复。"
            )
        unknown = [label for label in manifest["counts"] if not self.known(label)]
        if unknown:
            raise CommandError(f"备份中有当前系统没有的数据类型：{'、'.join(unknown)}。")
        return manifest

    @staticmethod
    def restore_file(archive, member, sha256, kept_under, written, replaced):
        name = member.removeprefix("files/")
        cleared = False  # the name is free: nothing was there, or its file is copied aside and removed
        try:
            if default_storage.exists(name):
                with default_storage.open(name) as current:
                    if backup.sha256_of(current) == sha256:
                        return  # already there, the same bytes
                    current.seek(0)
                    replaced[name] = default_storage.save(f"{kept_under}/{name}", File(current, name=name))
                default_storage.delete(name)
            cleared = True
            with archive.open(member) as src:
                saved = default_storage.save(name, File(src, name=name))
        except OSError as error:
            if cleared and default_storage.exists(name):
                default_storage.delete(name)  # what the failed write left behind
            raise CommandError(f"文件 {name} 无法写入（{error.strerror or error}），已全部撤销。") from error
        written.append(saved)
        if saved != name:
            raise CommandError(f"文件 {name} 未能以原名保存（存为 {saved}），已撤销。")

    def put_back(self, written, replaced):
        """Undo restore_file: every file written removed, every file replaced back under its own name. A file that
        cannot be put back stays where it was copied aside, and the administrator is told where."""
        for name in written:
            default_storage.delete(name)
        stuck = []
        for name, kept in replaced.items():
            try:
                if default_storage.exists(name):
                    default_storage.delete(name)
                with default_storage.open(kept) as src:
                    saved = default_storage.save(name, File(src, name=name))
                if saved != name:
                    raise OSError(f"存为了 {saved}")
                default_storage.delete(kept)
            except OSError:
                stuck.append(f"{name}（原文件在 {kept}）")
        if stuck:
            self.stderr.write("以下文件未能放回原处，请手工复制回去：" + "；".join(stuck))

    @staticmethod
    def known(label):
        try:
            apps.get_model(label)
        except LookupError:
            return False
        return True

    @staticmethod
    def empty(models):
        tables = set()
        for model in models:
            tables.add(model._meta.db_table)
            tables.update(f.remote_field.through._meta.db_table for f in model._meta.local_many_to_many)
        sql = connection.ops.sql_flush(no_style(), sorted(tables), allow_cascade=True)
        if connection.vendor == "postgresql":
            # TRUNCATE refuses tables with deferred foreign-key checks pending in this transaction.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            connection.ops.execute_sql_flush(sql)
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            connection.ops.execute_sql_flush(sql)
