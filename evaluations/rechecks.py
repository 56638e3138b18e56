"""复核 and 整改: the only code that changes a Recheck's or a Rectification's status, or a 复核 score.

Kept beside workflow.py rather than in it: workflow.py's table is the evaluation's own life (草稿 → 已通过), with
its version check on Evaluation; a 复核 is a second object with its own states, actors (drafter, a second
reviewer, the unit) and version, and mixing the two tables would make neither readable at a glance. The shape
is the same: one table of transitions, refusal()/can(), one function per step, each in a transaction with a
conditional update and an audit row (RecheckEvent). The unit's IndicatorResult is never written here.
"""

from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from evaluations import access, notifications, scoring
from evaluations import text as text_boundary
from evaluations.models import (
    FINAL_STATES,
    DeductionReason,
    EvaluationStatus,
    Recheck,
    RecheckEvent,
    RecheckScore,
    RecheckStatus,
    Rectification,
    RectificationState,
    ReviewStage,
)

R = RecheckStatus
MAX_TEXT = text_boundary.COMMENT_LIMIT  # every free text typed here: opinions, notes, answers, 整改


class RecheckError(Exception):
    """A refused step; the message says in plain Chinese why and what to do."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    sources: tuple
    target: str
    performer: str  # drafter | second (a reviewer in charge other than the drafter) | reviewer | filler
    reason_required: bool


# fmt: off
TRANSITIONS = {t.action: t for t in (
    #          action     label         from                    to           by          reason
    Transition("confirm", "确认复核结果", (R.DRAFT,),             R.CONFIRMED, "second",   False),
    Transition("answer",  "提交申辩",     (R.CONFIRMED,),         R.ANSWERED,  "filler",   True),
    Transition("revise",  "重新复核",     (R.ANSWERED,),          R.DRAFT,     "reviewer", True),
    Transition("close",   "办结",         (R.CONFIRMED, R.ANSWERED), R.CLOSED, "reviewer", False),
)}
# fmt: on

ACTION_LABELS = {a: t.label for a, t in TRANSITIONS.items()} | {
    "draw": "抽取复核", "rescore": "复核评分", "rectify": "提出整改", "rectify_answer": "反馈整改",
    "rectify_close": "整改销号", "rectify_reopen": "退回整改",
}


def _clean(text, label):
    text = (text_boundary.normalise(text) or "").strip()
    if len(text) > MAX_TEXT:
        raise RecheckError(f"{label}不能超过 {MAX_TEXT} 字（现有 {len(text)} 字），请精简后再提交。")
    return text


def may_recheck(user, unit):
    """The finance bureau's reviewers in charge of the unit draw, score and confirm its 复核."""
    return access.in_charge_of(user, unit, ReviewStage.FINANCE)


def refusal(user, recheck, action, *, today=None):
    t = TRANSITIONS[action]
    unit = recheck.evaluation.unit
    if recheck.status not in t.sources:
        return f"复核当前状态为“{recheck.get_status_display()}”，不能{t.label}。"
    if t.performer == "filler":
        if not access.is_member(user, unit):
            return "只有本单位的填报人可以提交申辩。"
        today = today or timezone.localdate()
        if recheck.answer_deadline and today > recheck.answer_deadline:
            return f"申辩截止日期（{recheck.answer_deadline:%Y-%m-%d}）已过，不能再提交申辩。"
        return None
    if not may_recheck(user, unit):
        return "您不负责该单位的财政复核。"
    if t.performer == "second" and user.pk == recheck.drafted_by_id:
        return "复核须由另一位审核人确认，不能确认自己起草的复核。"
    if action == "close" and recheck.status == R.CONFIRMED:
        today = today or timezone.localdate()
        if recheck.answer_deadline and today <= recheck.answer_deadline:
            return f"申辩截止日期（{recheck.answer_deadline:%Y-%m-%d}）未到，单位仍可申辩，暂不能办结。"
    return None


def can(user, recheck, action):
    return refusal(user, recheck, action) is None


def available_actions(user, recheck):
    return [t for t in TRANSITIONS.values() if can(user, recheck, t.action)]


def may_see(user, recheck):
    """The bureau sees its 复核 from the draft on; the unit once confirmed (a draft is a working paper)."""
    return access.is_reviewer(user) or access.is_admin(user) or recheck.status in FINAL_STATES


def can_rescore(user, recheck):
    """The drafter scores while the 复核 is a draft; the confirmer checks, and does not score."""
    return recheck.status == R.DRAFT and user.pk == recheck.drafted_by_id and may_recheck(user, recheck.evaluation.unit)


def _log(recheck, action, *, by, from_status="", to_status="", reason="", total=None, rectification=None):
    return RecheckEvent.objects.create(
        evaluation_id=recheck.evaluation_id if recheck else rectification.evaluation_id, recheck=recheck,
        rectification=rectification, action=action, from_status=from_status, to_status=to_status, actor=by,
        reason=reason, total_score=total,
    )


@transaction.atomic
def draw(evaluation, *, by, reasons=()):
    """Put an evaluation into the sample: a draft 复核 by `by`, with the risk reasons shown when it was drawn."""
    if not may_recheck(by, evaluation.unit):
        raise RecheckError(f"您不负责{evaluation.unit.name}的财政复核，不能抽取。")
    if evaluation.status != EvaluationStatus.APPROVED:
        raise RecheckError(f"{evaluation}尚未审核通过（当前为“{evaluation.get_status_display()}”），通过后才能复核。")
    if Recheck.objects.filter(evaluation=evaluation).exists():
        raise RecheckError(f"{evaluation}已在复核样本中。")
    recheck = Recheck.objects.create(evaluation=evaluation, drafted_by=by, sampled_reasons=list(reasons))
    _log(recheck, "draw", by=by, to_status=R.DRAFT, reason="；".join(reasons) or "人工添加")
    return recheck


@transaction.atomic
def rescore(recheck, result, *, by, score, reason=None, note="", expected_version=None):
    """The bureau's score for one row, with a reason when it differs from the unit's. A score equal to the
    unit's removes the re-score. Never writes the unit's row."""
    if not can_rescore(by, recheck):
        raise RecheckError("只有起草该复核的审核人可以在复核确认前评分。")
    if result.evaluation_id != recheck.evaluation_id:
        raise RecheckError("该指标不属于本次复核的自评。")
    note = _clean(note, "复核说明")
    try:
        score = scoring.quantize(Decimal(score))
    except (ArithmeticError, TypeError, ValueError):
        raise RecheckError(f"“{result.name}”的复核得分应为数字。") from None
    if not (Decimal("0") <= score <= result.weight):
        raise RecheckError(f"“{result.name}”的复核得分应在 0 到 {scoring.plain(result.weight)} 分之间。")
    if reason is not None and not isinstance(reason, DeductionReason):
        raise RecheckError("请从标准扣分原因中选择。")
    own = scoring.quantize(result.score or 0)
    if score != own and reason is None and not note:
        raise RecheckError(f"“{result.name}”的复核得分与自评不同，请选择扣分原因或填写复核说明。")
    _bump(recheck, expected_version)
    existing = RecheckScore.objects.filter(recheck=recheck, result=result).first()
    before = scoring.quantize(existing.score) if existing else own
    if score == own:
        RecheckScore.objects.filter(recheck=recheck, result=result).delete()
        saved = None
    else:
        saved, _ = RecheckScore.objects.update_or_create(
            recheck=recheck, result=result, defaults={"score": score, "reason": reason, "note": note, "scored_by": by},
        )
    text = f"“{result.name}”：{scoring.plain(before)} → {scoring.plain(score)}（自评 {scoring.plain(own)}）"
    if saved is not None and saved.reason_text:
        text += f"，{saved.reason_text}"
    _log(recheck, "rescore", by=by, from_status=recheck.status, to_status=recheck.status, reason=text)
    return saved


def _bump(recheck, expected_version, **fields):
    """The conditional update that makes two people acting at once give exactly one change."""
    if expected_version is not None and int(expected_version) != recheck.version:
        raise RecheckError("页面显示的不是最新的复核内容（其他人刚刚修改了该复核），请刷新页面后再操作。")
    updated = Recheck.objects.filter(pk=recheck.pk, status=recheck.status, version=recheck.version).update(
        version=F("version") + 1, **fields
    )
    if not updated:
        raise RecheckError("该复核刚刚已被其他人处理或修改，请刷新页面查看最新状态。")
    recheck.version += 1
    for name, value in fields.items():
        setattr(recheck, name, value)


@transaction.atomic
def _perform(recheck, action, *, by, reason="", expected_version=None, total=None, **fields):
    t = TRANSITIONS[action]
    reason = _clean(reason, "说明")
    problem = refusal(by, recheck, action)
    if problem:
        raise RecheckError(problem)
    if t.reason_required and not reason:
        raise RecheckError("请填写申辩内容。" if action == "answer" else f"请填写{t.label}的原因。")
    source = recheck.status
    _bump(recheck, expected_version, status=t.target, **fields)
    return _log(recheck, action, by=by, from_status=source, to_status=t.target, reason=reason, total=total)


def confirm(recheck, *, by, opinion="", answer_deadline=None, expected_version=None):
    """A second reviewer confirms: the 复核 total and grade are fixed and become the year's final result; the
    unit is told and may answer by the deadline."""
    opinion = _clean(opinion, "复核意见") or recheck.opinion
    if not opinion:
        raise RecheckError("请填写复核意见（将写入复核意见书）。")
    if answer_deadline is None:
        raise RecheckError("请填写申辩截止日期。")
    if answer_deadline < timezone.localdate():
        raise RecheckError("申辩截止日期不能早于今天。")
    evaluation = recheck.evaluation
    _own, total = recheck.totals()
    grade = scoring.grade(total, evaluation.framework.grade_thresholds)
    event = _perform(
        recheck, "confirm", by=by, reason=opinion, expected_version=expected_version, total=total,
        confirmed_by=by, confirmed_at=timezone.now(), total_score=total, grade=grade, opinion=opinion,
        answer_deadline=answer_deadline,
    )
    notifications.notify_recheck(recheck, event)
    return event


def answer(recheck, *, by, text, expected_version=None):
    event = _perform(
        recheck, "answer", by=by, reason=text, expected_version=expected_version,
        answer=_clean(text, "申辩内容"), answered_by=by, answered_at=timezone.now(),
    )
    notifications.notify_recheck(recheck, event)
    return event


def revise(recheck, *, by, reason="", expected_version=None):
    """The 申辩 is accepted in part: the 复核 goes back to draft, to be re-scored and confirmed again."""
    return _perform(recheck, "revise", by=by, reason=reason, expected_version=expected_version)


def close(recheck, *, by, reason="", expected_version=None):
    event = _perform(recheck, "close", by=by, reason=reason, expected_version=expected_version,
                     total=recheck.total_score, closing_note=_clean(reason, "办结意见"))
    notifications.notify_recheck(recheck, event)
    return event


ACTIONS = {"confirm": confirm, "answer": answer, "revise": revise, "close": close}


# --- 整改 ------------------------------------------------------------------------------------------

RS = RectificationState


def may_rectify(user, evaluation):
    return may_recheck(user, evaluation.unit)


def can_answer_rectification(user, item):
    return item.state == RS.OPEN and access.is_member(user, item.evaluation.unit)


def can_review_rectification(user, item):
    return item.state == RS.ANSWERED and may_rectify(user, item.evaluation)


@transaction.atomic
def add_rectification(evaluation, *, by, problem, requirement="", deadline=None, recheck=None):
    if not may_rectify(by, evaluation):
        raise RecheckError("只有负责该单位财政复核的审核人可以提出整改事项。")
    problem, requirement = _clean(problem, "存在问题"), _clean(requirement, "整改要求")
    if not problem:
        raise RecheckError("请填写存在的问题。")
    if deadline is None:
        raise RecheckError("请填写整改期限。")
    if recheck is not None and recheck.evaluation_id != evaluation.pk:
        raise RecheckError("该复核不属于这份自评。")
    item = Rectification.objects.create(
        evaluation=evaluation, recheck=recheck, problem=problem, requirement=requirement, deadline=deadline, created_by=by
    )
    _log(None, "rectify", by=by, to_status=RS.OPEN, reason=problem, rectification=item)
    return item


@transaction.atomic
def answer_rectification(item, *, by, text, evidence=None):
    """The unit reports what it did, with an optional evidence file (checked by evaluations.evidence)."""
    from evaluations import evidence as evidence_files

    if not access.is_member(by, item.evaluation.unit):
        raise RecheckError("只有本单位的填报人可以反馈整改情况。")
    if item.state != RS.OPEN:
        raise RecheckError(f"该整改事项当前为“{item.get_state_display()}”，不能反馈。")
    text = _clean(text, "整改情况")
    if not text:
        raise RecheckError("请填写整改情况。")
    fields = {"state": RS.ANSWERED, "answer": text, "answered_by": by, "answered_at": timezone.now()}
    updated = Rectification.objects.filter(pk=item.pk, state=RS.OPEN).update(**fields)
    if not updated:
        raise RecheckError("该整改事项刚刚已被处理，请刷新页面。")
    for name, value in fields.items():
        setattr(item, name, value)
    if evidence is not None:
        try:
            kind = evidence_files.check_upload(evidence)
        except ValidationError as error:
            raise RecheckError(" ".join(error.messages)) from None
        item.evidence_kind, item.evidence_name = kind, PurePath(evidence.name).name[:255]
        item.evidence.save(f"evidence.{kind}", evidence, save=False)
        item.save(update_fields=["evidence", "evidence_kind", "evidence_name"])
    _log(None, "rectify_answer", by=by, from_status=RS.OPEN, to_status=RS.ANSWERED, reason=text, rectification=item)
    return item


@transaction.atomic
def review_rectification(item, *, by, accept, reason=""):
    """The bureau closes an answered item (销号), or sends it back to the unit with a reason."""
    if not may_rectify(by, item.evaluation):
        raise RecheckError("只有负责该单位财政复核的审核人可以销号或退回整改。")
    if item.state != RS.ANSWERED:
        raise RecheckError(f"该整改事项当前为“{item.get_state_display()}”，单位反馈后才能销号或退回。")
    reason = _clean(reason, "说明")
    if not accept and not reason:
        raise RecheckError("请填写退回整改的原因。")
    target = RS.CLOSED if accept else RS.OPEN
    fields = {"state": target} | ({"closed_by": by, "closed_at": timezone.now()} if accept else {})
    if not Rectification.objects.filter(pk=item.pk, state=RS.ANSWERED).update(**fields):
        raise RecheckError("该整改事项刚刚已被处理，请刷新页面。")
    for name, value in fields.items():
        setattr(item, name, value)
    _log(None, "rectify_close" if accept else "rectify_reopen", by=by, from_status=RS.ANSWERED, to_status=target,
         reason=reason, rectification=item)
    return item
