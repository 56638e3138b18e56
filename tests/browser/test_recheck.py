"""复核 in a real browser: a reviewer draws the suggested sample, re-scores two rows of one unit with reasons, a
second reviewer confirms, the unit answers; 自评 and 复核 totals and grades side by side; the unit's own 自评 rows
are unchanged in the database."""

import re
from decimal import Decimal as D

import pytest
from playwright.sync_api import expect

from evaluations import access
from evaluations.models import Evaluation, EvaluationStatus, IndicatorResult, Recheck, RecheckStatus
from tests.browser.conftest import login
from tests.factories import PASSWORD, make_evaluation, make_unit, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sampled_town():
    district = make_unit("广州市番禺区人民政府")
    town = make_unit("广州市番禺区石楼镇人民政府", parent=district)
    evaluation = make_evaluation(unit=town)
    # 执行率 70%: 预算执行率 scores 7 of 10 and 结转结余率 0 of 5, the total 92 — 优 while 30% was not spent.
    evaluation.budget_lines.filter(item="fiscal").update(executed=D("70"))
    Evaluation.objects.with_document_data().get(pk=evaluation.pk).refresh_computed_scores()
    Evaluation.objects.filter(pk=evaluation.pk).update(status=EvaluationStatus.APPROVED)
    make_user(access.FILLER, units=[town], username="shilou")
    make_user(access.REVIEWER, charge=district, username="fuhe1")
    make_user(access.REVIEWER, charge=district, username="fuhe2")
    return evaluation


def test_draw_rescore_confirm_answer(sampled_town, new_page, shots):
    expect.set_options(timeout=15_000)  # as the pages' own default: a busy CI machine renders charts slowly
    evaluation = sampled_town
    own_rows = dict(IndicatorResult.objects.filter(evaluation=evaluation).values_list("pk", "score"))

    drafter = new_page()
    login(drafter, "fuhe1", PASSWORD)
    drafter.goto("/evaluations/rechecks/?year=2024")
    suggested = drafter.locator("#suggested tbody tr", has_text="石楼镇")
    expect(suggested).to_contain_text("综合得分 92 分，但预算执行率仅 70%（低于 90%）。")
    shots(drafter, "建议抽取及理由")
    suggested.get_by_role("button", name="抽取复核").click()
    drafter.wait_for_url(f"**/evaluations/{evaluation.pk}/recheck/")

    satisfaction = drafter.locator(f"#row-{evaluation.results.get(name='服务对象满意度').pk}")
    satisfaction.get_by_label("“服务对象满意度”复核得分").fill("15")
    satisfaction.get_by_label("扣分原因").select_option(label="满意度调查方法不规范或样本不足")
    satisfaction.get_by_role("button", name="保存").click()
    expect(drafter.locator(".alert")).to_contain_text("已保存“服务对象满意度”的复核评分")
    output = drafter.locator(f"#row-{evaluation.results.get(name='产出指标1').pk}")
    output.get_by_label("“产出指标1”复核得分").fill("24")
    output.get_by_label("复核说明").fill("佐证材料显示仅完成 8 项")
    output.get_by_role("button", name="保存").click()
    expect(drafter.locator("#recheck-total")).to_have_text("81.00")
    expect(drafter.locator("#own-total")).to_have_text("92.00")
    expect(drafter.locator("#action-confirm")).to_have_count(0)  # the drafter does not confirm their own
    shots(drafter, "逐项复核评分")

    second = new_page()
    login(second, "fuhe2", PASSWORD)
    second.goto(f"/evaluations/{evaluation.pk}/recheck/")
    second.get_by_label("复核意见（写入复核意见书）").fill("满意度调查样本不足，产出指标佐证不足，核减相应分值。")
    second.get_by_role("button", name="确认复核结果").click()
    expect(second.locator("#recheck-status")).to_have_text("已确认（待申辩）")
    shots(second, "第二位审核人确认")

    unit = new_page()
    login(unit, "shilou", PASSWORD)
    unit.goto(f"/evaluations/{evaluation.pk}/")
    unit.get_by_role("link", name=re.compile("查看复核")).click()
    expect(unit.locator("#own-total")).to_have_text("92.00")
    expect(unit.locator("#own-grade")).to_have_text("优")
    expect(unit.locator("#recheck-total")).to_have_text("81.00")
    expect(unit.locator("#recheck-grade")).to_have_text("良")
    expect(unit.locator("#total-difference")).to_have_text("−11")
    row = unit.locator(f"#row-{evaluation.results.get(name='服务对象满意度').pk}")
    expect(row.locator(".own-score")).to_have_text("20.00")
    expect(row.locator(".recheck-score")).to_have_text("15.00")
    expect(row.locator(".difference")).to_have_text("−5")
    expect(row.locator(".reason")).to_have_text("满意度调查方法不规范或样本不足")
    unit.get_by_label("申辩内容（对复核结果的不同意见及依据）").fill("满意度另有 200 份问卷，已补交。")
    unit.get_by_role("button", name="提交申辩").click()
    expect(unit.locator("#recheck-status")).to_have_text("单位已申辩")
    expect(unit.locator("#answer")).to_have_text("满意度另有 200 份问卷，已补交。")
    shots(unit, "单位申辩后的对比")

    recheck = Recheck.objects.get(evaluation=evaluation)
    assert recheck.status == RecheckStatus.ANSWERED and recheck.total_score == D("81.00") and recheck.grade == "良"
    assert dict(IndicatorResult.objects.filter(evaluation=evaluation).values_list("pk", "score")) == own_rows
