"""佐证材料: allowed types checked by content, a size limit, safe names outside static, scoped downloads."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from evaluations import access
from evaluations.models import Evidence
from tests.factories import PASSWORD, make_evaluation, make_user

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def office(kind):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml" if kind == "docx" else "xl/workbook.xml", "<x/>")
    return buffer.getvalue()


@pytest.fixture
def setup(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    evaluation = make_evaluation()
    filler = make_user(access.FILLER, units=[evaluation.unit])
    client = Client()
    client.login(username=filler.username, password=PASSWORD)
    return evaluation, client


def upload(client, evaluation, name, content, **extra):
    return client.post(f"/evaluations/{evaluation.pk}/evidence/", {"file": SimpleUploadedFile(name, content), **extra}, follow=True)


@pytest.mark.parametrize("name,content", [("报告.pdf", PDF), ("照片.png", PNG), ("表.xlsx", office("xlsx")),
                                          ("说明.docx", office("docx")), ("现场.JPEG", b"\xff\xd8\xff\xe0" + b"0" * 20)])
def test_allowed_files_are_stored_under_safe_names_and_downloadable(setup, name, content, settings):
    evaluation, client = setup
    response = upload(client, evaluation, name, content)
    assert f"已上传佐证材料“{name}”" in response.content.decode()
    item = Evidence.objects.get()
    assert item.file.name.startswith(f"evidence/{evaluation.pk}/") and name not in item.file.name
    assert str(settings.MEDIA_ROOT) in item.file.path and "static" not in item.file.path
    download = client.get(f"/evaluations/{evaluation.pk}/evidence/{item.pk}/")
    assert b"".join(download.streaming_content) == content
    assert "attachment" in download["Content-Disposition"]


@pytest.mark.parametrize("name,content,message", [
    ("病毒.exe", b"MZ....", "不支持“.exe”文件"),
    ("假的.pdf", b"<html>not a pdf</html>", "的内容不是PDF"),
    ("改名.docx", office("xlsx"), "的内容不是Word（.docx）"),
    ("图片.png", PDF, "的内容不是PNG 图片"),
])
def test_files_are_checked_by_content_not_name(setup, name, content, message):
    evaluation, client = setup
    response = upload(client, evaluation, name, content)
    assert message in response.content.decode()
    assert not Evidence.objects.exists()


def test_size_limit_is_a_setting(setup, settings):
    settings.EVIDENCE_MAX_SIZE = 1024
    evaluation, client = setup
    response = upload(client, evaluation, "大文件.pdf", PDF + b"0" * 2048)
    assert "超过 0 MB 的上限" in response.content.decode() or "的上限" in response.content.decode()
    assert not Evidence.objects.exists()


def test_attach_to_a_row(setup):
    evaluation, client = setup
    row = evaluation.results.first()
    upload(client, evaluation, "行.pdf", PDF, result=row.pk)
    assert Evidence.objects.get().result == row


def test_strangers_cannot_download(setup):
    evaluation, client = setup
    upload(client, evaluation, "报告.pdf", PDF)
    item = Evidence.objects.get()
    stranger = Client()
    stranger.login(username=make_user(access.FILLER).username, password=PASSWORD)
    assert stranger.get(f"/evaluations/{evaluation.pk}/evidence/{item.pk}/").status_code == 404
    assert Client().get(f"/evaluations/{evaluation.pk}/evidence/{item.pk}/").status_code == 302


def test_reviewers_may_download_but_not_upload(setup):
    evaluation, client = setup
    upload(client, evaluation, "报告.pdf", PDF)
    reviewer = Client()
    reviewer.login(username=make_user(access.REVIEWER, charge=evaluation.unit).username, password=PASSWORD)
    assert reviewer.get(f"/evaluations/{evaluation.pk}/evidence/{Evidence.objects.get().pk}/").status_code == 200
    assert upload(reviewer, evaluation, "b.pdf", PDF).status_code == 403
