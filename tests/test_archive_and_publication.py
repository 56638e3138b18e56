"""Archived at approval (approve, download, verify; one changed byte fails) and 信息公开 (public pages show only
what is published, with no review comments or personal data)."""

import hashlib
import io
import re

import pypdf
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from evaluations import access, workflow
from evaluations.documents import html_pdf
from evaluations.models import ArchivedDocument, Event
from tests.factories import make_evaluation, make_unit, make_user

pytestmark = pytest.mark.django_db


def approved(evaluation, settings):
    filler = make_user(access.FILLER, units=[evaluation.unit])
    reviewer = make_user(access.REVIEWER, charge=evaluation.unit)
    reviewer.first_name = "王审核"
    reviewer.save()
    workflow.submit(evaluation, by=filler)
    workflow.add_comment(evaluation, by=reviewer, text="内部审核意见：请勿公开")
    workflow.approve(evaluation, by=reviewer)
    return filler, reviewer


@pytest.mark.archive
def test_approval_archives_the_pdf_and_verify_finds_it(demo, settings, tmp_path):
    if html_pdf.pdf_unavailable_reason():
        pytest.skip(html_pdf.pdf_unavailable_reason())
    settings.MEDIA_ROOT = tmp_path / "media"
    filler, reviewer = approved(demo, settings)
    document = ArchivedDocument.objects.get(evaluation=demo)
    event = Event.objects.get(evaluation=demo, action="approve")
    assert event.document_sha256 == document.sha256 and len(document.sha256) == 64

    client = Client()
    client.login(username="filler", password="demo-filler-2024")
    page = client.get(f"/evaluations/{demo.pk}/").content.decode()
    assert "下载归档说明 PDF（审核通过版本）" in page and document.sha256 in page
    response = client.get(f"/evaluations/{demo.pk}/archive/{document.pk}.pdf")
    downloaded = tmp_path / "下载的说明.pdf"
    downloaded.write_bytes(b"".join(response.streaming_content))
    assert downloaded.read_bytes().startswith(b"%PDF")

    out = io.StringIO()
    call_command("verify_document", str(downloaded), stdout=out)
    assert f"一致：该文件就是“{demo}”" in out.getvalue() and f"流程记录 #{event.pk}" in out.getvalue()

    data = bytearray(downloaded.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered = tmp_path / "改过的说明.pdf"
    tampered.write_bytes(bytes(data))
    with pytest.raises(CommandError, match="不一致"):
        call_command("verify_document", str(tampered))


def test_approval_still_works_without_archiving(demo, settings):
    approved(demo, settings)
    assert not ArchivedDocument.objects.exists()
    assert Event.objects.get(action="approve").document_sha256 == ""


def test_only_admins_publish_and_only_approved(demo, settings):
    admin = make_user(access.ADMIN)
    with pytest.raises(workflow.WorkflowError, match="只有已通过审核的自评可以公开"):
        workflow.publish(demo, by=admin)
    filler, reviewer = approved(demo, settings)
    with pytest.raises(workflow.WorkflowError, match="只有管理员"):
        workflow.publish(demo, by=reviewer)
    workflow.publish(demo, by=admin)
    assert demo.events.filter(action="publish").count() == 1
    workflow.reopen(demo, by=admin, reason="更正")
    demo.refresh_from_db()
    assert demo.published_at is None  # a reopened evaluation leaves the public pages


def crawl(start):
    """Every page reachable from `start` without logging in, following links within /public/."""
    client, seen, queue, pages = Client(), set(), [start], {}
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        pages[url] = response
        if response.get("Content-Type", "").startswith("text/html"):
            queue += [u for u in re.findall(r'href="([^"#]+)"', response.content.decode()) if u.startswith("/public/")]
    return pages


def test_public_pages_show_only_published_evaluations_without_comments_or_names(demo, settings):
    admin = make_user(access.ADMIN)
    approved(demo, settings)
    hidden = make_evaluation(unit=make_unit("未公开镇"))
    workflow.submit(hidden, by=make_user(access.FILLER, units=[hidden.unit]))
    workflow.approve(hidden, by=make_user(access.REVIEWER, charge=hidden.unit))
    assert "暂无公开的自评" in Client().get("/public/").content.decode()
    workflow.publish(demo, by=admin)

    pages = crawl("/public/")
    assert all(r.status_code == 200 for url, r in pages.items() if not url.endswith(".pdf")), {
        u: r.status_code for u, r in pages.items()}
    html = "".join(r.content.decode() for u, r in pages.items() if r.get("Content-Type", "").startswith("text/html"))
    assert "广州市番禺区化龙镇人民政府" in html and "自评综合得分为 94.96分" in html
    assert "未公开镇" not in html
    for private in ("内部审核意见", "王审核", "filler", "reviewer", "/evaluations/", "/admin/"):
        assert private not in html, private
    for url in (f"/public/{hidden.pk}/", f"/public/{hidden.pk}/table/", f"/public/{hidden.pk}/document.pdf"):
        assert Client().get(url).status_code == 404
    assert {f"/public/{demo.pk}/", f"/public/{demo.pk}/table/", f"/public/{demo.pk}/document.pdf"} <= set(pages)


@pytest.mark.archive
def test_zip_of_a_years_approved_documents_holds_the_archived_bytes(demo, settings, tmp_path):
    import zipfile

    if html_pdf.pdf_unavailable_reason():
        pytest.skip(html_pdf.pdf_unavailable_reason())
    settings.MEDIA_ROOT = tmp_path / "media"
    approved(demo, settings)
    make_evaluation(unit=make_unit("草稿镇"))  # not approved: not in the zip
    target = tmp_path / "2024.zip"
    out = io.StringIO()
    call_command("zip_documents", "--year", "2024", "-o", str(target), stdout=out)
    assert "1 份已通过的说明" in out.getvalue()
    with zipfile.ZipFile(target) as bundle:
        name, *projects = bundle.namelist()
        assert name == "440113-HLZ_2024年广州市番禺区化龙镇人民政府自评表说明.pdf"
        assert bundle.read(name) == ArchivedDocument.objects.get().file.read()
        # The package's project tables go with it, as archived at the approval (issue 16).
        from evaluations.models import ArchivedProjectDocument

        archived = {d.project.code: d.file.read() for d in ArchivedProjectDocument.objects.select_related("project")}
        assert len(projects) == len(archived) == 3
        for project_name in projects:
            assert bundle.read(project_name) == archived[project_name.split("_")[2]]


# --- The archived PDF is exactly the approved one (issue 13, item 10) ----------------------------------------


def reopen_and_resubmit(evaluation, new_goal):
    """An admin reopens the approved evaluation, the unit changes its 绩效目标 and submits it again."""
    from evaluations import editing

    workflow.reopen(evaluation, by=make_user(access.ADMIN), reason="更正目标")
    filler = evaluation.unit.members.first()
    section = evaluation.sections.get(kind="goal")
    old, section.body = section.body, new_goal
    editing.save_content(evaluation, by=filler, expected_version=evaluation.version, edits=[(section, {"body": old})])
    evaluation.refresh_from_db()
    workflow.submit(evaluation, by=filler)


def offered_archive(evaluation):
    """What the detail page offers as 审核通过版本: its SHA-256 as shown and the bytes behind its link."""
    client = Client()
    client.login(username="filler", password="demo-filler-2024")
    page = client.get(f"/evaluations/{evaluation.pk}/").content.decode()
    if "审核通过版本" not in page:
        return None, None
    link = re.search(rf'href="(/evaluations/{evaluation.pk}/archive/\d+\.pdf)"', page).group(1)
    shown = re.search(r"SHA-256：<code[^>]*>([0-9a-f]{64})</code>", page).group(1)
    return shown, b"".join(client.get(link).streaming_content)


@pytest.mark.archive
def test_after_reopen_and_reapproval_the_offered_archive_is_the_new_one(demo, settings, tmp_path):
    if html_pdf.pdf_unavailable_reason():
        pytest.skip(html_pdf.pdf_unavailable_reason())
    settings.MEDIA_ROOT = tmp_path / "media"
    filler, reviewer = approved(demo, settings)
    first_sha, first_bytes = offered_archive(demo)
    reopen_and_resubmit(demo, "第二次审核的绩效目标：全面完成年度重点任务。")
    workflow.approve(demo, by=reviewer)

    shown, downloaded = offered_archive(demo)
    latest = demo.events.filter(action="approve").order_by("-pk").first()
    assert shown == latest.document_sha256 == hashlib.sha256(downloaded).hexdigest() != first_sha
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(downloaded)).pages)
    assert "第二次审核的绩效目标" in text.replace("\n", "")
    # The first approval's archive stays as the record of that approval.
    assert ArchivedDocument.objects.filter(evaluation=demo).count() == 2 and first_bytes != downloaded


@pytest.mark.archive
def test_approval_is_refused_in_chinese_where_no_pdf_can_be_rendered(demo, settings, monkeypatch):
    reason = "无法生成 PDF：系统未安装中文字体（如 fonts-arphic-uming）。请按 README 运行 make deps-debian。"
    monkeypatch.setattr(html_pdf, "pdf_unavailable_reason", lambda: reason)
    filler = make_user(access.FILLER, units=[demo.unit])
    reviewer = make_user(access.REVIEWER, charge=demo.unit)
    workflow.submit(demo, by=filler)
    client = Client()
    client.force_login(reviewer)
    page = client.post(f"/evaluations/{demo.pk}/actions/approve/", {}, follow=True).content.decode()
    assert "暂不能审核通过：审核通过时须归档说明 PDF" in page and "系统未安装中文字体" in page
    demo.refresh_from_db()
    assert demo.status == "submitted" and not demo.events.filter(action="approve").exists()
    assert not ArchivedDocument.objects.exists()


@pytest.mark.archive
def test_reapproval_without_a_pdf_never_offers_the_earlier_archive(demo, settings, tmp_path, monkeypatch):
    if html_pdf.pdf_unavailable_reason():
        pytest.skip(html_pdf.pdf_unavailable_reason())
    settings.MEDIA_ROOT = tmp_path / "media"
    filler, reviewer = approved(demo, settings)
    reopen_and_resubmit(demo, "改过的绩效目标，尚未归档。")
    monkeypatch.setattr(html_pdf, "pdf_unavailable_reason", lambda: "无法生成 PDF：系统未安装中文字体。")
    with pytest.raises(workflow.WorkflowError, match="暂不能审核通过"):
        workflow.approve(demo, by=reviewer)
    demo.refresh_from_db()
    assert demo.status == "submitted" and offered_archive(demo) == (None, None)


def test_an_approval_without_archiving_offers_no_earlier_archive(demo, settings, tmp_path):
    """Archiving switched off (ARCHIVE_APPROVED_DOCUMENTS=0): the earlier approval's PDF is not the approved one."""
    if html_pdf.pdf_unavailable_reason():
        pytest.skip(html_pdf.pdf_unavailable_reason())
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ARCHIVE_APPROVED_DOCUMENTS = True
    filler, reviewer = approved(demo, settings)
    assert offered_archive(demo)[0] is not None
    reopen_and_resubmit(demo, "改过的绩效目标。")
    settings.ARCHIVE_APPROVED_DOCUMENTS = False
    workflow.approve(demo, by=reviewer)
    demo.refresh_from_db()
    assert demo.status == "approved" and offered_archive(demo) == (None, None)
    client = Client()
    client.login(username="filler", password="demo-filler-2024")
    current = b"".join(client.get(f"/evaluations/{demo.pk}/document.pdf").streaming_content)
    assert current.startswith(b"%PDF") and current != ArchivedDocument.objects.get().file.read()


@pytest.mark.archive
def test_an_archive_that_storage_does_not_hold_exactly_refuses_the_approval(demo, settings, tmp_path, monkeypatch):
    if html_pdf.pdf_unavailable_reason():
        pytest.skip(html_pdf.pdf_unavailable_reason())
    settings.MEDIA_ROOT = tmp_path / "media"
    from django.core.files.base import ContentFile
    from django.core.files.storage import FileSystemStorage

    original = FileSystemStorage._save

    def truncating_save(self, name, content):
        if name.startswith("archive/"):
            content = ContentFile(content.read()[:-10])
        return original(self, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", truncating_save)
    filler = make_user(access.FILLER, units=[demo.unit])
    workflow.submit(demo, by=filler)
    with pytest.raises(workflow.WorkflowError, match="校验不一致"):
        workflow.approve(demo, by=make_user(access.REVIEWER, charge=demo.unit))
    demo.refresh_from_db()
    assert demo.status == "submitted" and not Event.objects.filter(action="approve").exists()
