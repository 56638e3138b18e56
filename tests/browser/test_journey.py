"""A filler fills in a new evaluation from an empty one in a real browser, a reviewer returns it with a comment
on one row, the filler fixes, answers and resubmits, the reviewer approves, and the 说明 shows the final score."""

import re

import pytest
from playwright.sync_api import expect

from evaluations import access
from evaluations.documents import html_pdf
from evaluations.models import Evaluation, EvaluationStatus
from tests.browser.conftest import login
from tests.factories import PASSWORD, make_framework, make_unit, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.archive, pytest.mark.browser]

QUALITATIVE = ["预算编制科学性", "绩效目标合理性", "预决算信息公开", "绩效管理工作", "政府采购管理", "资产管理"]


@pytest.fixture
def town():
    make_framework()
    district = make_unit("广州市番禺区人民政府")
    town = make_unit("广州市番禺区石楼镇人民政府", parent=district)
    make_user(access.FILLER, units=[town], username="shilou")
    make_user(access.REVIEWER, charge=district, username="shenhe")
    return town


def fill_row(page, name, **values):
    for field, value in values.items():
        control = page.get_by_label(f"{name}{field}", exact=True)
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(label=value)
        else:
            control.fill(value)


def add_unit_row(page, category, name, weight, target, actual, unit, reason=""):
    page.locator(f"tbody:has(th:has-text('{category}（分值')) button[data-row-add]").click()
    body = page.locator(f"tbody:has(th:has-text('{category}（分值'))")
    row, definition = body.locator("tr[data-row]").last, body.locator("tr.row-detail").last  # a new row's detail: its definition
    definition.get_by_label("指标名称").fill(name)
    definition.locator("input[name$='-target_value']").fill(target)
    definition.locator("input[name$='-unit_of_measure']").fill(unit)
    row.locator("input[name$='-actual_value']").fill(actual)
    definition.locator("input[name$='-weight']").fill(weight)
    row.locator("textarea[name$='-deviation_reason']").fill(reason)


def test_fill_submit_return_fix_resubmit_approve(town, new_page, shots):
    filler = new_page()
    login(filler, "shilou", PASSWORD)
    shots(filler, "填报人登录后的列表")
    filler.get_by_role("button", name=re.compile("开始填报")).click()
    filler.wait_for_url("**/edit/")
    expect(filler.locator("#live-total")).to_have_text("0.00")
    shots(filler, "新建的空白自评")

    # Budget: 执行率 computed as typed.
    filler.get_by_label("本年财政拨款年初预算数（万元）").fill("1000")
    filler.get_by_label("本年财政拨款全年预算数（万元）").fill("1200")
    filler.get_by_label("本年财政拨款全年执行数（万元）").fill("1140")
    expect(filler.locator("#rate-total")).to_have_text("95.00%")
    # 预算执行率 (10 × 95%) and 预算调整率 (20% > 10%: 5 − 5) and 结转结余率 (5%: full) follow the budget.
    expect(filler.locator("#live-total")).to_have_text("14.50")

    for name in QUALITATIVE:
        fill_row(filler, name, 定性评价="达成", 得分="5")
    expect(filler.locator("#live-total")).to_have_text("44.50")
    expect(filler.locator("#live-grade")).to_have_text("差")
    shots(filler, "填写体系指标后总分变化")

    add_unit_row(filler, "产出", "巡查涉水污染源", "30", "500", "535", "家次")
    expect(filler.locator("#live-total")).to_have_text("74.50")
    expect(filler.locator("#live-grade")).to_have_text("中")
    add_unit_row(filler, "效益", "服务对象满意度", "20", "90", "81", "%", reason="满意度调查样本偏少。")
    expect(filler.locator("#live-total")).to_have_text("92.50")
    expect(filler.locator("#live-grade")).to_have_text("优")
    shots(filler, "增加自设指标后总分和等级变化")

    # Reasons where points were lost, and every section of the 说明.
    fill_row(filler, "预算执行率", 偏差原因分析及改进措施="部分项目年底未支付。")
    fill_row(filler, "预算调整率", 偏差原因分析及改进措施="年中追加了项目。")
    for body in filler.locator("textarea[name$='-body']").all():
        body.fill("本部分内容已按要求填写。")
    first_points = filler.locator("ol.points-list").first
    first_points.locator("textarea").first.fill("第一条要点。")
    filler.get_by_role("button", name="＋ 增加一条要点").first.click()
    first_points.locator("textarea").last.fill("第二条要点。")
    first_points.locator("[data-point-move='-1']").last.click()  # move the second point up
    expect(filler.locator("#document-preview")).to_contain_text("1. 第二条要点。")
    shots(filler, "说明预览")

    filler.get_by_role("button", name="保存").first.click()
    # Rows were added: once saved, the page is loaded again and says so.
    expect(filler.locator("main > .alert-success")).to_contain_text("已保存")
    evaluation = Evaluation.objects.get(unit=town)
    assert evaluation.scorecard().total == 92.5
    filler.goto(f"/evaluations/{evaluation.pk}/")
    expect(filler.locator("#checklist")).to_contain_text("检查通过")
    filler.get_by_role("button", name="提交审核").click()
    expect(filler.locator(".alert-success").first).to_contain_text("已提交审核")
    shots(filler, "已提交")

    reviewer = new_page()
    login(reviewer, "shenhe", PASSWORD)
    reviewer.goto("/evaluations/queue/")
    reviewer.get_by_role("link", name="审核", exact=True).first.click()
    reviewer.wait_for_url("**/review/")  # a click before review.js has run would open nothing
    reviewer.wait_for_load_state()
    reviewer.get_by_role("button", name="对“服务对象满意度”提意见").click()  # on the row, in place
    reviewer.get_by_label("对“服务对象满意度”的意见").fill("满意度低于目标，请补充调查方法。")
    reviewer.get_by_role("button", name="记录意见").click()
    expect(reviewer.locator(".review-comment")).to_contain_text("满意度低于目标")
    reviewer.get_by_label("退回修改原因（必填）").fill("请按意见修改。")
    reviewer.get_by_role("button", name="退回修改").click()
    expect(reviewer.locator(".alert-success").first).to_contain_text("已退回修改")
    shots(reviewer, "审核人退回并附意见")

    filler.goto(f"/evaluations/{evaluation.pk}/")
    expect(filler.locator("#comments")).to_contain_text("满意度低于目标，请补充调查方法。")
    expect(filler.locator("#checklist")).to_contain_text("审核意见未答复")
    shots(filler, "填报人看到审核意见")
    filler.get_by_role("link", name="填写 / 修改").click()
    filler.locator("tr[data-row]:has(.row-name:text-is('服务对象满意度')) textarea[name$='-deviation_reason']").fill(
        "满意度调查样本偏少，下一步扩大调查范围。")
    filler.get_by_role("button", name="保存").first.click()
    expect(filler.locator("#save-status")).to_contain_text("已保存（")  # saved in place: the page stays
    # The comment stands at its row on the edit page and is answered there.
    filler.locator("#checklist").get_by_role("link", name="还有 1 条审核意见未答复").click()
    expect(filler.get_by_label("答复此意见")).to_be_focused()
    filler.get_by_label("答复此意见").fill("已补充调查方法说明。")
    filler.get_by_role("button", name="提交答复").click()
    expect(filler.locator(".review-comment")).to_contain_text("单位答复")
    filler.goto(f"/evaluations/{evaluation.pk}/")
    filler.get_by_role("button", name="提交审核").click()
    expect(filler.locator(".alert-success").first).to_contain_text("已提交审核")
    shots(filler, "修改后重新提交")

    reviewer.goto(f"/evaluations/{evaluation.pk}/review/")
    expect(reviewer.locator("body")).to_contain_text("退回以来的修改（1 处）")
    shots(reviewer, "审核人看到修改之处")
    reviewer.get_by_role("button", name="审核通过").click()
    expect(reviewer.locator(".alert-success").first).to_contain_text("已审核通过")
    assert Evaluation.objects.get(pk=evaluation.pk).status == EvaluationStatus.APPROVED
    if not html_pdf.pdf_unavailable_reason():
        filler.goto(f"/evaluations/{evaluation.pk}/")
        expect(filler.locator("#archive")).to_contain_text("下载归档说明 PDF（审核通过版本）")

    reviewer.goto(f"/evaluations/{evaluation.pk}/document/")
    expect(reviewer.locator("body")).to_contain_text("自评综合得分为 92.50分，自评结果为“优”。")
    path = shots(reviewer, "说明显示最终得分")
    assert path.stat().st_size > 10_000
