import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from evaluations.models import Evaluation, IndicatorResult, NarrativeSection, Unit

pytestmark = pytest.mark.django_db


def test_load_demo_is_idempotent_and_prints_the_passwords(settings):
    settings.DEBUG = True
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    first = (Unit.objects.count(), Evaluation.objects.count(), IndicatorResult.objects.count(), NarrativeSection.objects.count())
    call_command("load_demo", stdout=out)
    assert (Unit.objects.count(), Evaluation.objects.count(), IndicatorResult.objects.count(), NarrativeSection.objects.count()) == first
    text = out.getvalue()
    assert "综合得分 94.96 分，自评结果“优”" in text
    for line in ("filler / demo-filler-2024 / 填报人", "reviewer / demo-reviewer-2024 / 审核人", "admin / demo-admin-2024 / 管理员"):
        assert line in text


def test_load_demo_refuses_in_production_unless_forced(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("load_demo", stdout=io.StringIO())
    assert not Evaluation.objects.exists()
    call_command("load_demo", "--force", stdout=io.StringIO())
    assert Evaluation.objects.count() == 1


def test_demo_users_have_their_roles(demo):
    from django.contrib.auth import get_user_model

    users = {u.username: u for u in get_user_model().objects.prefetch_related("groups", "filler_units")}
    assert [g.name for g in users["filler"].groups.all()] == ["填报人"]
    assert [u.code for u in users["filler"].filler_units.all()] == ["440113-HLZ"]
    assert users["admin"].is_staff and not users["filler"].is_staff
    assert users["reviewer"].review_charges.get().unit.code == "440113"
