"""Issue 13, item 11: a comment never slips in after a return unsent; who wrote a round may not approve it."""

from types import SimpleNamespace

import pytest

from evaluations import access, editing, workflow
from evaluations.models import Evaluation, EvaluationStatus, ReviewComment
from evaluations.workflow import WorkflowError
from tests.factories import make_evaluation, make_unit, make_user

pytestmark = pytest.mark.django_db
S = EvaluationStatus


@pytest.fixture
def cast(db):
    district = make_unit("区政府")
    town = make_unit("镇政府", parent=district)
    evaluation = make_evaluation(unit=town)
    filler = make_user(access.FILLER, units=[town])
    reviewer = make_user(access.REVIEWER, charge=district)
    return SimpleNamespace(evaluation=evaluation, filler=filler, reviewer=reviewer, town=town, district=district)


def fresh(evaluation):
    return Evaluation.objects.with_document_data().get(pk=evaluation.pk)


def submitted(cast):
    workflow.submit(fresh(cast.evaluation), by=cast.filler)
    return fresh(cast.evaluation)


def test_a_comment_posted_as_the_evaluation_is_returned_is_refused_not_left_unsent(cast):
    seen_by_commenter = submitted(cast)  # the reviewer's request loaded it while still 已提交
    workflow.return_for_changes(fresh(cast.evaluation), by=cast.reviewer, reason="请补充")
    with pytest.raises(WorkflowError, match="本条意见未记录"):
        workflow.add_comment(seen_by_commenter, by=cast.reviewer, text="迟到的意见")
    assert not ReviewComment.objects.filter(sent_in__isnull=True).exists()


def test_a_comment_made_before_the_return_goes_with_it(cast):
    evaluation = submitted(cast)
    comment = workflow.add_comment(evaluation, by=cast.reviewer, text="请核实数据来源")
    event = workflow.return_for_changes(fresh(evaluation), by=cast.reviewer, reason="请补充")
    comment.refresh_from_db()
    assert comment.sent_in == event


def test_commenting_does_not_change_the_version_a_page_was_opened_at(cast):
    evaluation = submitted(cast)
    workflow.add_comment(evaluation, by=cast.reviewer, text="意见")
    assert fresh(evaluation).version == evaluation.version


def edit_note(evaluation, by, text):
    evaluation = fresh(evaluation)
    old = {"budget_note": evaluation.budget_note}
    evaluation.budget_note = text
    editing.save_content(evaluation, by=by, edits=[(evaluation, old)])


def test_who_edited_this_round_may_not_approve_it_at_another_role(cast):
    both = make_user(access.REVIEWER, units=[cast.town], charge=cast.district)  # a filler and the reviewer
    both.groups.add(*make_user(access.FILLER).groups.all())
    edit_note(cast.evaluation, both, "我填写的说明")
    evaluation = submitted(cast)  # submitted by the unit's other filler
    refused = workflow.refusal(both, evaluation, "approve")
    assert refused == "您修改过本轮（自上次退回以来）的自评内容，不能再审核通过：填报与审核须由不同的人完成。"
    assert "approve" not in [t.action for t in workflow.available_actions(both, evaluation)]
    with pytest.raises(WorkflowError, match="填报与审核须由不同的人完成"):
        workflow.approve(evaluation, by=both)
    # Returning it is still theirs to do; and a round they did not write, they may approve.
    workflow.return_for_changes(evaluation, by=both, reason="请另一位同事复核")
    edit_note(cast.evaluation, cast.filler, "同事修改后的说明")
    evaluation = submitted(cast)
    assert workflow.refusal(both, evaluation, "approve") is None
    workflow.approve(evaluation, by=both)
    assert fresh(evaluation).status == S.APPROVED
