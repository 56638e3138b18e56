"""Random actors taking random actions: only legal transitions happen, each writes exactly one event, and an
approved evaluation never changes. Plus the race: two reviewers acting at once give exactly one transition."""

import os
import threading

import pytest
from django.db import connection, connections, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from evaluations import access, editing, workflow
from evaluations.models import Evaluation, EvaluationStatus, Event
from tests.factories import make_evaluation, make_unit, make_user

S = EvaluationStatus
ACTORS = ["filler", "other_filler", "reviewer", "other_reviewer", "admin"]


class WorkflowMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        district = make_unit("区")
        town = make_unit("镇", parent=district)
        self.evaluation_id = make_evaluation(unit=town).pk
        self.users = {
            "filler": make_user(access.FILLER, units=[town]),
            "other_filler": make_user(access.FILLER, units=[make_unit("别镇")]),
            "reviewer": make_user(access.REVIEWER, charge=district),
            "other_reviewer": make_user(access.REVIEWER, charge=make_unit("别区")),
            "admin": make_user(access.ADMIN),
        }
        self.approved_snapshot = None

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def load(self):
        return Evaluation.objects.with_document_data().get(pk=self.evaluation_id)

    def content(self):
        return list(self.load().results.order_by("pk").values_list("score", "actual_value", "deviation_reason"))

    @rule(actor=st.sampled_from(ACTORS), action=st.sampled_from(list(workflow.TRANSITIONS)), reason=st.sampled_from(["", "请修改"]))
    def act(self, actor, action, reason):
        evaluation = self.load()
        before_status, before_events = evaluation.status, Event.objects.count()
        try:
            with transaction.atomic():
                workflow.perform(action, evaluation, by=self.users[actor], reason=reason)
        except workflow.WorkflowError:
            assert self.load().status == before_status
            assert Event.objects.count() == before_events
            return
        t = workflow.TRANSITIONS[action]
        assert before_status in t.sources and self.load().status == t.target
        assert Event.objects.count() == before_events + 1
        event = Event.objects.latest("pk")
        assert (event.from_status, event.to_status, event.actor) == (before_status, t.target, self.users[actor])
        if t.reason_required:
            assert reason
        self.approved_snapshot = self.content() if t.target == S.APPROVED else None

    @rule(actor=st.sampled_from(ACTORS))
    def edit(self, actor):
        evaluation = self.load()
        row = evaluation.results.all()[0]
        old = {"deviation_reason": row.deviation_reason}
        row.deviation_reason = row.deviation_reason + "改"
        try:
            with transaction.atomic():
                editing.save_content(evaluation, by=self.users[actor], expected_version=evaluation.version, edits=[(row, old)])
        except workflow.WorkflowError:
            return
        assert actor == "filler" and evaluation.status in (S.DRAFT, S.RETURNED)

    @invariant()
    def approved_never_changes(self):
        if self.approved_snapshot is not None:
            assert self.load().status == S.APPROVED
            assert self.content() == self.approved_snapshot


@pytest.mark.django_db
def test_random_actors_only_make_legal_transitions():
    run_state_machine_as_test(
        WorkflowMachine,
        # FUZZ_EXAMPLES as in test_fuzz.py: `make test-fast` runs fewer, `make test` the full 25.
        settings=settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 25)), stateful_step_count=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow]),
    )


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_at_once_give_exactly_one_transition():
    if connection.vendor != "postgresql":
        pytest.skip("并发测试需要 PostgreSQL（设置 DATABASE_URL；CI 中运行）")
    district = make_unit("区")
    town = make_unit("镇", parent=district)
    evaluation = make_evaluation(unit=town)
    filler = make_user(access.FILLER, units=[town])
    first, second = make_user(access.REVIEWER, charge=district), make_user(access.REVIEWER, charge=district)
    workflow.submit(evaluation, by=filler)
    barrier = threading.Barrier(2)
    outcomes = []

    def act(user, action):
        try:
            loaded = Evaluation.objects.select_related("unit").get(pk=evaluation.pk)
            barrier.wait()
            workflow.perform(action, loaded, by=user, reason="请修改")
            outcomes.append("ok")
        except workflow.WorkflowError as error:
            outcomes.append(error.message)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=act, args=(first, "approve")),
               threading.Thread(target=act, args=(second, "return_for_changes"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 2 and outcomes.count("ok") == 1, outcomes
    assert "该自评刚刚已被其他人处理或修改，请刷新页面查看最新状态。" in outcomes
    assert Event.objects.filter(evaluation=evaluation).count() == 2  # the submit and exactly one review step
