"""复核: drawn by one reviewer, re-scored row by row, confirmed by another, answered by the unit, closed; 整改."""

import datetime
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from evaluations import access, rechecks, workflow
from evaluations.models import DeductionReason, IndicatorResult, Recheck, RecheckEvent, RecheckStatus
from tests.factories import make_evaluation, make_unit, make_user

pytestmark = pytest.mark.django_db
TOMORROW = timezone.localdate() + datetime.timedelta(days=1)


@pytest.fixture
def cast():
    district = make_unit("某区")
    town = make_unit("某镇", parent=district)
    evaluation = make_evaluation(unit=town)
    people = {
        "filler": make_user(access.FILLER, units=[town]),
        "drafter": make_user(access.REVIEWER, charge=district),
        "second": make_user(access.REVIEWER, charge=district),
        "stranger": make_user(access.REVIEWER, charge=make_unit("别区")),
    }
    workflow.submit(evaluation, by=people["filler"])
    workflow.approve(evaluation, by=people["drafter"])
    return evaluation, people


def rows(evaluation):
    return {r.name: r for r in evaluation.results.all()}


def test_a_recheck_never_changes_the_units_own_scores(cast):
    evaluation, p = cast
    own = dict(IndicatorResult.objects.filter(evaluation=evaluation).values_list("pk", "score"))
    recheck = rechecks.draw(evaluation, by=p["drafter"], reasons=["综合得分由上年 80 分升至 100 分，提高 20 分。"])
    reason = DeductionReason.objects.get(text="实际完成值缺少佐证材料")
    r = rows(evaluation)
    rechecks.rescore(recheck, r["产出指标1"], by=p["drafter"], score="20", reason=reason)
    rechecks.rescore(recheck, r["服务对象满意度"], by=p["drafter"], score="16.5", note="满意度调查样本仅 12 份")
    recheck = Recheck.objects.get(pk=recheck.pk)
    assert recheck.totals() == (D("100.00"), D("86.50"))
    compared = {c.row.name: c for c in recheck.compared_rows()}
    assert (compared["产出指标1"].own, compared["产出指标1"].bureau, compared["产出指标1"].difference) == (
        D("30.00"), D("20.00"), D("-10.00"))
    assert compared["服务对象满意度"].rescored.reason_text == "满意度调查样本仅 12 份"
    rechecks.confirm(recheck, by=p["second"], opinion="部分指标佐证不足。", answer_deadline=TOMORROW)
    recheck.refresh_from_db()
    assert (recheck.status, recheck.total_score, recheck.grade) == (RecheckStatus.CONFIRMED, D("86.50"), "良")
    assert dict(IndicatorResult.objects.filter(evaluation=evaluation).values_list("pk", "score")) == own
    assert list(RecheckEvent.objects.filter(recheck=recheck).values_list("action", flat=True)) == [
        "draw", "rescore", "rescore", "confirm"]


def test_the_drafter_cannot_confirm_their_own_recheck(cast):
    evaluation, p = cast
    recheck = rechecks.draw(evaluation, by=p["drafter"])
    with pytest.raises(rechecks.RecheckError, match="另一位审核人确认"):
        rechecks.confirm(recheck, by=p["drafter"], opinion="好", answer_deadline=TOMORROW)
    with transaction.atomic(), pytest.raises(IntegrityError):  # and the database refuses it too
        Recheck.objects.filter(pk=recheck.pk).update(confirmed_by=p["drafter"])
    assert Recheck.objects.get(pk=recheck.pk).status == RecheckStatus.DRAFT


def test_a_different_score_needs_a_reason_and_stays_within_the_weight(cast):
    evaluation, p = cast
    recheck = rechecks.draw(evaluation, by=p["drafter"])
    row = rows(evaluation)["服务对象满意度"]
    with pytest.raises(rechecks.RecheckError, match="请选择扣分原因或填写复核说明"):
        rechecks.rescore(recheck, row, by=p["drafter"], score="10")
    with pytest.raises(rechecks.RecheckError, match="应在 0 到 20 分之间"):
        rechecks.rescore(recheck, row, by=p["drafter"], score="21", note="超")
    with pytest.raises(rechecks.RecheckError, match="应为数字"):
        rechecks.rescore(recheck, row, by=p["drafter"], score="十", note="超")
    assert not recheck.scores.exists() and RecheckEvent.objects.filter(action="rescore").count() == 0


def test_only_the_drafter_scores_and_only_in_draft(cast):
    evaluation, p = cast
    recheck = rechecks.draw(evaluation, by=p["drafter"])
    row = rows(evaluation)["服务对象满意度"]
    with pytest.raises(rechecks.RecheckError, match="起草该复核的审核人"):
        rechecks.rescore(recheck, row, by=p["second"], score="10", note="x")
    rechecks.confirm(recheck, by=p["second"], opinion="无异议。", answer_deadline=TOMORROW)
    with pytest.raises(rechecks.RecheckError, match="起草该复核的审核人"):
        rechecks.rescore(recheck, row, by=p["drafter"], score="10", note="x")


def test_a_reviewer_samples_only_approved_evaluations_in_their_charge(cast):
    evaluation, p = cast
    with pytest.raises(rechecks.RecheckError, match="不负责"):
        rechecks.draw(evaluation, by=p["stranger"])
    draft = make_evaluation(unit=make_unit("新镇", parent=evaluation.unit.parent))
    with pytest.raises(rechecks.RecheckError, match="尚未审核通过"):
        rechecks.draw(draft, by=p["drafter"])
    rechecks.draw(evaluation, by=p["drafter"])
    with pytest.raises(rechecks.RecheckError, match="已在复核样本中"):
        rechecks.draw(evaluation, by=p["second"])


def test_the_unit_answers_by_the_deadline_then_the_bureau_closes(cast):
    evaluation, p = cast
    recheck = rechecks.draw(evaluation, by=p["drafter"])
    rechecks.confirm(recheck, by=p["second"], opinion="佐证不足。", answer_deadline=TOMORROW)
    with pytest.raises(rechecks.RecheckError, match="未到"):
        rechecks.close(recheck, by=p["drafter"])  # the unit may still answer
    with pytest.raises(rechecks.RecheckError, match="本单位的填报人"):
        rechecks.answer(recheck, by=p["second"], text="异议")
    with pytest.raises(rechecks.RecheckError, match="请填写申辩内容"):
        rechecks.answer(recheck, by=p["filler"], text="  ")
    rechecks.answer(recheck, by=p["filler"], text="满意度调查另有 200 份问卷，附后。")
    rechecks.close(recheck, by=p["drafter"], reason="申辩理由不成立，维持复核结果。")
    recheck.refresh_from_db()
    assert recheck.status == RecheckStatus.CLOSED and recheck.answer.startswith("满意度调查")
    assert recheck.closing_note == "申辩理由不成立，维持复核结果。"


def test_after_the_deadline_the_unit_can_no_longer_answer(cast):
    evaluation, p = cast
    recheck = rechecks.draw(evaluation, by=p["drafter"])
    rechecks.confirm(recheck, by=p["second"], opinion="佐证不足。", answer_deadline=timezone.localdate())
    assert "已过" in rechecks.refusal(p["filler"], recheck, "answer", today=TOMORROW)


def test_an_accepted_answer_sends_the_recheck_back_to_draft_to_be_confirmed_again(cast):
    evaluation, p = cast
    recheck = rechecks.draw(evaluation, by=p["drafter"])
    row = rows(evaluation)["服务对象满意度"]
    rechecks.rescore(recheck, row, by=p["drafter"], score="10", note="无问卷")
    rechecks.confirm(recheck, by=p["second"], opinion="满意度无佐证。", answer_deadline=TOMORROW)
    rechecks.answer(recheck, by=p["filler"], text="问卷已补交。")
    rechecks.revise(recheck, by=p["drafter"], reason="问卷属实")
    rechecks.rescore(recheck, row, by=p["drafter"], score="20")  # back to the unit's own: no re-score left
    assert not recheck.scores.exists()
    rechecks.confirm(recheck, by=p["second"], opinion="申辩成立。", answer_deadline=TOMORROW)
    recheck.refresh_from_db()
    assert recheck.total_score == D("100.00") and recheck.grade == "优"


def test_a_stale_page_cannot_confirm(cast):
    evaluation, p = cast
    recheck = rechecks.draw(evaluation, by=p["drafter"])
    seen = recheck.version
    rechecks.rescore(recheck, rows(evaluation)["服务对象满意度"], by=p["drafter"], score="10", note="x")
    with pytest.raises(rechecks.RecheckError, match="刷新页面"):
        rechecks.confirm(recheck, by=p["second"], opinion="好", answer_deadline=TOMORROW, expected_version=seen)
    assert Recheck.objects.get(pk=recheck.pk).status == RecheckStatus.DRAFT


def test_rectification_from_open_to_closed(cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    evaluation, p = cast
    item = rechecks.add_rectification(evaluation, by=p["drafter"], problem="满意度调查不规范", deadline=TOMORROW)
    with pytest.raises(rechecks.RecheckError, match="单位反馈后"):
        rechecks.review_rectification(item, by=p["drafter"], accept=True)
    png = SimpleUploadedFile("问卷.png", b"\x89PNG\r\n\x1a\n" + b"0" * 20)
    rechecks.answer_rectification(item, by=p["filler"], text="已重新组织问卷调查。", evidence=png)
    with pytest.raises(rechecks.RecheckError, match="退回整改的原因"):
        rechecks.review_rectification(item, by=p["drafter"], accept=False)
    rechecks.review_rectification(item, by=p["drafter"], accept=True)
    item.refresh_from_db()
    assert item.state == "closed" and item.evidence_name == "问卷.png" and item.closed_by == p["drafter"]
    assert list(item.events.values_list("action", flat=True)) == ["rectify", "rectify_answer", "rectify_close"]


def test_rectification_evidence_is_checked_by_its_content(cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    evaluation, p = cast
    item = rechecks.add_rectification(evaluation, by=p["drafter"], problem="问题", deadline=TOMORROW)
    fake = SimpleUploadedFile("说明.pdf", b"not a pdf")
    with pytest.raises(rechecks.RecheckError, match="内容不是PDF"):
        rechecks.answer_rectification(item, by=p["filler"], text="已整改。", evidence=fake)
    item.refresh_from_db()
    assert item.state == "open" and not item.answer  # bad input leaves the database as it was


def test_admins_keep_the_reason_library_and_the_consequences(client, cast):
    evaluation, p = cast
    admin = make_user(access.ADMIN)
    admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    rechecks.draw(evaluation, by=p["drafter"])
    for model in ("deductionreason", "resultconsequence", "recheck", "rectification", "recheckevent"):
        assert client.get(f"/admin/evaluations/{model}/").status_code == 200, model
    assert "实际完成值缺少佐证材料" in client.get("/admin/evaluations/deductionreason/").content.decode()
    response = client.post("/admin/evaluations/resultconsequence/add/", {
        "framework": evaluation.framework.pk, "grade": "中", "tier": "压减 10%", "text": "下年度预算压减 10%。"})
    assert response.status_code == 302
    from evaluations.models import consequences_for

    assert consequences_for(evaluation.framework)["中"] == ("压减 10%", "下年度预算压减 10%。")
    assert consequences_for(evaluation.framework)["优"] == ("优先保障", "下年度预算安排优先保障。")  # the default
    assert client.get("/admin/evaluations/recheck/add/").status_code == 403  # written by rechecks.py only


def test_typed_text_passes_the_one_boundary(cast):
    evaluation, p = cast
    recheck = rechecks.draw(evaluation, by=p["drafter"])
    rechecks.confirm(recheck, by=p["second"], opinion="第一段\r\n第二段\x0b第三段\x07", answer_deadline=TOMORROW)
    recheck.refresh_from_db()
    assert recheck.opinion == "第一段\n第二段\n第三段"
    with pytest.raises(rechecks.RecheckError, match="申辩内容不能超过 2000 字"):
        rechecks.answer(recheck, by=p["filler"], text="很" * 2001)
    assert Recheck.objects.get(pk=recheck.pk).status == RecheckStatus.CONFIRMED
