"""Notices to the responsible people only: the reviewers in charge on submit, the unit's fillers on return,
approval and reopening. E-mail goes through Django's mail after the transaction commits; the in-app list of
pending tasks is computed from the data (Evaluation.objects.awaiting), so it can never go stale."""

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.urls import reverse

from evaluations import access

SUBJECTS = {
    "submit": "【待审核】{evaluation}已提交",
    "department_approve": "【待审核】{evaluation}已通过主管部门审核",
    "approve": "【已通过】{evaluation}已审核通过",
    "return_for_changes": "【已退回】{evaluation}被退回修改",
    "reopen": "【已重新打开】{evaluation}已重新打开",
}


# Where each notice leads: reviewers to the review page; fillers to the edit page when the evaluation came back to
# them, to the 自评表 once it is approved.
PAGES = {"submit": "review", "department_approve": "review", "return_for_changes": "edit", "reopen": "edit",
         "approve": "detail"}


def evaluation_link(evaluation, action) -> str:
    """The full address of the page this notice is about, on SITE_URL (config/settings.py): a mail has no host."""
    return settings.SITE_URL + reverse(f"evaluations:{PAGES[action]}", args=[evaluation.pk])


def _send(users, event):
    recipients = sorted({u.email for u in users if u.email})
    if not recipients:
        return
    evaluation = event.evaluation
    subject = SUBJECTS[event.action].format(evaluation=evaluation)
    lines = [
        f"{evaluation}：{event.get_from_status_display()} → {event.get_to_status_display()}",
        f"操作人：{event.actor.get_full_name() or event.actor.username}",
        f"当时综合得分：{event.total_score} 分",
    ]
    if event.reason:
        lines.append(f"原因或意见：{event.reason}")
    comments = list(event.comments.select_related("result", "section__indicator"))
    if comments:
        lines.append("审核意见：")
        lines += [f"  {n}. {c.target_label}：{c.text}" for n, c in enumerate(comments, 1)]
    lines.append(f"请登录绩效自评系统查看：{evaluation_link(evaluation, event.action)}")
    body = "\n".join(lines)
    messages = [(subject, body, settings.DEFAULT_FROM_EMAIL, [r]) for r in recipients]
    transaction.on_commit(lambda: send_mass_mail(messages, fail_silently=True))


def notify_reviewers(evaluation, stage, event):
    _send(access.reviewers_in_charge(evaluation.unit, stage), event)


def notify_fillers(evaluation, event):
    _send(access.fillers_of(evaluation.unit), event)


RECHECK_SUBJECTS = {
    "confirm": "【复核结果】{evaluation}的财政复核已确认，请查看，如有异议请在 {deadline} 前申辩",
    "answer": "【复核申辩】{evaluation}的单位已提交申辩",
    "close": "【复核办结】{evaluation}的财政复核已办结",
}


def notify_recheck(recheck, event):
    """The unit on confirmation and closing; the bureau's reviewers in charge when the unit answers."""
    from evaluations.models import ReviewStage

    evaluation = recheck.evaluation
    if event.action == "answer":
        users = access.reviewers_in_charge(evaluation.unit, ReviewStage.FINANCE)
    else:
        users = access.fillers_of(evaluation.unit)
    recipients = sorted({u.email for u in users if u.email})
    if not recipients:
        return
    deadline = f"{recheck.answer_deadline:%Y-%m-%d}" if recheck.answer_deadline else "规定期限"
    subject = RECHECK_SUBJECTS[event.action].format(evaluation=evaluation, deadline=deadline)
    lines = [subject, f"复核得分：{recheck.total_score} 分（{recheck.grade}）" if recheck.total_score is not None else ""]
    if event.reason:
        lines.append(f"说明：{event.reason}")
    lines.append("请登录绩效自评系统查看。")
    body = "\n".join(line for line in lines if line)
    messages = [(subject, body, settings.DEFAULT_FROM_EMAIL, [r]) for r in recipients]
    transaction.on_commit(lambda: send_mass_mail(messages, fail_silently=True))
