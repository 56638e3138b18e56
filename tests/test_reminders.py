import datetime
import io

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from evaluations import access, workflow
from tests.factories import make_evaluation, make_framework, make_unit, make_user

pytestmark = pytest.mark.django_db


def test_reminds_fillers_of_units_that_have_not_submitted():
    framework = make_framework()
    framework.submission_deadline = datetime.date(2025, 3, 31)
    framework.save()
    not_started, drafting, done = make_unit("未开始镇"), make_unit("草稿镇"), make_unit("已提交镇")
    make_user(access.FILLER, units=[not_started]).__class__.objects.filter(pk__gt=0).update(email="")
    a = make_user(access.FILLER, units=[not_started])
    b = make_user(access.FILLER, units=[drafting])
    c = make_user(access.FILLER, units=[done])
    for user, email in ((a, "a@x.invalid"), (b, "b@x.invalid"), (c, "c@x.invalid")):
        user.email = email
        user.save()
    make_evaluation(unit=drafting)
    submitted = make_evaluation(unit=done)
    workflow.submit(submitted, by=c)
    out = io.StringIO()
    call_command("send_reminders", "--year", "2024", stdout=out)
    assert sorted(m.to[0] for m in mail.outbox) == ["a@x.invalid", "b@x.invalid"]
    assert "2025年03月31日" in mail.outbox[0].subject
    assert "已提醒 2 人次" in out.getvalue()


def test_without_deadline_says_what_to_set():
    make_framework()
    with pytest.raises(CommandError, match="未设置提交截止日期"):
        call_command("send_reminders", "--year", "2024")
