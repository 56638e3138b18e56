"""The evaluation's workflow: the only code that changes Evaluation.status.

Each transition runs in one transaction: it checks who acts and from which state, changes the status with a
conditional update on the version (so two people acting at once give exactly one transition, on SQLite and
PostgreSQL alike), and appends one Event with the total score at that moment. Notices go out after commit.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from evaluations import access, checklist, notifications, scoring
from evaluations.documents import archive
from evaluations.models import (
    EDITABLE_STATUSES,
    Evaluation,
    EvaluationStatus,
    Event,
    EventAction,
    FieldChange,
    ReviewComment,
    ReviewStage,
)

S = EvaluationStatus
A = EventAction


class WorkflowError(Exception):
    """A refused workflow step; the message says in plain Chinese why and what to do."""

    def __init__(self, message, problems=()):
        super().__init__(message)
        self.message = message
        self.problems = list(problems)


@dataclass(frozen=True)
class Transition:
    action: str  # an EventAction: its Chinese label is the button's and the record's
    sources: tuple
    target: str
    performer: str  # filler | department | finance | reviewer (of the current stage) | admin
    reason_required: bool

    @property
    def label(self):
        return EventAction(self.action).label

    @property
    def takes_reason(self):
        """The page asks for a reason (required) or a reviewer's opinion (optional); a submission asks neither."""
        return self.reason_required or self.performer != "filler"

    @property
    def sends_back(self):
        """Returns the evaluation to the unit (the page marks the button as a setback)."""
        return self.target == S.RETURNED


# fmt: off
TRANSITIONS = {t.action: t for t in (
    #          action                   from                                   to                      by            reason
    Transition(A.SUBMIT,             (S.DRAFT, S.RETURNED),                 S.SUBMITTED,            "filler",     False),
    Transition(A.DEPARTMENT_APPROVE, (S.SUBMITTED,),                        S.DEPARTMENT_REVIEWED,  "department", False),
    Transition(A.APPROVE,            (S.SUBMITTED, S.DEPARTMENT_REVIEWED),  S.APPROVED,             "finance",    False),
    Transition(A.RETURN_FOR_CHANGES, (S.SUBMITTED, S.DEPARTMENT_REVIEWED),  S.RETURNED,             "reviewer",   True),
    Transition(A.REOPEN,             (S.APPROVED,),                         S.RETURNED,             "admin",      True),
)}
# fmt: on


def current_stage(evaluation):
    """Which review stage the evaluation waits for, if any (models.REVIEW_STAGES: a unit with a 主管部门 is
    reviewed there first)."""
    return evaluation.review_stage


def refusal(user, evaluation, action):
    """Why `user` may not take `action` now (a Chinese sentence), or None when they may."""
    t = TRANSITIONS[action]
    if evaluation.status not in t.sources:
        return f"当前状态为“{evaluation.get_status_display()}”，不能{t.label}。"
    stage = current_stage(evaluation)
    if t.performer == "filler":
        if not access.is_member(user, evaluation.unit):
            return "只有本单位的填报人可以提交。"
        return None
    if t.performer == "admin":
        return None if access.is_admin(user) else "只有管理员可以重新打开已通过的自评。"
    needed = {"department": ReviewStage.DEPARTMENT, "finance": ReviewStage.FINANCE, "reviewer": stage}[t.performer]
    if needed != stage:
        return (
            "该自评需先经主管部门审核。" if stage == ReviewStage.DEPARTMENT else f"该自评当前不在{ReviewStage(needed).label}环节。"
        )
    if not access.in_charge_of(user, evaluation.unit, stage):
        return f"您不负责该单位的{ReviewStage(stage).label}。"
    if evaluation.submitted_by_id == user.pk:
        return "不能审核自己提交的自评。"
    if t.target != S.RETURNED and edited_this_round(user, evaluation):
        return f"您修改过本轮（自上次退回以来）的自评内容，不能再{t.label}：填报与审核须由不同的人完成。"
    return None


def edited_this_round(user, evaluation):
    """Whether `user` changed this evaluation's content since it was last returned (or since it started): who
    wrote it may not also approve it, at any role (segregation of duties; issue 13, item 11)."""
    last_return = (Event.objects.filter(evaluation=evaluation, action="return_for_changes")
                   .order_by("-pk").values_list("version", flat=True).first())
    return FieldChange.objects.filter(evaluation=evaluation, changed_by=user, version__gt=last_return or 0).exists()


def can(user, evaluation, action):
    return refusal(user, evaluation, action) is None


def available_actions(user, evaluation):
    return [t for t in TRANSITIONS.values() if can(user, evaluation, t.action)]


def can_edit(user, evaluation):
    """Fillers edit their own units' evaluations, and only while in 草稿 or 已退回; reviewers never edit."""
    return evaluation.status in EDITABLE_STATUSES and access.is_member(user, evaluation.unit)


def can_comment(user, evaluation):
    """Reviewers comment while the evaluation waits for their stage."""
    stage = current_stage(evaluation)
    return stage is not None and access.in_charge_of(user, evaluation.unit, stage) and evaluation.submitted_by_id != user.pk


def _total_score(evaluation):
    """The 综合得分 recorded with the event: the rows' stored scores, capped by the 执行率 where the rules say so."""
    total = type(evaluation).objects.filter(pk=evaluation.pk).with_total_score().values_list(
        "total_score_sum", flat=True).first()
    return scoring.quantize(total or 0)


@transaction.atomic
def _perform(evaluation, action, *, by, reason="", expected_version=None, event_fields=None, **fields):
    t = TRANSITIONS[action]
    reason = (reason or "").strip()
    problem = refusal(by, evaluation, action)
    if problem:
        raise WorkflowError(problem)
    if t.reason_required and not reason:
        raise WorkflowError(f"请填写{t.label}的原因。")
    if expected_version is not None and int(expected_version) != evaluation.version:
        raise WorkflowError("页面显示的不是最新内容（其他人刚刚修改或处理了该自评），请刷新页面后再操作。")
    updated = Evaluation.objects.filter(pk=evaluation.pk, status=evaluation.status, version=evaluation.version).update(
        status=t.target, version=F("version") + 1, updated_at=timezone.now(), **fields
    )
    if not updated:
        raise WorkflowError("该自评刚刚已被其他人处理或修改，请刷新页面查看最新状态。")
    event = Event.objects.create(
        evaluation=evaluation, action=action, from_status=evaluation.status, to_status=t.target, actor=by,
        reason=reason, total_score=_total_score(evaluation), version=evaluation.version + 1, **(event_fields or {}),
    )
    evaluation.status, evaluation.version = t.target, evaluation.version + 1
    for name, value in fields.items():
        setattr(evaluation, name, value)
    return event


def submit(evaluation, *, by, reason="", expected_version=None):
    """草稿/已退回 → 已提交, when the checklist has no blocking problem."""
    if evaluation.status in TRANSITIONS[A.SUBMIT].sources and access.is_member(by, evaluation.unit):
        loaded = Evaluation.objects.with_document_data().get(pk=evaluation.pk)
        problems = checklist.blocking(loaded)
        if problems:
            raise WorkflowError(f"还有 {len(problems)} 项需要完善，暂不能提交。", problems)
    event = _perform(
        evaluation, A.SUBMIT, by=by, reason=reason, expected_version=expected_version,
        submitted_at=timezone.now(), submitted_by=by,
    )
    stage = current_stage(evaluation)
    notifications.notify_reviewers(evaluation, stage, event)
    return event


def department_approve(evaluation, *, by, reason="", expected_version=None):
    event = _perform(evaluation, A.DEPARTMENT_APPROVE, by=by, reason=reason, expected_version=expected_version)
    notifications.notify_reviewers(evaluation, ReviewStage.FINANCE, event)
    return event


def approve(evaluation, *, by, reason="", expected_version=None):
    """已提交/主管部门已审核 → 已通过; the 说明 of exactly this version is stored and its SHA-256 recorded in the
    event, or the approval does not happen (issue 13, item 10)."""
    problem = refusal(by, evaluation, A.APPROVE)
    if problem:
        raise WorkflowError(problem)
    if expected_version is not None and int(expected_version) != evaluation.version:
        raise WorkflowError("页面显示的不是最新内容（其他人刚刚修改或处理了该自评），请刷新页面后再操作。")
    try:
        pdf = archive.render_for_approval(evaluation)  # before the transaction: rendering takes seconds
        project_pdfs = archive.render_projects_for_approval(evaluation) if pdf else []
        with transaction.atomic():
            # The conditional update on the version the PDF was rendered from: a change since refuses the approval.
            event = _perform(
                evaluation, A.APPROVE, by=by, reason=reason, expected_version=expected_version,
                event_fields={"document_sha256": archive.sha256(pdf) if pdf else ""},
            )
            if pdf:
                archive.store(evaluation, event, pdf)
                archive.store_projects(evaluation, event, project_pdfs)
    except archive.Unarchivable as error:
        raise WorkflowError(str(error)) from None
    notifications.notify_fillers(evaluation, event)
    return event


def return_for_changes(evaluation, *, by, reason="", expected_version=None):
    """Back to the unit with a reason; every comment not yet sent goes with it."""
    event = _perform(evaluation, A.RETURN_FOR_CHANGES, by=by, reason=reason, expected_version=expected_version)
    ReviewComment.objects.filter(evaluation=evaluation, sent_in__isnull=True).update(sent_in=event)
    notifications.notify_fillers(evaluation, event)
    return event


def reopen(evaluation, *, by, reason="", expected_version=None):
    """An admin reopens an approved evaluation (it leaves the public pages until approved again)."""
    event = _perform(evaluation, A.REOPEN, by=by, reason=reason, expected_version=expected_version, published_at=None)
    notifications.notify_fillers(evaluation, event)
    return event


ACTIONS = {
    A.SUBMIT: submit,
    A.DEPARTMENT_APPROVE: department_approve,
    A.APPROVE: approve,
    A.RETURN_FOR_CHANGES: return_for_changes,
    A.REOPEN: reopen,
}


def perform(action, evaluation, *, by, reason="", expected_version=None):
    if action not in ACTIONS:
        raise WorkflowError("未知的操作。")
    return ACTIONS[action](evaluation, by=by, reason=reason, expected_version=expected_version)


# --- Publication (信息公开) -------------------------------------------------------------------------


@transaction.atomic
def publish(evaluation, *, by, unpublish=False, reason=""):
    """An admin publishes an approved evaluation (or withdraws it); recorded as an event, status unchanged."""
    if not access.is_admin(by):
        raise WorkflowError("只有管理员可以公开或撤回公开。")
    if evaluation.status != S.APPROVED:
        raise WorkflowError("只有已通过审核的自评可以公开。")
    if unpublish and not (reason or "").strip():
        raise WorkflowError("请填写撤回公开的原因。")
    published_at = None if unpublish else timezone.now()
    Evaluation.objects.filter(pk=evaluation.pk).update(published_at=published_at)
    evaluation.published_at = published_at
    return Event.objects.create(
        evaluation=evaluation, action=A.UNPUBLISH if unpublish else A.PUBLISH, from_status=S.APPROVED,
        to_status=S.APPROVED, actor=by, reason=(reason or "").strip(), total_score=_total_score(evaluation),
        version=evaluation.version,
    )


# --- Review comments -------------------------------------------------------------------------------


@transaction.atomic
def add_comment(evaluation, *, by, text, result=None, section=None, project_row=None):
    """A comment on the package: the 部门整体 evaluation, one of its rows or sections, or a row of one of its
    projects (they are reviewed, returned and approved together). It waits for the next return, and is written
    only while the evaluation is as the reviewer saw it: a no-op update of its row, conditional on its status and
    version, takes the row's write lock first, so a return committing at the same instant either includes the
    comment in its notice or makes this refuse it (never stored after the return and never sent; issue 13,
    item 11)."""
    text = (text or "").strip()
    if not can_comment(by, evaluation):
        raise WorkflowError("只有负责当前审核环节的审核人可以提出审核意见。")
    if not text:
        raise WorkflowError("请填写审核意见。")
    for target in (result, section):
        if target is not None and target.evaluation_id != evaluation.pk:
            raise WorkflowError("审核意见所指的指标或章节不属于该自评。")
    if project_row is not None and project_row.project.evaluation_id != evaluation.pk:
        raise WorkflowError("审核意见所指的项目指标不属于该单位本年度的自评。")
    unchanged = Evaluation.objects.filter(pk=evaluation.pk, status=evaluation.status, version=evaluation.version)
    if not unchanged.update(version=F("version")):
        raise WorkflowError("该自评刚刚已被退回、通过或修改，本条意见未记录。请刷新页面查看最新状态；如仍需提出，请重新填写。")
    return ReviewComment.objects.create(
        evaluation=evaluation, author=by, text=text, result=result, section=section, project_row=project_row
    )


def answer_comment(comment, *, by, answer):
    answer = (answer or "").strip()
    if not can_edit(by, comment.evaluation) or comment.sent_in_id is None:
        raise WorkflowError("只有本单位填报人可以在退回后答复审核意见。")
    if not answer:
        raise WorkflowError("请填写答复内容。")
    comment.answer, comment.answered_by, comment.answered_at = answer, by, timezone.now()
    comment.save(update_fields=["answer", "answered_by", "answered_at"])
    return comment
