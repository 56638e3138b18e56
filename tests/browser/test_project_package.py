"""The package end to end in a browser (issue 16): a filler adds and fills two projects beside the unit's 部门整体
evaluation and submits the package; a reviewer comments on a project row and returns it; the filler answers and
resubmits; the reviewer approves, and every document of the package is archived with its hash."""

import re

import pytest
from playwright.sync_api import expect

from evaluations import access
from evaluations.documents import html_pdf
from evaluations.documents.archive import sha256
from evaluations.models import (
    ArchivedDocument,
    ArchivedProjectDocument,
    Evaluation,
    EvaluationStatus,
    Event,
    Project,
    ReviewComment,
)
from tests.browser.conftest import login
from tests.factories import PASSWORD, make_evaluation, make_project_framework, make_unit, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.archive]


@pytest.fixture
def package():
    make_project_framework()
    district = make_unit("广州市番禺区人民政府")
    town = make_unit("广州市番禺区石楼镇人民政府", parent=district)
    make_user(access.FILLER, units=[town], username="shilou")
    make_user(access.REVIEWER, charge=district, username="shenhe")
    return make_evaluation(unit=town)


def fill_project_row(page, n, category, name, sign, target, actual, unit, weight):
    page.locator(f"select[name=rows-{n}-category]").select_option(label=category)
    page.locator(f"input[name=rows-{n}-name]").fill(name)
    page.locator(f"select[name=rows-{n}-comparison]").select_option(label=sign)
    page.locator(f"input[name=rows-{n}-target_value]").fill(target)
    page.locator(f"input[name=rows-{n}-unit_of_measure]").fill(unit)
    page.locator(f"input[name=rows-{n}-actual_value]").fill(actual)
    page.locator(f"input[name=rows-{n}-weight]").fill(weight)


def add_and_fill(page, evaluation, name, executed, dredged):
    page.goto(f"/evaluations/{evaluation.pk}/projects/")
    page.get_by_label("项目名称").fill(name)
    page.get_by_role("button", name="添加").click()
    page.wait_for_url("**/edit/")
    page.get_by_label("当年财政拨款 全年预算数（万元）").fill("100")
    page.get_by_label("当年财政拨款 年初预算数（万元）").fill("100")
    page.get_by_label("当年财政拨款 全年执行数（万元）").fill(executed)
    page.get_by_label("预期目标").fill("完成年度建设任务。")
    page.get_by_label("实际完成情况").fill("基本完成年度建设任务。")
    fill_project_row(page, 0, "产出指标 / 数量指标", "清淤长度", "≥", "10", dredged, "公里", "50")
    fill_project_row(page, 1, "效益指标 / 生态效益指标", "水质达标率", "≥", "80", "80", "%", "30")
    expect(page.locator("#live-project-total")).not_to_have_text("0.00")
    page.get_by_role("button", name="保存").first.click()
    expect(page.locator(".alert-success").first).to_contain_text(f"已保存项目“{name}”")
    fill_project_row(page, 2, "满意度指标 / 服务对象满意度指标", "群众满意度", "≥", "90", "95", "%", "10")
    page.get_by_role("button", name="保存").first.click()
    expect(page.locator(".alert-success").first).to_contain_text("总分")


def test_two_projects_submitted_returned_answered_resubmitted_and_approved(package, new_page, shots):
    evaluation = package
    filler = new_page()
    login(filler, "shilou", PASSWORD)
    add_and_fill(filler, evaluation, "河涌清淤工程", executed="95", dredged="10")
    expect(filler.locator("#live-project-total")).to_have_text("99.50")
    shots(filler, "第一个项目")
    add_and_fill(filler, evaluation, "村道硬化工程", executed="100", dredged="8")
    # 清淤 8 of 10: 40 of 50 points; the checklist asks for the reason.
    expect(filler.locator("#live-project-total")).to_have_text("90.00")
    expect(filler.locator("#project-checklist")).to_contain_text("失分 10 分，请填写偏差原因分析及改进措施")
    filler.locator("textarea[name=rows-0-deviation_reason]").fill("雨季推迟施工，次年一月完成。")
    filler.get_by_role("button", name="保存").first.click()
    expect(filler.locator("#project-checklist")).to_contain_text("检查通过")
    shots(filler, "第二个项目")

    # 佐证材料 for a row of the project, on the project's page: listed in the row's cell and in the package's list.
    second = Project.objects.get(name="村道硬化工程")
    filler.goto(f"/evaluations/projects/{second.pk}/")
    form = filler.locator("#project-evidence-form")
    form.get_by_label("上传文件").set_input_files(
        {"name": "清淤验收记录.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"})
    form.get_by_label("对应指标（可选）").select_option(label="清淤长度")
    form.get_by_role("button", name="上传", exact=True).click()
    expect(filler.locator(".alert-success").first).to_contain_text(
        "已上传佐证材料“清淤验收记录.pdf”（项目“村道硬化工程”指标“清淤长度”）")
    row = second.indicators.get(name="清淤长度")
    expect(filler.locator(f"#prow-{row.pk} .row-evidence")).to_contain_text("清淤验收记录.pdf")
    for width, height in ((1366, 768), (1024, 768), (375, 812)):
        filler.set_viewport_size({"width": width, "height": height})
        assert filler.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1"), width
        shots(filler, f"项目佐证材料-{width}")
    filler.set_viewport_size({"width": 1400, "height": 900})

    filler.goto(f"/evaluations/{evaluation.pk}/projects/")
    expect(filler.locator("#project-list")).to_contain_text("99.50")
    expect(filler.locator("#project-list")).to_contain_text("90.00")
    filler.goto(f"/evaluations/{evaluation.pk}/")
    expect(filler.locator("#checklist")).to_contain_text("检查通过")
    filler.get_by_role("button", name="提交审核").click()
    expect(filler.locator(".alert-success").first).to_contain_text("已提交审核")
    shots(filler, "整包提交")

    expect(filler.locator("#evidence")).to_contain_text("项目“村道硬化工程”指标“清淤长度”")

    reviewer = new_page()
    login(reviewer, "shenhe", PASSWORD)
    reviewer.goto(f"/evaluations/projects/{second.pk}/")
    reviewer.get_by_label("针对指标").select_option(label="清淤长度")
    reviewer.locator("#project-comment-form").get_by_label("意见").fill("请附清淤工程的验收记录。")
    reviewer.get_by_role("button", name="记录意见").click()
    expect(reviewer.locator(".alert-success").first).to_contain_text("已记录审核意见")
    reviewer.goto(f"/evaluations/{evaluation.pk}/review/")
    reviewer.get_by_label("退回修改原因（必填）").fill("请按项目的审核意见补充。")
    reviewer.get_by_role("button", name="退回修改").click()
    expect(reviewer.locator(".alert-success").first).to_contain_text("已退回修改")
    shots(reviewer, "审核人对项目指标提意见并退回")

    filler.goto(f"/evaluations/{evaluation.pk}/")
    expect(filler.locator("#comments")).to_contain_text("项目“村道硬化工程”指标“清淤长度”")
    expect(filler.locator("#checklist")).to_contain_text("审核意见未答复")
    filler.get_by_label("答复此意见").fill("已补充验收记录。")
    filler.get_by_role("button", name="提交答复").click()
    filler.wait_for_load_state()
    assert ReviewComment.objects.get(text="请附清淤工程的验收记录。").answer == "已补充验收记录。"
    filler.goto(f"/evaluations/{evaluation.pk}/")
    expect(filler.locator("#checklist")).to_contain_text("检查通过")
    filler.get_by_role("button", name="提交审核").click()
    expect(filler.locator(".alert-success").first).to_contain_text("已提交审核")
    shots(filler, "答复后重新提交")

    reviewer.goto(f"/evaluations/{evaluation.pk}/review/")
    reviewer.get_by_role("button", name="审核通过").click()
    expect(reviewer.locator(".alert-success").first).to_contain_text("已审核通过")
    assert Evaluation.objects.get(pk=evaluation.pk).status == EvaluationStatus.APPROVED

    if not html_pdf.pdf_unavailable_reason():
        approval = Event.objects.get(evaluation=evaluation, action="approve")
        archives = list(ArchivedProjectDocument.objects.filter(event=approval).order_by("project_name"))
        assert [a.project_name for a in archives] == ["村道硬化工程", "河涌清淤工程"]
        for archived in [*archives, ArchivedDocument.objects.get(event=approval)]:
            with archived.file.open("rb") as f:
                assert sha256(f.read()) == archived.sha256
        filler.goto(f"/evaluations/projects/{second.pk}/")
        expect(filler.locator("#archive")).to_contain_text("下载归档自评表 PDF（审核通过版本）")
        shots(filler, "项目的归档自评表")
    # After approval the projects are read-only.
    filler.goto(f"/evaluations/projects/{second.pk}/edit/")
    expect(filler.locator("body")).to_contain_text(re.compile("不能修改项目|403"))
