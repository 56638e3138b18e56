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


# --- load_demo in any state (issue 13, item 1): a second `make run` after the demo was used ----------------


def demo_state():
    """What the demo shows: the evaluation's status and content, what gathered around it, the users' roles."""
    from django.contrib.auth import get_user_model

    from evaluations.models import ArchivedDocument, Event, Evidence, FieldChange, ReviewComment, ReviewerCharge

    evaluation = Evaluation.objects.with_document_data().get(unit__code="440113-HLZ", framework__year=2024)
    users = get_user_model().objects.filter(username__in=["filler", "reviewer", "admin"]).order_by("username")
    return {
        "evaluation": (evaluation.status, evaluation.version, evaluation.budget_note, evaluation.submitted_at,
                       evaluation.published_at, str(evaluation.scorecard().total)),
        "rows": sorted((r.name, r.actual_value, r.actual_text, r.band, r.score, r.deviation_reason, r.weight)
                       for r in evaluation.results.all()),
        "budget": sorted((b.item, b.initial_budget, b.adjusted_budget, b.executed) for b in evaluation.budget_lines.all()),
        "sections": sorted((s.kind, s.order, s.body, s.points) for s in evaluation.sections.all()),
        "gathered": [m.objects.filter(evaluation=evaluation).count()
                     for m in (Event, ReviewComment, Evidence, ArchivedDocument, FieldChange)],
        "users": [(u.username, u.is_active, sorted(g.name for g in u.groups.all()),
                   sorted(x.code for x in u.filler_units.all()), u.check_password(f"demo-{u.username}-2024"))
                  for u in users],
        "charges": sorted((c.reviewer.username, c.unit.code, c.stage) for c in ReviewerCharge.objects.all()),
    }


@pytest.mark.archive
def test_load_demo_runs_again_after_a_full_cycle_and_puts_the_demo_back(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    """fill → submit → comment → return → answer → evidence → resubmit → approve (archived PDF) → publish →
    reopen: then load_demo again succeeds and the demo reads as it did after the first load."""
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from evaluations import evidence, workflow
    from tests.forms import form_data

    settings.DEBUG = True
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("load_demo", stdout=io.StringIO())
    first = demo_state()
    users = {u.username: u for u in get_user_model().objects.all()}
    evaluation = Evaluation.objects.get(unit__code="440113-HLZ")

    client = Client()
    client.force_login(users["filler"])
    data = form_data(client.get(f"/evaluations/{evaluation.pk}/edit/").content.decode(), "edit-form")
    data["note-budget_note"] = "填报人改过的说明"
    assert client.post(f"/evaluations/{evaluation.pk}/edit/", data).status_code == 302
    evaluation.refresh_from_db()
    evidence.attach(evaluation, SimpleUploadedFile("佐证.pdf", b"%PDF-1.4 demo"), by=users["filler"])
    workflow.submit(evaluation, by=users["filler"])
    workflow.add_comment(evaluation, by=users["reviewer"], text="请补充")
    workflow.return_for_changes(evaluation, by=users["reviewer"], reason="请修改")
    workflow.answer_comment(evaluation.comments.get(), by=users["filler"], answer="已补充")
    workflow.submit(evaluation, by=users["filler"])
    workflow.approve(evaluation, by=users["reviewer"])
    workflow.publish(evaluation, by=users["admin"])
    workflow.reopen(evaluation, by=users["admin"], reason="再看看")
    workflow.submit(evaluation, by=users["filler"])
    workflow.approve(evaluation, by=users["reviewer"])
    users["filler"].set_password("changed")
    users["filler"].is_active = False
    users["filler"].save()
    assert demo_state() != first
    stored = [p for p in (tmp_path / "media").rglob("*") if p.is_file()]
    assert stored  # the evidence and the archived PDFs

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):  # the files are removed once the rows are
        call_command("load_demo", stdout=out)
    assert "综合得分 94.96 分" in out.getvalue()
    assert demo_state() == first
    assert not [p for p in (tmp_path / "media").rglob("*") if p.is_file()]  # their files went with them
    call_command("load_demo", stdout=io.StringIO())
    assert demo_state() == first
