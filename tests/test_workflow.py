"""The workflow: who may do what, from which state, with a reason where needed, and a record of each step."""

from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evaluations import access, editing, workflow
from evaluations.models import Evaluation, EvaluationStatus, Event, FieldChange, ReviewComment, ReviewStage
from evaluations.workflow import WorkflowError
from tests.factories import make_evaluation, make_unit, make_user

pytestmark = pytest.mark.django_db
S = EvaluationStatus


def fresh(evaluation):
    return Evaluation.objects.with_document_data().get(pk=evaluation.pk)


def test_submit_writes_one_event_with_the_score(cast):
    event = workflow.submit(cast.evaluation, by=cast.filler)
    evaluation = fresh(cast.evaluation)
    assert evaluation.status == S.SUBMITTED and evaluation.submitted_by == cast.filler
    assert (event.from_status, event.to_status, event.actor, event.total_score) == (S.DRAFT, S.SUBMITTED, cast.filler, Decimal("100.00"))
    assert Event.objects.count() == 1


def test_submit_lists_every_problem_at_once(cast):
    row = cast.evaluation.results.get(name="预算编制科学性")
    row.score, row.band = None, ""
    row.save()
    cast.evaluation.sections.filter(kind="goal").update(body="")
    cast.evaluation.budget_lines.update(adjusted_budget=100, executed=50)
    with pytest.raises(WorkflowError) as refused:
        workflow.submit(fresh(cast.evaluation), by=cast.filler)
    messages = [p.message for p in refused.value.problems]
    assert any("指标“预算编制科学性”尚未得分" in m for m in messages)
    assert "说明的“部门整体支出绩效目标”部分尚未填写。" in messages
    assert "预算执行率为 50.00%，低于 90%，请在“预算执行情况说明”中说明原因。" in messages
    assert any("失分" in m and "偏差原因" in m for m in messages)  # 预算执行率 now loses points without a reason
    assert fresh(cast.evaluation).status == S.DRAFT and not Event.objects.exists()


def test_return_requires_a_reason(cast):
    workflow.submit(cast.evaluation, by=cast.filler)
    with pytest.raises(WorkflowError, match="请填写退回修改的原因"):
        workflow.return_for_changes(fresh(cast.evaluation), by=cast.reviewer, reason="  ")
    assert fresh(cast.evaluation).status == S.SUBMITTED


def test_return_sends_comments_and_resubmission_waits_for_answers(cast):
    workflow.submit(cast.evaluation, by=cast.filler)
    evaluation = fresh(cast.evaluation)
    row = evaluation.results.get(name="预算执行率")
    comment = workflow.add_comment(evaluation, by=cast.reviewer, text="执行率口径请核实。", result=row)
    event = workflow.return_for_changes(evaluation, by=cast.reviewer, reason="请核实预算执行率。")
    comment.refresh_from_db()
    assert comment.sent_in == event and comment.is_open
    with pytest.raises(WorkflowError) as refused:
        workflow.submit(fresh(cast.evaluation), by=cast.filler)
    assert "还有 1 条审核意见未答复，请逐条答复后再提交。" in [p.message for p in refused.value.problems]
    workflow.answer_comment(comment, by=cast.filler, answer="已核实，口径无误。")
    workflow.submit(fresh(cast.evaluation), by=cast.filler)
    assert fresh(cast.evaluation).status == S.SUBMITTED


def test_reviewer_not_in_charge_may_not_act(cast):
    workflow.submit(cast.evaluation, by=cast.filler)
    with pytest.raises(WorkflowError, match="您不负责该单位的财政部门审核"):
        workflow.approve(fresh(cast.evaluation), by=cast.other)
    with pytest.raises(WorkflowError):
        workflow.add_comment(fresh(cast.evaluation), by=cast.other, text="x")


def test_nobody_approves_what_they_submitted(cast):
    cast.reviewer.groups.add(*cast.filler.groups.all())
    cast.town.members.add(cast.reviewer)
    workflow.submit(cast.evaluation, by=cast.reviewer)
    with pytest.raises(WorkflowError, match="不能审核自己提交的自评"):
        workflow.approve(fresh(cast.evaluation), by=cast.reviewer)


def test_fillers_do_not_approve_and_reviewers_do_not_submit(cast):
    with pytest.raises(WorkflowError, match="只有本单位的填报人可以提交"):
        workflow.submit(cast.evaluation, by=cast.reviewer)
    workflow.submit(cast.evaluation, by=cast.filler)
    with pytest.raises(WorkflowError):
        workflow.approve(fresh(cast.evaluation), by=cast.filler)


def test_department_reviews_before_the_finance_bureau(cast):
    department = make_unit("番禺区生态环境分局")
    cast.town.supervising_department = department
    cast.town.save()
    dept_reviewer = make_user(access.REVIEWER, username="dept")
    dept_reviewer.review_charges.create(unit=department, stage=ReviewStage.DEPARTMENT)
    dept_reviewer.review_charges.create(unit=cast.town, stage=ReviewStage.DEPARTMENT)
    workflow.submit(cast.evaluation, by=cast.filler)
    with pytest.raises(WorkflowError, match="需先经主管部门审核"):
        workflow.approve(fresh(cast.evaluation), by=cast.reviewer)
    workflow.department_approve(fresh(cast.evaluation), by=dept_reviewer)
    assert fresh(cast.evaluation).status == S.DEPARTMENT_REVIEWED
    with pytest.raises(WorkflowError):
        workflow.approve(fresh(cast.evaluation), by=dept_reviewer)  # not in charge at the finance stage
    workflow.return_for_changes(fresh(cast.evaluation), by=cast.reviewer, reason="财政审核发现问题")
    assert fresh(cast.evaluation).status == S.RETURNED
    workflow.submit(fresh(cast.evaluation), by=cast.filler)
    workflow.return_for_changes(fresh(cast.evaluation), by=dept_reviewer, reason="主管部门也可退回")
    workflow.submit(fresh(cast.evaluation), by=cast.filler)
    workflow.department_approve(fresh(cast.evaluation), by=dept_reviewer)
    workflow.approve(fresh(cast.evaluation), by=cast.reviewer)
    assert [e.to_status for e in Event.objects.order_by("pk")] == [
        S.SUBMITTED, S.DEPARTMENT_REVIEWED, S.RETURNED, S.SUBMITTED, S.RETURNED, S.SUBMITTED, S.DEPARTMENT_REVIEWED, S.APPROVED]


def test_admin_reopens_an_approved_evaluation_with_a_reason(cast):
    workflow.submit(cast.evaluation, by=cast.filler)
    workflow.approve(fresh(cast.evaluation), by=cast.reviewer)
    with pytest.raises(WorkflowError, match="只有管理员"):
        workflow.reopen(fresh(cast.evaluation), by=cast.reviewer, reason="x")
    with pytest.raises(WorkflowError, match="原因"):
        workflow.reopen(fresh(cast.evaluation), by=cast.admin, reason="")
    workflow.reopen(fresh(cast.evaluation), by=cast.admin, reason="决算数据更正")
    assert fresh(cast.evaluation).status == S.RETURNED


def test_events_are_append_only(cast):
    event = workflow.submit(cast.evaluation, by=cast.filler)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        event.save()
    with pytest.raises(ValidationError):
        event.delete()


def test_stale_version_is_refused(cast):
    evaluation = fresh(cast.evaluation)
    with pytest.raises(WorkflowError, match="请刷新页面"):
        workflow.submit(evaluation, by=cast.filler, expected_version=evaluation.version - 1)


def test_notices_go_to_the_responsible_people_only(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        workflow.submit(cast.evaluation, by=cast.filler)
    assert [m.to for m in mail.outbox] == [["reviewer@example.invalid"]]
    assert "已提交" in mail.outbox[0].subject
    mail.outbox.clear()
    evaluation = fresh(cast.evaluation)
    workflow.add_comment(evaluation, by=cast.reviewer, text="请补充生态效益的数据来源。", result=evaluation.results.first())
    with django_capture_on_commit_callbacks(execute=True):
        workflow.return_for_changes(evaluation, by=cast.reviewer, reason="请补充")
    assert [m.to for m in mail.outbox] == [["filler@example.invalid"]]
    assert "请补充生态效益的数据来源。" in mail.outbox[0].body and "被退回" in mail.outbox[0].subject


def test_what_awaits_each_role(cast):
    assert list(Evaluation.objects.awaiting(cast.filler)) == [cast.evaluation]
    assert list(Evaluation.objects.awaiting(cast.reviewer)) == []
    workflow.submit(cast.evaluation, by=cast.filler)
    assert list(Evaluation.objects.awaiting(cast.filler)) == []
    assert list(Evaluation.objects.awaiting(cast.reviewer)) == [cast.evaluation]
    assert list(Evaluation.objects.awaiting(cast.other)) == []


# --- Editing: history and no silent overwrite ---------------------------------------------------------


def edit_rows(evaluation, count, field="deviation_reason", value="说明{}"):
    edits = []
    for n, row in enumerate(list(evaluation.results.all())[:count]):
        old = {field: getattr(row, field)}
        setattr(row, field, value.format(n))
        edits.append((row, old))
    return edits


def test_saving_writes_field_history_and_bumps_the_version(cast):
    evaluation = fresh(cast.evaluation)
    version = evaluation.version
    editing.save_content(evaluation, by=cast.filler, expected_version=version, edits=edit_rows(evaluation, 2))
    assert fresh(evaluation).version == version + 1
    changes = list(FieldChange.objects.order_by("pk"))
    assert len(changes) == 2 and changes[0].field_label == "偏差原因分析及改进措施" and changes[0].new_value == "说明0"


def test_saving_60_rows_takes_a_handful_of_queries(cast):
    evaluation = fresh(make_evaluation(unit=cast.town.__class__.objects.create(name="大单位", code="BIG"), extra_rows=60))
    cast.filler.filler_units.add(evaluation.unit)
    edits = edit_rows(evaluation, 60)
    with CaptureQueriesContext(connection) as queries:
        editing.save_content(evaluation, by=cast.filler, expected_version=evaluation.version, edits=edits)
    assert FieldChange.objects.filter(evaluation=evaluation).count() == 60
    # The same however many rows: among them the whole-document text bound (three grouped reads) and the stored
    # totals (one upsert in the scores' savepoint).
    assert len(queries) <= 17, [q["sql"][:80] for q in queries]


def test_stale_save_is_refused_saying_who_changed_what(cast):
    first, second = fresh(cast.evaluation), fresh(cast.evaluation)
    editing.save_content(first, by=cast.filler, expected_version=first.version, edits=edit_rows(first, 1, value="第一人"))
    with pytest.raises(editing.StaleEdit) as stale:
        editing.save_content(second, by=cast.filler, expected_version=second.version, edits=edit_rows(second, 1, value="第二人"))
    [change] = stale.value.changes
    assert change.new_value == "第一人" and change.changed_by == cast.filler
    assert FieldChange.objects.count() == 1


def test_reviewers_never_edit_content(cast):
    evaluation = fresh(cast.evaluation)
    with pytest.raises(WorkflowError):
        editing.save_content(evaluation, by=cast.reviewer, expected_version=evaluation.version, edits=edit_rows(evaluation, 1))
    workflow.submit(evaluation, by=cast.filler)
    evaluation = fresh(evaluation)
    with pytest.raises(WorkflowError, match="不能修改"):
        editing.save_content(evaluation, by=cast.filler, expected_version=evaluation.version, edits=edit_rows(evaluation, 1))


def test_comment_counts(cast):
    workflow.submit(cast.evaluation, by=cast.filler)
    workflow.add_comment(fresh(cast.evaluation), by=cast.reviewer, text="一")
    assert ReviewComment.objects.filter(sent_in__isnull=True).count() == 1
