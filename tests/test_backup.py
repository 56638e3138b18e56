"""Backups (issue 7): `backup -o FILE` and `restore FILE` carry every row and every uploaded file, whatever the
database: from SQLite into PostgreSQL (separate processes, as an administrator would run them), and a round trip
on the database the suite runs on. A restore refuses a database that already holds data, and a damaged file."""

import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from evaluations import access, evidence, workflow
from evaluations.models import Evaluation, Evidence, Unit
from ops import backup as backup_format
from tests.factories import make_evaluation, make_unit, make_user
from tests.machine import project_process, require_postgres, scratch_database

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40


def rows(dump_text):
    """Rows from a dumpdata JSON, comparable across databases (JSON fields compared as data, not as text)."""
    return sorted((r["model"], json.dumps(r.get("pk")), json.dumps(r["fields"], sort_keys=True))
                  for r in json.loads(dump_text))


def file_digests(root):
    root = Path(root)
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}


def labels():
    return [backup_format.label(m) for m in backup_format.backed_up_models()]


def dump():
    out = io.StringIO()
    call_command("dumpdata", *labels(), natural_foreign=True, use_base_manager=True, format="xml", stdout=out)
    return out.getvalue()


# --- The round trip on the database the suite runs on ----------------------------------------------------


@pytest.fixture
def data(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    district = make_unit("某区")
    evaluation = make_evaluation(unit=make_unit("某镇", parent=district), extra_rows=4)
    filler = make_user(access.FILLER, units=[evaluation.unit])
    reviewer = make_user(access.REVIEWER, charge=district)
    evidence.attach(evaluation, SimpleUploadedFile("佐证.pdf", PDF), by=filler)
    workflow.submit(evaluation, by=filler)
    workflow.add_comment(evaluation, by=reviewer, text="请补充<script>说明</script>")
    workflow.return_for_changes(evaluation, by=reviewer, reason="请修改")
    return evaluation


def test_round_trip_on_the_current_database(data, settings, tmp_path):
    archive = tmp_path / "backup.zip"
    before, files_before = dump(), file_digests(settings.MEDIA_ROOT)
    call_command("backup", "-o", str(archive), stdout=io.StringIO())
    # A non-empty database is refused, untouched.
    with pytest.raises(CommandError, match="目标数据库已有数据，未做任何修改"):
        call_command("restore", str(archive), stdout=io.StringIO())
    # Damage the data and lose the files, then restore over them.
    Unit.objects.filter(pk=data.unit_id).update(name="改坏了")
    Evaluation.objects.update(budget_note="改坏了")
    make_unit("多出来的单位")
    for path in Path(settings.MEDIA_ROOT).rglob("*"):
        if path.is_file():
            path.unlink()
    call_command("restore", str(archive), "--force", stdout=io.StringIO())
    assert dump() == before  # XML: every field, times to the microsecond
    assert file_digests(settings.MEDIA_ROOT) == files_before
    assert Evidence.objects.get().file.read() == PDF


def test_manifest_lists_counts_and_checksums(data, tmp_path):
    archive = tmp_path / "backup.zip"
    call_command("backup", "-o", str(archive), stdout=io.StringIO())
    with zipfile.ZipFile(archive) as z:
        manifest = json.loads(z.read("manifest.json"))
        assert manifest["counts"]["evaluations.evaluation"] == 1
        assert manifest["counts"]["evaluations.evidence"] == 1
        name = Evidence.objects.get().file.name
        assert manifest["members"][f"files/{name}"]["sha256"] == hashlib.sha256(PDF).hexdigest()
        assert manifest["members"]["data.jsonl"]["sha256"] == hashlib.sha256(z.read("data.jsonl")).hexdigest()
    assert "sessions.session" not in manifest["counts"]


def test_damaged_backup_is_refused_before_anything_is_written(data, tmp_path):
    archive, damaged = tmp_path / "backup.zip", tmp_path / "damaged.zip"
    call_command("backup", "-o", str(archive), stdout=io.StringIO())
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(damaged, "w") as dst:
        for item in src.infolist():
            content = src.read(item)
            dst.writestr(item, content.replace(b"\xe6\x9f\x90\xe9\x95\x87", b"\xe5\x88\xab\xe9\x95\x87")
                         if item.filename == "data.jsonl" else content)
    before = dump()
    with pytest.raises(CommandError, match="data.jsonl 的校验值不符"):
        call_command("restore", str(damaged), "--force", stdout=io.StringIO())
    assert dump() == before


def test_backup_damaged_on_disk_is_refused_in_chinese(data, tmp_path):
    archive = tmp_path / "backup.zip"
    call_command("backup", "-o", str(archive), stdout=io.StringIO())
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo("data.jsonl")
    raw = bytearray(archive.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)  # the compressed bytes
    raw[start + 10:start + 40] = bytes(30)  # a few zeroed sectors, as a bad disk or a cut download leaves
    archive.write_bytes(bytes(raw))
    before = dump()
    with pytest.raises(CommandError, match="备份文件已损坏"):
        call_command("restore", str(archive), "--force", stdout=io.StringIO())
    assert dump() == before


def test_a_restore_failing_on_a_file_leaves_rows_and_files_as_they_were(data, settings, tmp_path, monkeypatch):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    filler = data.unit.members.get()
    evidence.attach(data, SimpleUploadedFile("第二份.pdf", PDF + b"second"), by=filler)
    archive = tmp_path / "backup.zip"
    call_command("backup", "-o", str(archive), stdout=io.StringIO())
    with zipfile.ZipFile(archive) as z:
        first, second = [m.removeprefix("files/") for m in json.loads(z.read("manifest.json"))["members"]
                         if m.startswith("files/")]
    # Since the backup: rows changed, the first file changed on disk (the restore replaces it), the second lost.
    media = Path(settings.MEDIA_ROOT)
    Evaluation.objects.update(budget_note="备份之后的修改")
    (media / first).write_bytes(b"changed after the backup")
    (media / second).unlink()
    before, files_before = dump(), file_digests(media)

    real_save = default_storage.save

    def save(name, content, *args, **kwargs):
        if name == second:  # the disk fills up half-way through the second file
            real_save(name, ContentFile(b"half a file"))
            raise OSError(28, "No space left on device")
        return real_save(name, content, *args, **kwargs)

    monkeypatch.setattr(default_storage, "save", save)
    with pytest.raises(CommandError, match="无法写入.*已全部撤销"):
        call_command("restore", str(archive), "--force", stdout=io.StringIO())
    monkeypatch.undo()
    assert dump() == before
    # The first file, already replaced, is put back; no half file, nothing left aside.
    assert file_digests(media) == files_before

    call_command("restore", str(archive), "--force", stdout=io.StringIO())  # and with room, it restores
    assert Evaluation.objects.get().budget_note != "备份之后的修改"
    assert sorted(e.file.read() for e in Evidence.objects.all()) == sorted([PDF, PDF + b"second"])
    assert sorted(file_digests(media)) == sorted([first, second])


def test_backup_never_overwrites_a_file(data, tmp_path):
    (tmp_path / "old.zip").write_bytes(b"keep")
    with pytest.raises(CommandError, match="已存在"):
        call_command("backup", "-o", str(tmp_path / "old.zip"), stdout=io.StringIO())
    assert (tmp_path / "old.zip").read_bytes() == b"keep"


# --- From SQLite into PostgreSQL, as separate processes ---------------------------------------------------


def manage(*args, env):
    result = project_process([sys.executable, "manage.py", *args], {"SECRET_KEY": "backup-round-trip", **env},
                             timeout=300)
    assert result.returncode == 0, f"manage.py {' '.join(args)}: {result.stderr[-3000:]}"
    return result.stdout


SEED = """
from django.core.files.uploadedfile import SimpleUploadedFile
from evaluations import access, evidence, workflow
from tests.factories import make_evaluation, make_unit, make_user
district = make_unit("某区")
for n in range(3):
    e = make_evaluation(unit=make_unit(f"镇{n}", parent=district), extra_rows=5)
    filler = make_user(access.FILLER, units=[e.unit])
    evidence.attach(e, SimpleUploadedFile(f"佐证{n}.pdf", b"%PDF-1.4 " + bytes(range(256)) * (n + 1)), by=filler)
    evidence.attach(e, SimpleUploadedFile("照片.png", b"\\x89PNG\\r\\n\\x1a\\n" + bytes([n]) * 500), by=filler)
    workflow.submit(e, by=filler)
reviewer = make_user(access.REVIEWER, charge=district)
workflow.add_comment(e, by=reviewer, text="请补充说明")
workflow.return_for_changes(e, by=reviewer, reason="请修改")
"""


def test_backup_from_sqlite_restores_into_postgresql_identically(tmp_path):
    require_postgres()
    with scratch_database("jx_restore") as (_name, url):
        sqlite = {"DATABASE_URL": f"sqlite:///{tmp_path / 'source.sqlite3'}", "MEDIA_ROOT": str(tmp_path / "media-a")}
        postgres = {"DATABASE_URL": url, "MEDIA_ROOT": str(tmp_path / "media-b")}
        manage("migrate", "-v", "0", env=sqlite)
        manage("load_demo", "--force", env=sqlite)
        manage("shell", "-c", SEED, env=sqlite)
        manage("backup", "-o", str(tmp_path / "b.zip"), env=sqlite)
        manage("migrate", "-v", "0", env=postgres)
        manage("restore", str(tmp_path / "b.zip"), env=postgres)
        # JSON, compared as data: jsonb reorders keys (XML would compare the text); times to the millisecond.
        dump_args = ["dumpdata", *labels(), "--natural-foreign", "--all"]
        source, restored = rows(manage(*dump_args, env=sqlite)), rows(manage(*dump_args, env=postgres))
        assert len(source) > 100
        assert restored == source
        files = file_digests(tmp_path / "media-a")
        assert len(files) == 6
        assert file_digests(tmp_path / "media-b") == files
