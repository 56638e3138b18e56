"""Backups (issue 7): `backup -o FILE` and `restore FILE` carry every row and every uploaded file, whatever the
database: from SQLite into PostgreSQL (separate processes, as an administrator would run them), and a round trip
on the database the suite runs on. A restore refuses a database that already holds data, and a damaged file."""

import contextlib
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


@pytest.mark.multiprocess
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


# --- Text typed on the edit page, restored byte for byte into the other database (issue 13, item 5) --------

# What a user types: CRLF (a browser's textarea), spaces at both ends of the text and of lines, Word's U+000B,
# emoji and characters outside the Basic Multilingual Plane (4 bytes in UTF-8; 𠀀 and 𪚥 in names and places).
TYPED = "  首行前有空格  \r\n第二行\x0b第三行 😀👍🏽 𠀀𪚥  \r\n\r\n  缩进的一段\t含制表符  "
TYPED_POINT = "1.\t要点 😀 𠀀  "

READ_BACK = """
import json
from evaluations.models import Evaluation, FieldChange, IndicatorResult, NarrativeSection, ReviewComment
print(json.dumps({
    "sections": sorted([s.pk, s.body, s.points] for s in NarrativeSection.objects.all()),
    "results": sorted([r.pk, r.deviation_reason, r.actual_text] for r in IndicatorResult.objects.all()),
    "notes": sorted([e.pk, e.budget_note] for e in Evaluation.objects.all()),
    "history": sorted([c.pk, c.old_value, c.new_value] for c in FieldChange.objects.all()),
    "comments": sorted([c.pk, c.text] for c in ReviewComment.objects.all()),
}))
"""


def read_back():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(READ_BACK, {})  # noqa: S102 - the same text the other database's process runs
    return json.loads(out.getvalue())


@pytest.mark.multiprocess
def test_text_typed_on_the_edit_page_survives_backup_and_restore_into_the_other_database(db, settings, tmp_path):
    from django.db import connection
    from django.test import Client

    from evaluations import text
    from evaluations.models import FieldChange, IndicatorResult, NarrativeSection

    require_postgres()
    settings.MEDIA_ROOT = tmp_path / "media"
    evaluation = make_evaluation(unit=make_unit("某镇"), extra_rows=2)
    filler = make_user(access.FILLER, units=[evaluation.unit])
    client = Client()
    client.force_login(filler)
    from tests.test_edit_page import edit_form

    data = edit_form(client, evaluation)
    body = next(k for k in data if k.endswith("-body"))
    data[body] = TYPED
    data[body.replace("-body", "-points")] = [TYPED_POINT, "第二点"]
    data[next(k for k in data if k.endswith("-deviation_reason"))] = TYPED
    data["note-budget_note"] = TYPED
    assert client.post(f"/evaluations/{evaluation.pk}/edit/", data).status_code == 302
    # As documented (evaluations/text.py): line ends LF, U+000B a newline, the text's own ends stripped, the typed
    # number's tab removed; everything else as typed: spaces inside and at line ends, tabs, emoji, 4-byte characters.
    kept = text.normalise(TYPED).strip()
    assert kept == "首行前有空格  \n第二行\n第三行 😀👍🏽 𠀀𪚥  \n\n  缩进的一段\t含制表符"
    assert NarrativeSection.objects.filter(body=kept).exists()
    assert NarrativeSection.objects.filter(points=["要点 😀 𠀀", "第二点"]).exists()
    assert IndicatorResult.objects.filter(deviation_reason=kept).exists()
    assert FieldChange.objects.filter(new_value=kept).count() == 3
    # And values stored before this boundary existed, or by the shell: kept exactly as they are.
    IndicatorResult.objects.filter(pk=evaluation.results.first().pk).update(actual_text="  旧的\r\n值  ")
    FieldChange.objects.create(evaluation=evaluation, object_label="旧", field_label="旧", old_value="\r\n  a\r\n",
                               new_value=" 😀 ", version=1)
    source = read_back()
    assert [kept, None] not in source["notes"]

    archive = tmp_path / "backup.zip"
    call_command("backup", "-o", str(archive), stdout=io.StringIO())
    if connection.vendor == "sqlite":
        with scratch_database("jx_text_restore") as (_name, url):
            other = {"DATABASE_URL": url, "MEDIA_ROOT": str(tmp_path / "media-b")}
            restored = restore_elsewhere(archive, other)
    else:
        other = {"DATABASE_URL": f"sqlite:///{tmp_path / 'other.sqlite3'}", "MEDIA_ROOT": str(tmp_path / "media-b")}
        restored = restore_elsewhere(archive, other)
    assert restored == source


def restore_elsewhere(archive, env):
    manage("migrate", "-v", "0", env=env)
    manage("restore", str(archive), env=env)
    return json.loads(manage("shell", "--no-imports", "-c", READ_BACK, env=env))


def test_the_restore_checks_every_tables_content_not_only_its_row_count(data, tmp_path):
    """A backup whose data was changed and its file checksum made to match (a tool "repairing" it, an edit by
    hand) restores the same number of rows: the content checksum per table refuses it."""
    archive, edited = tmp_path / "backup.zip", tmp_path / "edited.zip"
    call_command("backup", "-o", str(archive), stdout=io.StringIO())
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(edited, "w") as dst:
        manifest = json.loads(src.read("manifest.json"))
        content = src.read("data.jsonl").replace("请修改".encode(), "请修改 ".encode())
        manifest["members"]["data.jsonl"] = {"sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
        for item in src.infolist():
            if item.filename == "data.jsonl":
                dst.writestr(item, content)
            elif item.filename == "manifest.json":
                dst.writestr(item, json.dumps(manifest, ensure_ascii=False))
            else:
                dst.writestr(item, src.read(item))
    before = dump()
    with pytest.raises(CommandError, match="恢复后的内容与备份时的校验值不符（evaluations.event"):
        call_command("restore", str(edited), "--force", stdout=io.StringIO())
    assert dump() == before
    call_command("restore", str(archive), "--force", stdout=io.StringIO())
    assert dump() == before
