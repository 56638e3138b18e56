"""佐证材料: allowed types checked by content, a size limit, safe names outside static, scoped downloads."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from evaluations import access
from evaluations.models import Evidence, Project
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


def test_a_row_of_another_evaluation_is_refused(setup):
    evaluation, client = setup
    other = make_evaluation().results.first()
    page = upload(client, evaluation, "行.pdf", PDF, result=other.pk).content.decode()
    assert "所选指标不属于这份自评，请刷新页面后重新选择。" in page
    assert not Evidence.objects.exists()


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


# --- 佐证材料 of a project and its rows (issue 16): the same checks, storage and access as the evaluation's ---------


@pytest.fixture
def project_setup(settings, tmp_path):
    from tests.factories import make_project, make_project_framework

    settings.MEDIA_ROOT = tmp_path / "media"
    make_project_framework()
    evaluation = make_evaluation()
    filler = make_user(access.FILLER, units=[evaluation.unit])
    client = Client()
    client.login(username=filler.username, password=PASSWORD)
    return evaluation, make_project(evaluation, name="老旧小区改造"), filler, client


def upload_to_project(client, project, name, content, **extra):
    return client.post(f"/evaluations/projects/{project.pk}/evidence/",
                       {"file": SimpleUploadedFile(name, content), **extra}, follow=True)


def test_a_project_rows_evidence_is_stored_listed_under_its_row_and_on_the_package(project_setup, settings):
    evaluation, project, filler, client = project_setup
    row = project.indicators.get(name="受益人数")
    response = upload_to_project(client, project, "花名册.pdf", PDF, row=row.pk)
    page = response.content.decode()
    assert "已上传佐证材料“花名册.pdf”（项目“老旧小区改造”指标“受益人数”）" in page
    item = Evidence.objects.get()
    assert (item.evaluation, item.project, item.project_row) == (evaluation, project, row)
    assert item.file.name.startswith(f"evidence/{evaluation.pk}/") and "花名册" not in item.file.name
    assert str(settings.MEDIA_ROOT) in item.file.path
    # On the project's page, in the row's cell of the 得分说明 table, and in the project's list.
    row_cell = page.split(f'id="prow-{row.pk}"')[1].split("</tr>")[0]
    assert "花名册.pdf" in row_cell
    assert "（指标“受益人数”）" in page.split('id="evidence"')[1]
    # The package's own list names the project and the row.
    package = client.get(f"/evaluations/{evaluation.pk}/").content.decode()
    assert "项目“老旧小区改造”指标“受益人数”" in package
    download = client.get(f"/evaluations/{evaluation.pk}/evidence/{item.pk}/")
    assert b"".join(download.streaming_content) == PDF


def test_a_whole_project_file_and_the_refusals_in_chinese(project_setup):
    evaluation, project, filler, client = project_setup
    assert "已上传佐证材料“合同.docx”（项目“老旧小区改造”）" in upload_to_project(
        client, project, "合同.docx", office("docx")).content.decode()
    assert Evidence.objects.get().project_row is None
    for name, content, message in [("假的.pdf", b"<html>", "的内容不是PDF"), ("病毒.exe", b"MZ", "不支持“.exe”文件")]:
        assert message in upload_to_project(client, project, name, content).content.decode()
    assert "请选择要上传的文件" in client.post(f"/evaluations/projects/{project.pk}/evidence/", follow=True).content.decode()
    assert Evidence.objects.count() == 1


def test_a_row_of_another_project_is_refused(project_setup):
    from tests.factories import make_project

    evaluation, project, filler, client = project_setup
    other_row = make_project(evaluation, name="另一个项目").indicators.first()
    page = upload_to_project(client, project, "a.pdf", PDF, row=other_row.pk).content.decode()
    assert "所选指标不属于这个项目" in page
    assert not Evidence.objects.exists()


def test_project_evidence_follows_the_package_access(project_setup, settings):
    from evaluations import workflow

    settings.EVIDENCE_MAX_SIZE = 1024
    evaluation, project, filler, client = project_setup
    assert "的上限" in upload_to_project(client, project, "大.pdf", PDF + b"0" * 2048).content.decode()
    upload_to_project(client, project, "a.pdf", PDF)
    item = Evidence.objects.get()
    stranger = Client()
    stranger.login(username=make_user(access.FILLER).username, password=PASSWORD)
    assert upload_to_project(stranger, project, "b.pdf", PDF).status_code == 404
    assert stranger.get(f"/evaluations/{evaluation.pk}/evidence/{item.pk}/").status_code == 404
    reviewer = Client()
    reviewer.login(username=make_user(access.REVIEWER, charge=evaluation.unit).username, password=PASSWORD)
    assert upload_to_project(reviewer, project, "b.pdf", PDF).status_code == 403
    assert reviewer.get(f"/evaluations/{evaluation.pk}/evidence/{item.pk}/").status_code == 200
    assert "a.pdf" in reviewer.get(f"/evaluations/projects/{project.pk}/").content.decode()
    workflow.submit(evaluation, by=filler)  # submitted: the package is no longer the unit's to change
    assert upload_to_project(client, project, "c.pdf", PDF).status_code == 403
    assert client.post(f"/evaluations/projects/{project.pk}/evidence/{item.pk}/delete/").status_code == 403
    assert Evidence.objects.count() == 1


def test_deleting_a_project_file_or_the_project_removes_the_stored_files(project_setup, django_capture_on_commit_callbacks):
    evaluation, project, filler, client = project_setup
    upload_to_project(client, project, "a.pdf", PDF)
    upload_to_project(client, project, "b.pdf", PDF, row=project.indicators.first().pk)
    first, second = Evidence.objects.order_by("pk")
    assert first.file.storage.exists(first.file.name) and second.file.storage.exists(second.file.name)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(f"/evaluations/projects/{project.pk}/evidence/{first.pk}/delete/", follow=True)
    assert "已删除佐证材料“a.pdf”" in page.content.decode()
    assert not first.file.storage.exists(first.file.name)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/evaluations/projects/{project.pk}/delete/", {"confirm": "1"})
    assert not Project.objects.filter(pk=project.pk).exists() and not Evidence.objects.exists()
    assert not second.file.storage.exists(second.file.name)
