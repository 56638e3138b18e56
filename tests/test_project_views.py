"""The project pages: the package's list, a project's table, its edit page with live scores, comments on its rows,
the documents and the import; scoped like every page (404 not visible, 403 not allowed), queries not growing."""

import io
import re
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from evaluations import access, workflow
from evaluations.models import Evaluation, EvaluationStatus, FieldChange, Project, ProjectIndicator, ReviewComment
from tests.factories import PASSWORD, make_evaluation, make_project, make_project_framework, make_user
from tests.forms import form_data

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def package(db):
    make_project_framework()
    evaluation = make_evaluation()
    filler = make_user(access.FILLER, units=[evaluation.unit])
    return evaluation, filler


def text_of(response):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


# --- the list ---------------------------------------------------------------------------------------


def test_list_shows_each_project_with_its_rate_total_and_grade(demo):
    filler = make_user(access.FILLER, units=[demo.unit])
    response = client_for(filler).get(f"/evaluations/{demo.pk}/projects/")
    page = text_of(response)
    assert "化龙镇老旧小区微改造项目 演示数据 1,700.00 85.00% 98.50 优 草稿" in page
    assert "化龙镇河涌水环境综合整治项目 演示数据 690.00 98.26% 96.08 优 草稿 已完整" in page
    assert "添加项目" in page and "从绩效目标申报表导入" in page


def test_stranger_gets_404_and_reviewer_sees_without_editing(demo):
    stranger = make_user(access.FILLER)
    assert client_for(stranger).get(f"/evaluations/{demo.pk}/projects/").status_code == 404
    project = demo.projects.first()
    assert client_for(stranger).get(f"/evaluations/projects/{project.pk}/").status_code == 404
    assert client_for(stranger).get(f"/evaluations/projects/{project.pk}/document.docx").status_code == 404
    reviewer = make_user(access.REVIEWER, charge=demo.unit)
    page = client_for(reviewer).get(f"/evaluations/{demo.pk}/projects/").content.decode()
    assert "化龙镇老旧小区微改造项目" in page and "添加项目" not in page
    assert client_for(reviewer).get(f"/evaluations/projects/{project.pk}/edit/").status_code == 403
    assert client_for(reviewer).post(f"/evaluations/{demo.pk}/projects/add/", {"name": "x"}).status_code == 403


def test_list_takes_the_same_queries_for_3_or_300_projects(package):
    evaluation, filler = package
    client = client_for(filler)
    for _ in range(3):
        make_project(evaluation)
    client.get(f"/evaluations/{evaluation.pk}/projects/")
    with CaptureQueriesContext(connection) as few:
        client.get(f"/evaluations/{evaluation.pk}/projects/")
    for _ in range(297):
        make_project(evaluation)
    with CaptureQueriesContext(connection) as many:
        response = client.get(f"/evaluations/{evaluation.pk}/projects/")
    assert response.content.decode().count('class="text-end project-total"') == 300
    assert len(few) == len(many)


# --- adding, editing ----------------------------------------------------------------------------------


def test_adding_a_project_opens_its_edit_page(package):
    evaluation, filler = package
    client = client_for(filler)
    response = client.post(f"/evaluations/{evaluation.pk}/projects/add/", {
        "name": "道路硬化工程", "code": "DL-1", "supervising_department": "主管部门", "implementing_unit": "实施单位",
    })
    project = Project.objects.get(name="道路硬化工程")
    assert response["Location"] == f"/evaluations/projects/{project.pk}/edit/"
    assert FieldChange.objects.filter(evaluation=evaluation, field_label="新增项目", new_value="道路硬化工程").exists()
    again = client.post(f"/evaluations/{evaluation.pk}/projects/add/", {
        "name": "道路硬化工程", "supervising_department": "a", "implementing_unit": "b",
    }, follow=True)
    assert "本单位本年度已有项目“道路硬化工程”。" in again.content.decode()
    assert Project.objects.filter(name="道路硬化工程").count() == 1


def edit_data(client, project):
    return form_data(client.get(f"/evaluations/projects/{project.pk}/edit/").content.decode(), form_id="project-form")


def field_of_row(data, row_name, suffix):
    prefix = next(k[: -len("-name")] for k, v in data.items() if k.endswith("-name") and v == row_name)
    return f"{prefix}-{suffix}"


def test_saving_the_edit_page_rescores_and_records_history(package):
    evaluation, filler = package
    project = make_project(evaluation)
    client = client_for(filler)
    data = edit_data(client, project)
    data[field_of_row(data, "完成数量", "actual_value")] = "8"
    data["project-fiscal_executed"] = "80"
    data["project-execution_note"] = "部分资金年底到位。"
    response = client.post(f"/evaluations/projects/{project.pk}/edit/", data)
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.execution_score, project.total_score) == (D("8.00"), D("88.00"))
    labels = set(FieldChange.objects.filter(evaluation=evaluation).values_list("object_label", "field_label"))
    assert (f"项目“{project.name}”指标“完成数量”", "实际完成值") in labels
    assert (f"项目“{project.name}”", "执行率偏低原因") in labels


def test_adding_and_removing_rows_on_the_edit_page(package):
    evaluation, filler = package
    project = make_project(evaluation)
    client = client_for(filler)
    data = edit_data(client, project)
    data[field_of_row(data, "受益人数", "DELETE")] = "on"
    category = project.project_framework.template.get(name="经济效益指标")
    data.update({"rows-3-category": str(category.pk), "rows-3-name": "带动增收", "rows-3-comparison": ">=",
                 "rows-3-target_value": "10", "rows-3-actual_value": "10", "rows-3-weight": "30",
                 "rows-3-method": "rule", "rows-3-unit_of_measure": "万元"})
    assert client.post(f"/evaluations/projects/{project.pk}/edit/", data).status_code == 302
    assert sorted(project.indicators.values_list("name", flat=True)) == ["完成数量", "带动增收", "满意度"]
    project.refresh_from_db()
    assert project.total_score == D("100.00")


def test_a_bad_value_keeps_everything_unsaved_and_says_what_to_fix(package):
    evaluation, filler = package
    project = make_project(evaluation)
    client = client_for(filler)
    data = edit_data(client, project)
    data[field_of_row(data, "完成数量", "method")] = "qualitative"
    data[field_of_row(data, "完成数量", "band")] = "partly"
    data[field_of_row(data, "完成数量", "score")] = "49"
    data["project-fiscal_adjusted"] = "很多"
    response = client.post(f"/evaluations/projects/{project.pk}/edit/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "“部分达成”的得分应在 30 到 40 分之间，现为 49 分。" in page
    assert "输入一个数字。" in page
    project.refresh_from_db()
    assert project.total_score == D("100.00") and project.version == 1


@pytest.fixture
def two_on_one_project(package):
    """Two fillers of the unit with the same project's edit page open (issue 13: merged as the evaluation's is)."""
    evaluation, filler = package
    project = make_project(evaluation)
    first, second = client_for(filler), client_for(make_user(access.FILLER, units=[evaluation.unit]))
    return project, first, edit_data(first, project), second, edit_data(second, project)


def edit_url(project):
    return f"/evaluations/projects/{project.pk}/edit/"


def test_two_people_changing_different_fields_of_a_project_both_keep_their_change(two_on_one_project):
    project, first, mine, second, theirs = two_on_one_project
    mine["project-goal_actual"] = "第一人写的完成情况"
    assert first.post(edit_url(project), mine).status_code == 302
    theirs[field_of_row(theirs, "完成数量", "deviation_reason")] = "第二人写的原因"
    response = second.post(edit_url(project), theirs, follow=True)
    assert "打开页面后其他人保存的修改也已保留。" in response.content.decode()
    project = Project.objects.get(pk=project.pk)
    assert project.goal_actual == "第一人写的完成情况"
    assert project.indicators.get(name="完成数量").deviation_reason == "第二人写的原因"
    assert FieldChange.objects.filter(new_value="第一人写的完成情况").exists()
    assert FieldChange.objects.filter(new_value="第二人写的原因").exists()


def test_a_project_field_both_changed_is_refused_with_both_values_until_the_user_picks_mine(two_on_one_project):
    project, first, mine, second, theirs = two_on_one_project
    mine["project-goal_actual"] = "第一人写的完成情况"
    assert first.post(edit_url(project), mine).status_code == 302
    theirs["project-goal_actual"] = "第二人写的完成情况"
    theirs[field_of_row(theirs, "完成数量", "deviation_reason")] = "第二人写的原因"
    for _click in range(2):  # saving again as the page invites never overwrites
        response = second.post(edit_url(project), theirs)
        html = response.content.decode()
        assert response.status_code == 409
        assert "其他人修改了同样的 1 处内容" in html
        assert re.search(r'conflict-mine">第二人写的完成情况<.*conflict-theirs">第一人写的完成情况<', html, re.S)
        assert re.search(r'<textarea[^>]*name="project-goal_actual"[^>]*>\s*第二人写的完成情况</textarea>', html)  # kept
        assert 'form="project-form" name="resolve-' in html
        theirs["base"] = re.search(r'name="base" value="([^"]+)"', html).group(1)
        stored = Project.objects.get(pk=project.pk)
        assert stored.goal_actual == "第一人写的完成情况"
        assert stored.indicators.get(name="完成数量").deviation_reason == ""
    key = re.search(r'name="resolve-([^"]+)" value="mine"', html).group(1)
    assert second.post(edit_url(project), dict(theirs, **{f"resolve-{key}": "mine"})).status_code == 302
    stored = Project.objects.get(pk=project.pk)
    assert stored.goal_actual == "第二人写的完成情况"
    assert stored.indicators.get(name="完成数量").deviation_reason == "第二人写的原因"


def test_picking_the_other_persons_project_value_keeps_it_and_saves_the_rest(two_on_one_project):
    project, first, mine, second, theirs = two_on_one_project
    mine[field_of_row(mine, "受益人数", "actual_value")] = "80"
    assert first.post(edit_url(project), mine).status_code == 302
    theirs[field_of_row(theirs, "受益人数", "actual_value")] = "120"
    theirs["project-goal_expected"] = "第二人写的目标"
    html = second.post(edit_url(project), theirs).content.decode()
    key = re.search(r'name="resolve-([^"]+)" value="theirs"', html).group(1)
    assert second.post(edit_url(project), dict(theirs, **{f"resolve-{key}": "theirs"})).status_code == 302
    stored = Project.objects.get(pk=project.pk)
    assert stored.indicators.get(name="受益人数").actual_value == D("80")
    assert stored.goal_expected == "第二人写的目标"


def test_a_project_page_without_its_token_is_refused_not_saved(package):
    evaluation, filler = package
    project = make_project(evaluation)
    client = client_for(filler)
    data = edit_data(client, project)
    data.pop("base")
    data["project-goal_actual"] = "改过的内容"
    response = client.post(edit_url(project), data)
    assert response.status_code == 409
    assert "页面已过期或不完整" in response.content.decode()
    assert Project.objects.get(pk=project.pk).goal_actual == "实际完成情况"


def test_preview_shows_live_scores_without_saving(package):
    evaluation, filler = package
    project = make_project(evaluation)
    client = client_for(filler)
    data = edit_data(client, project)
    data[field_of_row(data, "完成数量", "actual_value")] = "5"
    response = client.post(f"/evaluations/projects/{project.pk}/edit/preview/", data)
    page = response.content.decode()
    assert re.search(r'id="live-project-total" hx-swap-oob="true">75.00<', page)
    assert "完成值 5，目标 ≥10，完成率 50.00%，按比例得 25 分" in page
    assert "失分 25 分，请填写偏差原因分析及改进措施" in page
    assert Project.objects.get(pk=project.pk).total_score == D("100.00")


def test_edit_page_queries_do_not_grow_with_rows(package):
    evaluation, filler = package
    client = client_for(filler)
    small = make_project(evaluation)
    rows = [("产出指标", "数量指标", f"指标{i}", ">=", D("10"), D("10"), D("2")) for i in range(25)]
    rows += [("效益指标", "社会效益指标", "受益", ">=", D("1"), D("1"), D("30")),
             ("满意度指标", "服务对象满意度指标", "满意度", ">=", D("90"), D("95"), D("10"))]
    large = make_project(evaluation, rows=rows)
    for page in ("", "edit/"):
        client.get(f"/evaluations/projects/{small.pk}/{page}")
        with CaptureQueriesContext(connection) as few:
            client.get(f"/evaluations/projects/{small.pk}/{page}")
        with CaptureQueriesContext(connection) as many:
            client.get(f"/evaluations/projects/{large.pk}/{page}")
        assert len(few) == len(many), page


# --- the package: checklist, comments, workflow -------------------------------------------------------------


def test_the_package_checklist_names_the_project_and_blocks_submission(package):
    evaluation, filler = package
    project = make_project(evaluation, rows=[
        ("产出指标", "数量指标", "完成数量", ">=", D("10"), None, D("50")),
        ("效益指标", "社会效益指标", "受益人数", ">=", D("100"), D("100"), D("30")),
        ("满意度指标", "服务对象满意度指标", "满意度", ">=", D("90"), D("95"), D("10")),
    ])
    client = client_for(filler)
    page = client.get(f"/evaluations/{evaluation.pk}/").content.decode()
    assert f"/evaluations/projects/{project.pk}/edit/#prow-" in page
    assert f"项目“{project.name}”：指标“完成数量”尚未得分" in page
    evaluation.refresh_from_db()
    with pytest.raises(workflow.WorkflowError) as refused:
        workflow.submit(evaluation, by=filler)
    assert any("完成数量" in p.message for p in refused.value.problems)


def test_reviewer_comments_on_a_project_row_and_the_package_goes_back(package):
    evaluation, filler = package
    project = make_project(evaluation)
    workflow.submit(Evaluation.objects.get(pk=evaluation.pk), by=filler)
    reviewer = make_user(access.REVIEWER, charge=evaluation.unit)
    client = client_for(reviewer)
    page = client.get(f"/evaluations/projects/{project.pk}/").content.decode()
    assert 'id="project-comment-form"' in page
    row = project.indicators.get(name="受益人数")
    response = client.post(f"/evaluations/projects/{project.pk}/comments/", {"row": row.pk, "text": "受益人数请附名册。"})
    assert response.status_code == 302
    comment = ReviewComment.objects.get()
    assert comment.target_label == f"项目“{project.name}”指标“受益人数”"
    assert "受益人数请附名册。" in client.get(f"/evaluations/{evaluation.pk}/").content.decode()
    other = make_project(make_evaluation(), name="别家项目")
    stray = client.post(f"/evaluations/projects/{project.pk}/comments/", {"row": other.indicators.first().pk, "text": "x"})
    assert stray.status_code == 302 and ReviewComment.objects.count() == 1


# --- documents and import ----------------------------------------------------------------------------


def test_documents_of_a_project_download(demo):
    filler = make_user(access.FILLER, units=[demo.unit])
    client = client_for(filler)
    project = demo.projects.get(code="HLZ-2024-003")
    html = client.get(f"/evaluations/projects/{project.pk}/document/").content.decode()
    assert "项目支出绩效自评表" in html and "96.08" in html
    docx = client.get(f"/evaluations/projects/{project.pk}/document.docx")
    assert docx["Content-Type"].startswith("application/vnd.openxmlformats")
    xlsx = client.get(f"/evaluations/projects/{project.pk}/document.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert client.get(f"/evaluations/{demo.pk}/projects.xlsx").status_code == 200


def test_import_page_previews_then_confirms(demo):
    from evaluations.spreadsheets import project_official

    filler = make_user(access.FILLER, units=[demo.unit])
    client = client_for(filler)
    project = Project.objects.with_table_data().get(code="HLZ-2024-003")
    row = project.indicators.get(name="河涌清淤长度")
    row.actual_value = D("8")
    row.deviation_reason = ""
    ProjectIndicator.objects.filter(pk=row.pk).update(actual_value=D("8"))
    project = Project.objects.with_table_data().get(code="HLZ-2024-003")
    data = project_official.write_project_workbook(project)
    upload = io.BytesIO(data)
    upload.name = "项目.xlsx"
    preview = client.post(f"/evaluations/{demo.pk}/projects/import/", {"file": upload})
    page = preview.content.decode()
    assert "预览：1 个项目（新增 0 个，更新 1 个），共 7 个三级指标。" in page
    assert Project.objects.get(code="HLZ-2024-003").total_score == D("96.08")  # nothing written yet
    token = re.search(r'name="token" value="(\w+)"', page).group(1)
    done = client.post(f"/evaluations/{demo.pk}/projects/import/", {"token": token})
    assert done.status_code == 302
    assert Project.objects.get(code="HLZ-2024-003").total_score == D("98.33")


def test_import_is_refused_for_a_submitted_package(package):
    evaluation, filler = package
    Evaluation.objects.filter(pk=evaluation.pk).update(status=EvaluationStatus.SUBMITTED)
    assert client_for(filler).get(f"/evaluations/{evaluation.pk}/projects/import/").status_code == 403


# --- overview and public pages ------------------------------------------------------------------------------


def test_overview_counts_projects_in_the_same_queries_for_3_or_300(package):
    evaluation, _filler = package
    admin = make_user(access.ADMIN)
    client = client_for(admin)
    for _ in range(3):
        make_project(evaluation)
    client.get("/evaluations/overview/?year=2024")
    with CaptureQueriesContext(connection) as few:
        page = client.get("/evaluations/overview/?year=2024").content.decode()
    assert f'/evaluations/{evaluation.pk}/projects/">3 个' in page
    for _ in range(297):
        make_project(evaluation)
    with CaptureQueriesContext(connection) as many:
        page = client.get("/evaluations/overview/?year=2024").content.decode()
    assert f'/evaluations/{evaluation.pk}/projects/">300 个' in page
    assert len(few) == len(many)


def test_public_pages_show_the_projects_of_published_packages_only(demo):
    from django.utils import timezone

    anonymous = Client()
    project = demo.projects.get(code="HLZ-2024-002")
    assert anonymous.get(f"/public/{demo.pk}/projects/").status_code == 404
    assert anonymous.get(f"/public/projects/{project.pk}/").status_code == 404
    Evaluation.objects.filter(pk=demo.pk).update(status=EvaluationStatus.APPROVED, published_at=timezone.now())
    assert "3 个项目" in anonymous.get("/public/").content.decode()
    listing = text_of(anonymous.get(f"/public/{demo.pk}/projects/"))
    assert "化龙镇老旧小区微改造项目 98.50 优" in listing
    sheet = anonymous.get(f"/public/projects/{project.pk}/").content.decode()
    assert "项目支出绩效自评表" in sheet and "98.50" in sheet


def test_public_projects_and_documents_take_the_same_queries_as_data_grows(package):
    from django.utils import timezone

    evaluation, filler = package
    Evaluation.objects.filter(pk=evaluation.pk).update(status=EvaluationStatus.APPROVED, published_at=timezone.now())
    anonymous, client = Client(), client_for(filler)
    first = make_project(evaluation)
    for _ in range(2):
        make_project(evaluation)
    rows = [("产出指标", "数量指标", f"指标{i}", ">=", D("10"), D("10"), D("2")) for i in range(25)]
    rows += [("效益指标", "社会效益指标", "受益", ">=", D("1"), D("1"), D("30")),
             ("满意度指标", "服务对象满意度指标", "满意度", ">=", D("90"), D("95"), D("10"))]
    large = make_project(evaluation, rows=rows)

    def queries(c, url):
        c.get(url)
        with CaptureQueriesContext(connection) as ctx:
            assert c.get(url).status_code == 200
        return len(ctx)

    few = queries(anonymous, f"/public/{evaluation.pk}/projects/")
    for _ in range(30):
        make_project(evaluation)
    assert queries(anonymous, f"/public/{evaluation.pk}/projects/") == few
    for page in ("/public/projects/{}/", "/evaluations/projects/{}/document/"):
        c = anonymous if page.startswith("/public") else client
        assert queries(c, page.format(first.pk)) == queries(c, page.format(large.pk)), page
