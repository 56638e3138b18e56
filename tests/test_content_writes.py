"""One home for content writes (issue 13, items 3 and 6): every path records who changed what and through which path,
rows keep their ids, and a page saved after someone else saved merges instead of overwriting."""

import io
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from openpyxl import load_workbook

from evaluations import access, editing, text, workflow
from evaluations.models import (
    ContentChannel,
    Evaluation,
    Evidence,
    FieldChange,
    IndicatorResult,
    ReviewComment,
)
from evaluations.spreadsheets import official
from tests.factories import PASSWORD, make_evaluation, make_framework, make_user
from tests.forms import form_data

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def login(user):
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def edit_url(evaluation):
    return f"/evaluations/{evaluation.pk}/edit/"


def page(client, evaluation):
    return form_data(client.get(edit_url(evaluation)).content.decode(), "edit-form")


def row_prefix(data, field, value):
    return next(k[: -len(f"-{field}")] for k in data if k.endswith(f"-{field}") and data[k] == value)


def fresh(evaluation):
    return Evaluation.objects.get(pk=evaluation.pk)


@pytest.fixture
def two_fillers():
    evaluation = make_evaluation(extra_rows=2)
    first, second = (make_user(access.FILLER, units=[evaluation.unit]) for _ in range(2))
    return evaluation, login(first), login(second)


# --- Conflicts never overwrite (item 3) ---------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_stale_page_keeps_the_other_persons_change_and_applies_its_own(two_fillers, htmx):
    evaluation, first, second = two_fillers
    stale = page(second, evaluation)
    data = page(first, evaluation)
    data["note-budget_note"] = "第一人写的说明"
    assert first.post(edit_url(evaluation), data).status_code == 302

    reason = row_prefix(stale, "row_id", str(evaluation.results.get(name="产出指标1").pk)) + "-deviation_reason"
    stale[reason] = "第二人写的原因"
    response = second.post(edit_url(evaluation), stale, **(HTMX if htmx else {}))
    assert response.status_code == (204 if htmx else 302)  # saved; the page is loaded again with both changes
    evaluation = fresh(evaluation)
    assert evaluation.budget_note == "第一人写的说明"
    assert evaluation.results.get(name="产出指标1").deviation_reason == "第二人写的原因"
    assert FieldChange.objects.filter(evaluation=evaluation, new_value="第一人写的说明").exists()


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_field_both_changed_is_refused_until_the_user_picks_and_a_second_click_does_not_overwrite(two_fillers, htmx):
    evaluation, first, second = two_fillers
    headers = HTMX if htmx else {}
    stale = page(second, evaluation)
    data = page(first, evaluation)
    data["note-budget_note"] = "第一人写的说明"
    assert first.post(edit_url(evaluation), data).status_code == 302

    stale["note-budget_note"] = "第二人写的说明"
    reason = row_prefix(stale, "row_id", str(evaluation.results.get(name="产出指标1").pk)) + "-deviation_reason"
    stale[reason] = "第二人写的原因"
    for _click in range(2):  # the page invites saving again: that alone never overwrites
        response = second.post(edit_url(evaluation), stale, **headers)
        html = response.content.decode()
        assert response.status_code == 409
        assert "其他人修改了同样的 1 处内容" in html
        assert re.search(r'conflict-mine">第二人写的说明<.*conflict-theirs">第一人写的说明<', html, re.S)
        stale["base"] = re.search(r'name="base" value="([^"]+)"', html).group(1)  # what the page now carries
        assert fresh(evaluation).budget_note == "第一人写的说明"
        assert fresh(evaluation).results.get(name="产出指标1").deviation_reason == ""

    key = re.search(r'name="resolve-([^"]+)" value="mine"', html).group(1)
    response = second.post(edit_url(evaluation), dict(stale, **{f"resolve-{key}": "mine"}), **headers)
    assert response.status_code in (204, 302)
    evaluation = fresh(evaluation)
    assert evaluation.budget_note == "第二人写的说明"
    assert evaluation.results.get(name="产出指标1").deviation_reason == "第二人写的原因"


def test_picking_the_other_persons_value_keeps_it_and_saves_the_rest(two_fillers):
    evaluation, first, second = two_fillers
    stale = page(second, evaluation)
    data = page(first, evaluation)
    data["note-budget_note"] = "第一人写的说明"
    first.post(edit_url(evaluation), data)
    stale["note-budget_note"] = "第二人写的说明"
    stale[row_prefix(stale, "row_id", str(evaluation.results.get(name="产出指标1").pk)) + "-deviation_reason"] = "第二人写的原因"
    html = second.post(edit_url(evaluation), stale).content.decode()
    key = re.search(r'name="resolve-([^"]+)" value="theirs"', html).group(1)
    assert second.post(edit_url(evaluation), dict(stale, **{f"resolve-{key}": "theirs"})).status_code == 302
    evaluation = fresh(evaluation)
    assert evaluation.budget_note == "第一人写的说明"
    assert evaluation.results.get(name="产出指标1").deviation_reason == "第二人写的原因"


def test_a_page_without_its_token_is_refused_not_saved(two_fillers):
    evaluation, first, _second = two_fillers
    data = page(first, evaluation)
    data.pop("base")
    data["note-budget_note"] = "没有令牌"
    assert first.post(edit_url(evaluation), data).status_code == 409
    assert fresh(evaluation).budget_note == ""


# --- Every path through editing.save_content, with its channel (item 6) ------------------------------


def channels(evaluation):
    return set(FieldChange.objects.filter(evaluation=evaluation).values_list("channel", flat=True))


def test_the_edit_page_records_its_channel(two_fillers):
    evaluation, first, _second = two_fillers
    data = page(first, evaluation)
    data["note-budget_note"] = "页面填写"
    first.post(edit_url(evaluation), data)
    assert channels(evaluation) == {ContentChannel.EDIT_PAGE}
    history = login(make_user(access.ADMIN)).get(f"/evaluations/{evaluation.pk}/history/").content.decode()
    assert "填写页面" in history


def test_the_admin_goes_through_save_content(two_fillers):
    evaluation, _first, _second = two_fillers
    admin = make_user(access.ADMIN)
    client = login(admin)
    url = f"/admin/evaluations/evaluation/{evaluation.pk}/change/"
    data = form_data(client.get(url).content.decode(), "evaluation_form")
    data["budget_note"] = "管理员改的说明"
    row = next(k for k, v in data.items() if k.endswith("-name") and v == "产出指标1")
    data[row.replace("-name", "-actual_value")] = "5"
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    changes = FieldChange.objects.filter(evaluation=evaluation)
    assert {(c.field_label, c.new_value, c.channel, c.changed_by_id) for c in changes} == {
        ("预算执行情况说明", "管理员改的说明", ContentChannel.ADMIN, admin.pk),
        ("实际完成值", "5", ContentChannel.ADMIN, admin.pk),
    }
    evaluation = fresh(evaluation)
    assert evaluation.version == 2 and evaluation.results.get(name="产出指标1").score == Decimal("7.50")


def test_starting_from_last_year_records_what_was_carried_forward():
    previous = make_evaluation(extra_rows=2)
    filler = make_user(access.FILLER, units=[previous.unit])
    make_framework(2025)
    response = login(filler).post("/evaluations/start/", {"unit": previous.unit.pk, "year": 2025, "from_previous": "1"})
    assert response.status_code == 302
    evaluation = Evaluation.objects.get(unit=previous.unit, framework__year=2025)
    assert channels(evaluation) == {ContentChannel.CARRY_FORWARD}
    assert FieldChange.objects.filter(evaluation=evaluation, field_label="新增", new_value="产出指标1").exists()
    assert evaluation.results.filter(copied_from_previous_year=True).count() == 3


def test_starting_from_a_last_year_over_the_whole_document_bound_starts_afresh_and_says_why(monkeypatch):
    previous = make_evaluation(extra_rows=2)
    filler = make_user(access.FILLER, units=[previous.unit])
    make_framework(2025)
    monkeypatch.setattr(text, "UNIT_ROW_LIMIT", 2)  # last year's 3 unit rows were stored before the bound
    response = login(filler).post("/evaluations/start/", {"unit": previous.unit.pk, "year": 2025, "from_previous": "1"},
                                  follow=True)
    assert "未能沿用2024年的内容：单位自设指标最多 2 行（现为 3 行）" in response.content.decode()
    evaluation = Evaluation.objects.get(unit=previous.unit, framework__year=2025)
    assert not evaluation.results.filter(copied_from_previous_year=True).exists()


def official_bytes(evaluation):
    buf = io.BytesIO()
    official.official_workbook(Evaluation.objects.with_document_data().get(pk=evaluation.pk)).save(buf)
    return buf.getvalue()


def admin_user():
    return get_user_model().objects.get(username="admin")


def edited_workbook(evaluation, change):
    wb = load_workbook(io.BytesIO(official_bytes(evaluation)))
    change(wb.active)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def cell_of(ws, value):
    return next(c for row in ws.iter_rows() for c in row if c.value == value)


def entered_row(evaluation):
    """A 按比例计分 row whose 实际完成值 is typed (not taken from the budget)."""
    return evaluation.results.filter(rule="proportional", actual_source="", actual_value__isnull=False).first()


def test_the_official_import_updates_rows_in_place_so_comments_and_evidence_keep_their_target(demo):
    row = entered_row(demo)
    unit_row = demo.results.filter(indicator__isnull=True).first()
    reviewer = get_user_model().objects.get(username="reviewer")
    comment = ReviewComment.objects.create(evaluation=demo, author=reviewer, text="请核实", result=row)
    unit_comment = ReviewComment.objects.create(evaluation=demo, author=reviewer, text="请核实自设", result=unit_row)
    evidence = Evidence.objects.create(evaluation=demo, result=row, file="evidence/x.pdf", original_name="x.pdf",
                                       kind="pdf", size=1, sha256="0" * 64, uploaded_by=reviewer)
    ids = set(demo.results.values_list("pk", flat=True))
    version = demo.version

    def change(ws):
        ws.cell(cell_of(ws, row.name).row, official.COL["偏差原因分析及改进措施"]).value = "导入改写的原因"

    result = official.import_official(edited_workbook(demo, change), by=admin_user(), dry_run=False)
    assert result.ok, result.problems
    assert set(demo.results.values_list("pk", flat=True)) == ids
    comment.refresh_from_db()
    unit_comment.refresh_from_db()
    evidence.refresh_from_db()
    assert comment.result_id == row.pk and unit_comment.result_id == unit_row.pk and evidence.result_id == row.pk
    [change_row] = FieldChange.objects.filter(evaluation=demo)
    assert (change_row.field_label, change_row.new_value, change_row.channel, change_row.changed_by) == (
        "偏差原因分析及改进措施", "导入改写的原因", ContentChannel.OFFICIAL_IMPORT, admin_user())
    assert fresh(demo).version == version + 1


def test_importing_the_file_exported_unchanged_changes_nothing(demo):
    """50 in the file against 50.00 stored is not a change: the preview lists nothing and nothing is written."""
    result = official.import_official(official_bytes(demo), by=admin_user(), dry_run=True)
    assert result.ok and result.changes == []
    assert (result.total_before, result.grade_before) == (result.total, result.grade) == (Decimal("94.96"), "优")


def test_the_preview_shows_the_total_and_grade_before_and_after_and_every_change(demo):
    row = entered_row(demo)

    def change(ws):
        ws.cell(cell_of(ws, row.name).row, official.COL["实际完成值"]).value = 0

    admin = admin_user()
    client = Client()
    client.login(username="admin", password="demo-admin-2024")
    upload = io.BytesIO(edited_workbook(demo, change))
    upload.name = "自评表.xlsx"
    html = client.post("/reports/import/official/", {"file": upload}).content.decode()
    preview = official.import_official(edited_workbook(demo, change), by=admin, dry_run=True)
    assert preview.total < preview.total_before == Decimal("94.96")
    assert f"94.96 分（“优”） → <strong>{preview.total} 分（“{preview.grade}”）" in html
    assert re.search(rf"指标“{row.name}”</td><td>实际完成值</td><td>{editing.as_text(row.actual_value)}</td><td>0</td>", html)
    assert fresh(demo).version == demo.version  # a preview writes nothing


def test_admin_import_goes_through_save_content(demo):
    from evaluations.spreadsheets.resources import IndicatorResultResource

    row = entered_row(demo)
    dataset = IndicatorResultResource().export(Evaluation.objects.filter(pk=demo.pk))
    names = dataset["三级指标"]
    index = names.index(row.name)
    values = list(dataset[index])
    values[dataset.headers.index("偏差原因分析及改进措施")] = "后台导入的原因"
    dataset[index] = values
    ids = set(demo.results.values_list("pk", flat=True))
    result = IndicatorResultResource().import_data(dataset, dry_run=False, user=admin_user())
    assert not result.has_errors() and not result.has_validation_errors()
    assert set(demo.results.values_list("pk", flat=True)) == ids
    [change] = FieldChange.objects.filter(evaluation=demo)
    assert (change.new_value, change.channel, change.changed_by) == ("后台导入的原因", ContentChannel.ADMIN_IMPORT,
                                                                     admin_user())
    assert fresh(demo).version == demo.version + 1


def test_no_path_changes_a_submitted_evaluation(demo):
    filler = get_user_model().objects.get(username="filler")
    demo = Evaluation.objects.with_document_data().get(pk=demo.pk)
    workflow.submit(demo, by=filler)
    result = official.import_official(official_bytes(demo), by=admin_user(), dry_run=False)
    assert any("不能通过导入修改" in p for p in result.problems)
    with pytest.raises(workflow.WorkflowError, match="不能修改"):
        editing.save_content(fresh(demo), by=admin_user(), channel=ContentChannel.ADMIN_IMPORT, edits=[])
    assert not FieldChange.objects.exists()



# --- The whole 说明 is bounded (issue 13, item 9: its PDF renders in under 3 s) --------------------------------


def stored_length(evaluation):
    return editing.document_totals([evaluation.pk])[evaluation.pk][0]


@pytest.fixture
def tight_budget(monkeypatch):
    """The document's text budget set just above what an evaluation holds now (the real one is text.DOCUMENT_TEXT_LIMIT)."""

    def tighten(evaluation, room=10):
        monkeypatch.setattr(text, "DOCUMENT_TEXT_LIMIT", stored_length(evaluation) + room)
        return text.DOCUMENT_TEXT_LIMIT

    return tighten


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_save_over_the_documents_text_budget_is_refused_saying_what_to_shorten_and_keeps_the_input(
        two_fillers, tight_budget, htmx):
    evaluation, first, _second = two_fillers
    limit = tight_budget(evaluation)
    data = page(first, evaluation)
    data["note-budget_note"] = "说明" * 30
    response = first.post(edit_url(evaluation), data, **(HTMX if htmx else {}))
    html = response.content.decode()
    assert response.status_code == 400
    assert f"全部文字合计不能超过 {limit} 字（现为 {limit + 50} 字，超出 50 字），本次保存未生效。请精简" in html
    assert "说明" * 30 in html  # what was typed is still on the page
    after = fresh(evaluation)
    assert (after.version, after.budget_note) == (evaluation.version, "")
    assert not FieldChange.objects.filter(evaluation=evaluation).exists()


def test_the_edit_page_shows_how_much_of_the_text_budget_is_used(two_fillers):
    evaluation, first, _second = two_fillers
    html = first.get(edit_url(evaluation)).content.decode()
    assert f"全部文字已用 {stored_length(evaluation)} / {text.DOCUMENT_TEXT_LIMIT} 字" in html
    data = page(first, evaluation)
    data["note-budget_note"] = "十个字的预算说明文字"
    html = first.post(f"/evaluations/{evaluation.pk}/edit/preview/", data, **HTMX).content.decode()
    assert f"全部文字已用 {stored_length(evaluation) + 10} / {text.DOCUMENT_TEXT_LIMIT} 字" in html


def test_a_document_over_the_budget_from_before_can_still_be_shortened(two_fillers, tight_budget, monkeypatch):
    evaluation, first, _second = two_fillers
    editing.save_content(evaluation, by=admin_of(evaluation), channel=ContentChannel.ADMIN,
                         edits=[(with_note(evaluation, "长" * 40), {"budget_note": ""})])
    monkeypatch.setattr(text, "DOCUMENT_TEXT_LIMIT", stored_length(evaluation) - 30)  # the limit came later
    data = page(first, evaluation)
    data["note-budget_note"] = "长" * 20  # shorter, still over
    assert first.post(edit_url(evaluation), data).status_code == 302
    assert fresh(evaluation).budget_note == "长" * 20
    data = page(first, evaluation)
    data["note-budget_note"] = "长" * 21  # longer again: refused
    assert first.post(edit_url(evaluation), data).status_code == 400
    assert fresh(evaluation).budget_note == "长" * 20


def admin_of(evaluation):
    return make_user(access.ADMIN)


def with_note(evaluation, note):
    evaluation = fresh(evaluation)
    evaluation.budget_note = note
    return evaluation


def test_more_self_set_rows_than_allowed_are_refused_and_nothing_is_written(two_fillers, monkeypatch):
    evaluation, _first, _second = two_fillers
    units = evaluation.results.filter(indicator__isnull=True)
    monkeypatch.setattr(text, "UNIT_ROW_LIMIT", units.count())
    template = units.first()
    extra = IndicatorResult(category=template.category, name="再加一行", rule="manual", comparison="qualitative",
                            target_text="好", weight=Decimal("0"), order=99)
    with pytest.raises(editing.TooLong, match=f"单位自设指标最多 {units.count()} 行（现为 {units.count() + 1} 行）"):
        editing.save_content(fresh(evaluation), by=admin_of(evaluation), channel=ContentChannel.ADMIN, created=[extra])
    assert units.count() == text.UNIT_ROW_LIMIT and fresh(evaluation).version == evaluation.version
    # Removing one and adding one keeps the count: allowed.
    editing.save_content(fresh(evaluation), by=admin_of(evaluation), channel=ContentChannel.ADMIN,
                         created=[extra], deleted=[template])
    assert set(units.values_list("name", flat=True)) >= {"再加一行"}


def test_the_official_import_is_refused_over_the_budget_in_preview_and_confirm(demo, tight_budget):
    row = entered_row(demo)
    limit = tight_budget(demo)
    version = demo.version

    def change(ws):
        ws.cell(cell_of(ws, row.name).row, official.COL["偏差原因分析及改进措施"]).value = "原" * 100

    for dry_run in (True, False):
        result = official.import_official(edited_workbook(demo, change), by=admin_user(), dry_run=dry_run)
        assert any(f"全部文字合计不能超过 {limit} 字" in p for p in result.problems), result.problems
    assert fresh(demo).version == version and not FieldChange.objects.filter(evaluation=demo).exists()
    assert demo.results.get(pk=row.pk).deviation_reason == row.deviation_reason


def test_the_admin_import_is_refused_over_the_budget(demo, tight_budget):
    from evaluations.spreadsheets.resources import IndicatorResultResource

    row = entered_row(demo)
    limit = tight_budget(demo)
    dataset = IndicatorResultResource().export(Evaluation.objects.filter(pk=demo.pk))
    index = dataset["三级指标"].index(row.name)
    values = list(dataset[index])
    values[dataset.headers.index("偏差原因分析及改进措施")] = "原" * 100
    dataset[index] = values
    result = IndicatorResultResource().import_data(dataset, dry_run=False, user=admin_user())
    assert result.has_errors()
    assert any(f"全部文字合计不能超过 {limit} 字" in str(e.error) for e in result.base_errors)
    assert fresh(demo).version == demo.version and not FieldChange.objects.filter(evaluation=demo).exists()


# --- The admin's change forms carry the version they were opened at ------------------------------------------


def test_an_admin_save_of_an_evaluation_someone_changed_meanwhile_is_refused(two_fillers):
    evaluation, first, _second = two_fillers
    client = login(make_user(access.ADMIN))
    url = f"/admin/evaluations/evaluation/{evaluation.pk}/change/"
    data = form_data(client.get(url).content.decode(), "evaluation_form")
    filler_page = page(first, evaluation)
    filler_page["note-budget_note"] = "填报人刚写的说明"
    assert first.post(edit_url(evaluation), filler_page).status_code == 302
    data["budget_note"] = "管理员改的说明"
    response = client.post(url, data)
    assert response.status_code == 200
    assert "您打开此页后，其他人修改了这份自评（或页面不完整），本次保存未生效。" in response.content.decode()
    assert fresh(evaluation).budget_note == "填报人刚写的说明"
    assert not FieldChange.objects.filter(channel=ContentChannel.ADMIN).exists()
    data = form_data(client.get(url).content.decode(), "evaluation_form")  # opened again: saved
    data["budget_note"] = "管理员改的说明"
    assert client.post(url, data).status_code == 302
    assert fresh(evaluation).budget_note == "管理员改的说明"


def test_an_admin_save_of_a_project_someone_changed_meanwhile_is_refused():
    from evaluations.models import Project
    from tests.factories import make_project, make_project_framework

    make_project_framework()
    evaluation = make_evaluation()
    project = make_project(evaluation)
    client = login(make_user(access.ADMIN))
    url = f"/admin/evaluations/project/{project.pk}/change/"
    data = {k: v for k, v in form_data(client.get(url).content.decode(), form_id=None).items() if not k.startswith("_")}
    project.goal_actual = "填报人刚写的完成情况"
    editing.save_project(project, by=make_user(access.FILLER, units=[evaluation.unit]),
                         expected_version=project.version, edits=[(project, {"goal_actual": "实际完成情况"})])
    data.update(goal_actual="管理员改的完成情况", _save="保存")
    response = client.post(url, data)
    assert response.status_code == 200
    assert "其他人修改了这份项目" in response.content.decode()
    assert Project.objects.get(pk=project.pk).goal_actual == "填报人刚写的完成情况"
