"""The review page: comments made on the row or section they are about, in place; the decision bar; the net
change per field since the most recent return or reopen."""

import pytest
from django.test import Client

from evaluations import access, editing, workflow
from evaluations.models import Evaluation
from tests.factories import PASSWORD, make_evaluation, make_user

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def cast():
    evaluation = make_evaluation(extra_rows=2)
    filler = make_user(access.FILLER, units=[evaluation.unit])
    reviewer = make_user(access.REVIEWER, charge=evaluation.unit)
    admin = make_user(access.ADMIN)
    workflow.submit(evaluation, by=filler)
    client = Client()
    client.login(username=reviewer.username, password=PASSWORD)
    return evaluation, filler, reviewer, admin, client


def set_actual(evaluation, filler, value):
    """A save by the filler changing 产出指标1's 实际完成值."""
    evaluation = Evaluation.objects.with_document_data().get(pk=evaluation.pk)
    row = next(r for r in evaluation.results.all() if r.name == "产出指标1")
    old = {"actual_value": row.actual_value}
    row.actual_value = value
    editing.save_content(evaluation, by=filler, expected_version=evaluation.version, edits=[(row, old)])


def test_a_comment_is_made_on_its_row_in_place(cast):
    evaluation, _filler, _reviewer, _admin, client = cast
    row = evaluation.results.get(name="产出指标2")
    page = client.get(f"/evaluations/{evaluation.pk}/review/").content.decode()
    assert "针对指标" not in page  # no dropdown picking the row
    assert f'id="comment-form-result-{row.pk}"' in page and 'data-comment-open' in page
    assert 'id="decision-bar"' in page and "退回修改原因（必填）" in page
    response = client.post(f"/evaluations/{evaluation.pk}/comments/", {"result": row.pk, "text": "依据不足。"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "依据不足。" in html and "<html" not in html
    comment = evaluation.comments.get()
    assert comment.result == row
    # Without JavaScript, the page comes back at the row.
    response = client.post(f"/evaluations/{evaluation.pk}/comments/", {"result": row.pk, "text": "再看看。"})
    assert response["Location"].endswith(f"/review/#row-{row.pk}")
    # An empty comment is refused under its form.
    response = client.post(f"/evaluations/{evaluation.pk}/comments/", {"result": row.pk, "text": " "}, **HTMX)
    assert response.status_code == 400 and response["HX-Retarget"] == f"#comment-error-result-{row.pk}"
    assert "请填写审核意见" in response.content.decode()
    page = client.get(f"/evaluations/{evaluation.pk}/review/").content.decode()
    after_row = page[page.index(f'id="row-{row.pk}"'):]
    assert after_row.index("依据不足。") < after_row.index("<tr id=\"row-")  # it stands under its row


def test_changes_since_the_last_return_are_the_net_change_per_field(cast):
    evaluation, filler, reviewer, admin, client = cast
    workflow.return_for_changes(evaluation, by=reviewer, reason="第一次退回")
    set_actual(evaluation, filler, 420)
    workflow.submit(Evaluation.objects.get(pk=evaluation.pk), by=filler)
    workflow.return_for_changes(Evaluation.objects.get(pk=evaluation.pk), by=reviewer, reason="第二次退回")
    set_actual(evaluation, filler, 1234.5)
    set_actual(evaluation, filler, 420)  # and back: no net change
    workflow.submit(Evaluation.objects.get(pk=evaluation.pk), by=filler)
    page = client.get(f"/evaluations/{evaluation.pk}/review/").content.decode()
    assert "退回以来的修改（0 处）" in page and "单位未作修改" in page and "1234.5" not in page

    workflow.return_for_changes(Evaluation.objects.get(pk=evaluation.pk), by=reviewer, reason="第三次退回")
    set_actual(evaluation, filler, 1234.5)
    set_actual(evaluation, filler, 500)
    workflow.submit(Evaluation.objects.get(pk=evaluation.pk), by=filler)
    page = client.get(f"/evaluations/{evaluation.pk}/review/").content.decode()
    assert "退回以来的修改（1 处）" in page
    assert "<del>420</del> → <ins>500</ins>" in page and "1234.5" not in page


def test_changes_are_counted_from_a_reopen(cast):
    evaluation, filler, reviewer, admin, client = cast
    workflow.return_for_changes(evaluation, by=reviewer, reason="退回")
    set_actual(evaluation, filler, 420)
    workflow.submit(Evaluation.objects.get(pk=evaluation.pk), by=filler)
    workflow.approve(Evaluation.objects.get(pk=evaluation.pk), by=reviewer)
    workflow.reopen(Evaluation.objects.get(pk=evaluation.pk), by=admin, reason="发现错误")
    set_actual(evaluation, filler, 430)
    workflow.submit(Evaluation.objects.get(pk=evaluation.pk), by=filler)
    page = client.get(f"/evaluations/{evaluation.pk}/review/").content.decode()
    assert "重新打开以来的修改（1 处）" in page and "<del>420</del> → <ins>430</ins>" in page


def test_rows_and_comments_with_markup_are_escaped_in_place(cast):
    evaluation, _filler, reviewer, _admin, client = cast
    row = evaluation.results.get(name="产出指标2")
    row.name = '<script>"甲" & 乙</script>'
    row.save(update_fields=["name"])
    workflow.add_comment(evaluation, by=reviewer, text="第一行 & <b>\n第二行", result=row)
    page = client.get(f"/evaluations/{evaluation.pk}/review/").content.decode()
    name = "&lt;script&gt;&quot;甲&quot; &amp; 乙&lt;/script&gt;"
    assert '<script>"甲"' not in page
    assert f'aria-label="对“{name}”提意见"' in page and f"对“{name}”的意见</label>" in page
    assert "第一行 &amp; &lt;b&gt;<br>第二行" in page
    line = page[page.index(f'id="row-{row.pk}"'):]
    line = line[:line.index("</tr>", line.index('class="row-comments"'))]
    assert 'class="row-comments">' in line and f'id="comments-result-{row.pk}">' in line  # shown: it has one
    other = evaluation.results.get(name="产出指标1")
    assert f'<tr class="row-comments" hidden><td colspan="8"><div class="comment-place" id="comments-result-{other.pk}" data-empty>' in page
