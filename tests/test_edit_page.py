"""The edit page: constant queries from 10 to 150 rows, 150 rows save and submit, errors keep what was typed."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evaluations import access
from evaluations.models import Evaluation, EvaluationStatus, FieldChange
from tests.factories import login, make_evaluation, make_user
from tests.forms import form_data

pytestmark = pytest.mark.django_db


def edit_form(client, evaluation):
    """What the edit page's form posts if nothing is changed."""
    return form_data(client.get(f"/evaluations/{evaluation.pk}/edit/").content.decode(), "edit-form")


def page_token(html):
    """The token the page carries (swapped in by htmx after a save)."""
    return re.search(r'name="base" value="([^"]+)"', html).group(1)


def row_prefix(data, field, value):
    """The prefix (rows-N) of the row whose `field` posts `value`."""
    return next(k[: -len(f"-{field}")] for k in data if k.endswith(f"-{field}") and data[k] == value)


def prefix_of(data, evaluation, name):
    """The prefix of the row named `name` (the page shows saved rows' names as text; their row_id is posted)."""
    return row_prefix(data, "row_id", str(evaluation.results.get(name=name).pk))


def filler_client(evaluation):
    return login(make_user(access.FILLER, units=[evaluation.unit]))


def test_edit_page_and_preview_keep_constant_queries_from_10_to_150_rows():
    counts = {"get": [], "preview": []}
    for rows in (10, 150):
        evaluation = make_evaluation(extra_rows=rows)
        client = filler_client(evaluation)
        with CaptureQueriesContext(connection) as get:
            html = client.get(f"/evaluations/{evaluation.pk}/edit/").content.decode()
        with CaptureQueriesContext(connection) as preview:
            client.post(f"/evaluations/{evaluation.pk}/edit/preview/", form_data(html, "edit-form"))
        counts["get"].append(len(get))
        counts["preview"].append(len(preview))
    assert counts["get"][0] == counts["get"][1], counts
    assert counts["preview"][0] == counts["preview"][1], counts


def test_150_rows_save_and_submit():
    evaluation = make_evaluation(extra_rows=150)
    client = filler_client(evaluation)
    data = edit_form(client, evaluation)
    reasons = [k for k in data if k.endswith("-deviation_reason")]
    assert len(reasons) >= 150
    for key in reasons:
        data[key] = "已说明"
    with CaptureQueriesContext(connection) as saving:
        response = client.post(f"/evaluations/{evaluation.pk}/edit/", data)
    assert response.status_code == 302, response.content.decode()[:500]
    assert FieldChange.objects.filter(evaluation=evaluation).count() == len(reasons)
    assert len(saving) < 40, len(saving)
    client.post(f"/evaluations/{evaluation.pk}/actions/submit/", {})
    assert Evaluation.objects.get(pk=evaluation.pk).status == EvaluationStatus.SUBMITTED


def test_failed_validation_keeps_everything_typed_and_says_what_to_fix():
    evaluation = make_evaluation()
    client = filler_client(evaluation)
    data = edit_form(client, evaluation)
    prefix = row_prefix(data, "score", "5.00")
    data[f"{prefix}-score"] = "50"
    data["note-budget_note"] = "这段说明不能丢"
    data["budget-0-executed"] = "很多"
    response = client.post(f"/evaluations/{evaluation.pk}/edit/", data)
    html = response.content.decode()
    assert response.status_code == 400
    assert "这段说明不能丢" in html and 'value="50"' in html and 'value="很多"' in html
    assert "得分应在" in html and "输入一个数字" in html
    assert Evaluation.objects.get(pk=evaluation.pk).budget_note == ""


def add_unit_row(data, category, name="新增自设指标"):
    """What the page posts after “＋ 增加自设指标” under `category` and the new row filled in."""
    n = int(data["rows-TOTAL_FORMS"])
    data.update({
        "rows-TOTAL_FORMS": str(n + 1), f"rows-{n}-category_id": str(category.pk), f"rows-{n}-name": name,
        f"rows-{n}-comparison": ">=", f"rows-{n}-rule": "proportional", f"rows-{n}-target_value": "1",
        f"rows-{n}-actual_value": "1", f"rows-{n}-weight": "0", f"rows-{n}-order": "0",
    })


def test_unit_rows_can_be_added_moved_and_removed():
    evaluation = make_evaluation(extra_rows=2)
    client = filler_client(evaluation)
    data = edit_form(client, evaluation)
    output = evaluation.framework.indicators.get(name="产出")
    add_unit_row(data, output)
    first = prefix_of(data, evaluation, "产出指标1")
    second = prefix_of(data, evaluation, "产出指标2")
    data[f"{first}-order"], data[f"{second}-order"] = "2", "1"
    response = client.post(f"/evaluations/{evaluation.pk}/edit/", data)
    assert response.status_code == 302, response.content.decode()[:300]
    names = list(evaluation.results.filter(category=output).order_by("order", "pk").values_list("name", flat=True))
    assert names == ["新增自设指标", "产出指标2", "产出指标1"]
    data = edit_form(client, evaluation)
    added = prefix_of(data, evaluation, "新增自设指标")
    data[f"{added}-DELETE"] = "on"
    assert client.post(f"/evaluations/{evaluation.pk}/edit/", data).status_code == 302
    assert not evaluation.results.filter(name="新增自设指标").exists()
    assert FieldChange.objects.filter(field_label__in=["新增", "删除"]).count() == 2


def test_framework_rows_cannot_be_deleted():
    evaluation = make_evaluation()
    client = filler_client(evaluation)
    data = edit_form(client, evaluation)
    prefix = prefix_of(data, evaluation, "资产管理")
    assert f"{prefix}-DELETE" not in data  # the page offers no delete box for it
    data[f"{prefix}-DELETE"] = "on"  # posted anyway: a framework row's form has no such field
    client.post(f"/evaluations/{evaluation.pk}/edit/", data)
    assert evaluation.results.filter(name="资产管理").exists()


HTMX = {"HTTP_HX_REQUEST": "true"}


def test_saving_from_the_page_with_javascript_answers_with_what_changes_in_the_page():
    evaluation = make_evaluation(extra_rows=2)
    client = filler_client(evaluation)
    data = edit_form(client, evaluation)
    version = int(data["version"])
    prefix = prefix_of(data, evaluation, "产出指标1")
    data[f"{prefix}-actual_value"] = "5"
    response = client.post(f"/evaluations/{evaluation.pk}/edit/", data, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and response["HX-Trigger"] == "evaluation-saved"
    assert "<html" not in html and "已保存（" in html
    assert f'name="version" value="{version + 1}" id="version" hx-swap-oob="true"' in html
    assert 'id="live-total" hx-swap-oob="true">92.50<' in html  # 产出指标1 lost half its 15 points
    assert Evaluation.objects.get(pk=evaluation.pk).version == version + 1
    assert FieldChange.objects.filter(evaluation=evaluation, field_label="实际完成值").count() == 1

    # The page keeps its input and now carries the new version and token: saving again from it works.
    data["version"] = str(version + 1)
    data["base"] = page_token(html)
    data["note-budget_note"] = "第二次保存"
    assert client.post(f"/evaluations/{evaluation.pk}/edit/", data, **HTMX).status_code == 200
    assert Evaluation.objects.get(pk=evaluation.pk).budget_note == "第二次保存"


def test_with_javascript_a_conflict_or_an_error_says_so_and_the_page_keeps_its_input():
    evaluation = make_evaluation()
    client = filler_client(evaluation)
    data = edit_form(client, evaluation)
    stale = dict(data, **{"note-budget_note": "后保存的人"})
    assert client.post(f"/evaluations/{evaluation.pk}/edit/", dict(data, **{"note-budget_note": "先保存的人"}),
                       **HTMX).status_code == 200
    response = client.post(f"/evaluations/{evaluation.pk}/edit/", stale, **HTMX)
    html = response.content.decode()
    assert response.status_code == 409 and "HX-Trigger" not in response
    assert "其他人修改了同样的 1 处内容" in html and "先保存的人" in html and "后保存的人" in html and "未保存" in html
    assert f'name="base" value="{data["base"]}"' in html  # the page keeps what it was opened with
    assert Evaluation.objects.get(pk=evaluation.pk).budget_note == "先保存的人"

    wrong = dict(stale, **{"budget-0-executed": "很多"})
    response = client.post(f"/evaluations/{evaluation.pk}/edit/", wrong, **HTMX)
    html = response.content.decode()
    assert response.status_code == 400 and response["HX-Reselect"] == "#edit-form > *"  # the whole form, with errors
    assert "输入一个数字" in html and 'value="很多"' in html and "后保存的人" in html and "未保存：有内容需要修改" in html
    assert Evaluation.objects.get(pk=evaluation.pk).budget_note == "先保存的人"


def test_with_javascript_adding_a_row_reloads_the_page():
    evaluation = make_evaluation(extra_rows=1)
    client = filler_client(evaluation)
    data = edit_form(client, evaluation)
    output = evaluation.framework.indicators.get(name="产出")
    add_unit_row(data, output)
    response = client.post(f"/evaluations/{evaluation.pk}/edit/", data, **HTMX)
    assert response.status_code == 204 and response["HX-Redirect"] == f"/evaluations/{evaluation.pk}/edit/"
    assert response["HX-Trigger"] == "evaluation-saved"
    assert "已保存" in client.get(f"/evaluations/{evaluation.pk}/edit/").content.decode()


def test_a_framework_row_the_model_refuses_on_a_fixed_field_says_so_instead_of_failing():
    evaluation = make_evaluation()
    client = filler_client(evaluation)
    data = edit_form(client, evaluation)
    # Bad data from outside the page (an import, the admin): a framework row's 分值, which the page shows as text.
    evaluation.results.filter(name="资产管理").update(weight=-1)
    response = client.post(f"/evaluations/{evaluation.pk}/edit/", data)
    assert response.status_code == 400
    assert "分值：分值不能为负数。" in response.content.decode()


def test_rule_scored_rows_show_the_computed_score_not_an_input():
    evaluation = make_evaluation(extra_rows=2)
    client = filler_client(evaluation)
    data = edit_form(client, evaluation)
    proportional = prefix_of(data, evaluation, "产出指标1")
    manual = prefix_of(data, evaluation, "服务对象满意度")
    assert f"{proportional}-score" not in data and f"{manual}-score" in data
    html = client.get(f"/evaluations/{evaluation.pk}/edit/").content.decode()
    assert f'id="score-{proportional}">15.00</output>' in html
    # A typed 得分 for a rule-scored row (an old page, a crafted post) changes nothing.
    data[f"{proportional}-score"] = "3"
    assert client.post(f"/evaluations/{evaluation.pk}/edit/", data).status_code == 302
    assert evaluation.results.get(name="产出指标1").score == 15


def qualitative_row(evaluation):
    row = evaluation.results.filter(rule="qualitative").first()
    return row, row.weight


def test_the_live_check_refuses_what_the_save_refuses():
    evaluation = make_evaluation()
    client = filler_client(evaluation)
    data = edit_form(client, evaluation)
    row, weight = qualitative_row(evaluation)
    prefix = prefix_of(data, evaluation, row.name)
    data[f"{prefix}-band"], data[f"{prefix}-score"] = "not_achieved", str(weight)  # 未达成 is 0–60 % of 分值
    live = client.post(f"/evaluations/{evaluation.pk}/edit/preview/", data, **HTMX).content.decode()
    saved = client.post(f"/evaluations/{evaluation.pk}/edit/", data)
    message = f"“未达成”的得分应在 0.00 到 {weight * 6 / 10:.2f} 分之间"
    assert saved.status_code == 400 and message in saved.content.decode()
    assert message in live and "检查通过" not in live
    assert f"指标“{row.name}”：{message}" in live  # in the checklist, linked to the row
    # The row's detail, once opened, says so too instead of "得 5.00 分".
    live = client.post(f"/evaluations/{evaluation.pk}/edit/preview/", data | {"open_detail": prefix}, **HTMX)
    assert f'<dd id="explain-{prefix}" hx-swap-oob="true">填写有误，未计分' in live.content.decode()
    detail = client.get(f"/evaluations/{evaluation.pk}/edit/rows/{row.pk}/detail/?prefix={prefix}").content.decode()
    assert "得分说明" in detail and f'name="open_detail" value="{prefix}"' in detail
    assert evaluation.results.get(pk=row.pk).band == "achieved"


def test_twenty_cells_pasted_into_one_input_are_refused_live_and_on_save():
    evaluation = make_evaluation(extra_rows=2)
    client = filler_client(evaluation)
    data = edit_form(client, evaluation)
    prefix = prefix_of(data, evaluation, "产出指标1")
    data[f"{prefix}-actual_value"] = "".join(str(100 + n) for n in range(40))  # 120 digits
    live = client.post(f"/evaluations/{evaluation.pk}/edit/preview/", data, **HTMX).content.decode()
    assert "检查通过" not in live and "指标“产出指标1”实际完成值：" in live
    assert client.post(f"/evaluations/{evaluation.pk}/edit/", data).status_code == 400
    assert evaluation.results.get(name="产出指标1").actual_value == 10


def test_a_unit_rows_definition_is_posted_only_when_opened():
    evaluation = make_evaluation(extra_rows=2)
    client = filler_client(evaluation)
    data = edit_form(client, evaluation)
    prefix = prefix_of(data, evaluation, "产出指标1")
    assert f"{prefix}-name" not in data and f"{prefix}-weight" not in data  # shown as text
    row = evaluation.results.get(name="产出指标1")
    fragment = client.get(f"/evaluations/{evaluation.pk}/edit/rows/{row.pk}/definition/?prefix={prefix}")
    fields = form_data(f"<form>{fragment.content.decode()}</form>")
    assert fields[f"{prefix}-name"] == "产出指标1" and fields[f"{prefix}-define"] == "1"
    data |= fields | {f"{prefix}-name": "巡查涉水污染源"}
    response = client.post(f"/evaluations/{evaluation.pk}/edit/", data, **HTMX)
    assert response.status_code == 204  # the row's inputs may change with its definition: the page is reloaded
    assert evaluation.results.get(pk=row.pk).name == "巡查涉水污染源"
    assert client.get(f"/evaluations/{evaluation.pk}/edit/rows/{row.pk}/definition/?prefix=x").status_code == 404


def test_review_comments_stand_at_their_row_and_are_answered_there():
    from evaluations import workflow

    evaluation = make_evaluation(extra_rows=2)
    client = filler_client(evaluation)
    filler = evaluation.unit.members.get()
    reviewer = make_user(access.REVIEWER, charge=evaluation.unit)
    workflow.submit(evaluation, by=filler)
    row = evaluation.results.get(name="产出指标2")
    workflow.add_comment(evaluation, by=reviewer, text="请补充佐证。", result=row)
    workflow.return_for_changes(evaluation, by=reviewer, reason="请修改")
    comment = evaluation.comments.get()
    html = client.get(f"/evaluations/{evaluation.pk}/edit/").content.decode()
    assert f'href="/evaluations/{evaluation.pk}/edit/#comment-{comment.pk}">还有 1 条审核意见未答复' in html
    # The comment stands right after its row's detail, and its answer box belongs to its own form.
    after_row = html[html.index(f'id="row-{row.pk}"'):]
    assert after_row.index(f'id="comment-{comment.pk}"') < after_row.index('<tr class="row-form')
    assert f'form="answer-form-{comment.pk}"' in html and f'id="answer-form-{comment.pk}"' in html
    response = client.post(f"/evaluations/{evaluation.pk}/comments/{comment.pk}/answer/", {"answer": "已补充。"}, **HTMX)
    assert response.status_code == 200 and "单位答复" in response.content.decode() and "<html" not in response.content.decode()
    assert evaluation.comments.get().answer == "已补充。"
    empty = client.post(f"/evaluations/{evaluation.pk}/comments/{comment.pk}/answer/", {"answer": " "})
    assert empty.status_code == 302 and empty["Location"].endswith(f"/edit/#comment-{comment.pk}")


def test_the_content_forms_show_no_field_of_a_unique_constraint():
    """The edit page's forms check what they post as ModelForms would, but without the unique and constraint checks
    (forms.InstanceForm): none of them may show a field that one of those checks would look at."""
    from django.db.models import UniqueConstraint

    from evaluations import forms
    from evaluations.models import BudgetLine, IndicatorResult, NarrativeSection

    shown = {
        IndicatorResult: {*forms.UNIT_ROW_FIELDS, *forms.NEW_ROW_FIELDS},  # every row form's fields are among these
        BudgetLine: set(forms.BudgetLineForm.model_fields), NarrativeSection: set(forms.NarrativeSectionForm.model_fields),
        Evaluation: set(forms.BudgetNoteForm.model_fields),
    }
    for model, fields in shown.items():
        unique = {f.name for f in model._meta.fields if f.unique}
        unique |= {f.name for f in model._meta.fields if f.unique_for_date or f.unique_for_month or f.unique_for_year}
        unique |= {name for together in model._meta.unique_together for name in together}
        # Only unique constraints, each on fields (a check constraint, or one on expressions, would be checked).
        assert all(isinstance(c, UniqueConstraint) and c.fields for c in model._meta.constraints), model
        unique |= {name for c in model._meta.constraints for name in c.fields}
        assert fields and not fields & unique, (model, fields & unique)
