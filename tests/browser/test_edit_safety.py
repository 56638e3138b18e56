"""Two pages editing the same evaluation (the second save is refused and keeps its input), and the whole app
working with the network cut off (no CDN: every asset is served by the app itself)."""

import pytest
from playwright.sync_api import expect

from evaluations.models import Evaluation
from tests.browser.conftest import login
from tests.factories import PASSWORD, make_evaluation, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def evaluation():
    evaluation = make_evaluation()
    make_user("填报人", units=[evaluation.unit], username="tianbao")
    make_user("审核人", charge=evaluation.unit, username="shenhe")
    return evaluation


def test_second_save_is_refused_and_its_input_kept(evaluation, new_page, shots):
    first, second = new_page(), new_page()
    for page in (first, second):
        login(page, "tianbao", PASSWORD)
        page.goto(f"/evaluations/{evaluation.pk}/edit/")
    first.get_by_label("预算执行情况说明").fill("第一位同事的说明")
    first.get_by_role("button", name="保存").first.click()
    expect(first.locator("#save-status")).to_contain_text("已保存（")
    expect(first.locator("#dirty-note")).to_be_hidden()  # the page stays, and holds nothing unsaved

    second.get_by_label("预算执行情况说明").fill("第二位同事的说明")
    second.get_by_role("button", name="保存").first.click()
    expect(second.locator("#conflict")).to_contain_text("其他人修改了同样的 1 处内容")
    expect(second.locator("#save-status")).to_contain_text("未保存")
    expect(second.locator("#dirty-note")).to_be_visible()
    expect(second.locator("#conflict .conflict-theirs")).to_contain_text("第一位同事的说明")
    expect(second.locator("#conflict .conflict-mine")).to_contain_text("第二位同事的说明")
    expect(second.get_by_label("预算执行情况说明")).to_have_value("第二位同事的说明")
    shots(second, "第二次保存被拒绝并保留输入")
    assert Evaluation.objects.get(pk=evaluation.pk).budget_note == "第一位同事的说明"

    # A second click without choosing is refused again: it never turns into an overwrite (issue 13, item 3).
    # Wait for that refusal's fresh block to be swapped in: a choice made in the old one would be replaced with it.
    second.locator("#conflict").evaluate("el => { el.dataset.stale = '1'; }")
    second.get_by_role("button", name="保存").first.click()
    expect(second.locator("#conflict:not([data-stale])")).to_contain_text("其他人修改了同样的 1 处内容")
    assert Evaluation.objects.get(pk=evaluation.pk).budget_note == "第一位同事的说明"

    # Choosing to keep one's own value, knowingly, applies it.
    second.locator("#conflict input[value=mine]").check()
    second.get_by_role("button", name="保存").first.click()
    # A save that took in someone else's changes reloads the page: it then shows what is stored.
    expect(second.locator("#conflict")).to_have_count(0)
    second.wait_for_load_state()
    expect(second.get_by_label("预算执行情况说明")).to_have_value("第二位同事的说明")
    assert Evaluation.objects.get(pk=evaluation.pk).budget_note == "第二位同事的说明"


def test_every_page_works_with_the_network_cut_off(evaluation, new_page, shots, live_server):
    page = new_page(offline_hosts=True)
    failed = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    login(page, "tianbao", PASSWORD)
    for url in ["/evaluations/", f"/evaluations/{evaluation.pk}/", f"/evaluations/{evaluation.pk}/edit/",
                f"/evaluations/{evaluation.pk}/document/", "/evaluations/tasks/"]:
        page.goto(url)
        expect(page.locator("body")).not_to_be_empty()
    # Bootstrap's CSS and htmx are loaded from the app, and the live score works.
    page.goto(f"/evaluations/{evaluation.pk}/edit/")
    assert page.evaluate("getComputedStyle(document.querySelector('.btn-primary')).backgroundColor") == "rgb(13, 110, 253)"
    assert page.evaluate("typeof window.htmx") == "object"
    row = page.locator("tr[data-row]").filter(has=page.locator(".row-name", has_text="产出指标1"))
    row.locator("input[name$='-actual_value']").fill("5")
    expect(page.locator("#live-total")).not_to_have_text("100.00")
    shots(page, "断网时填写页面仍可计分")
    assert not failed, failed
    reviewer = new_page(offline_hosts=True)
    login(reviewer, "shenhe", PASSWORD)
    for url in ["/evaluations/queue/", "/evaluations/overview/"]:
        reviewer.goto(url)
        expect(reviewer.locator("h1")).to_be_visible()


def test_a_save_refused_for_errors_shows_them_keeps_the_input_and_the_page_still_works(evaluation, new_page, shots):
    page = new_page()
    login(page, "tianbao", PASSWORD)
    page.goto(f"/evaluations/{evaluation.pk}/edit/")
    page.get_by_label("预算执行情况说明").fill("要保留的说明")
    page.get_by_label("本年财政拨款全年执行数（万元）").fill("-5")
    page.get_by_role("button", name="保存").first.click()
    expect(page.locator("#save-status")).to_contain_text("未保存：有内容需要修改")
    expect(page.get_by_text("不能为负数。")).to_be_visible()
    expect(page.get_by_label("预算执行情况说明")).to_have_value("要保留的说明")
    expect(page.locator("#dirty-note")).to_be_visible()
    shots(page, "保存被拒绝时标出错误并保留输入")

    # The form's content was replaced: adding a row, the live score and saving still work.
    page.get_by_label("本年财政拨款全年执行数（万元）").fill("100")
    output = page.locator("tbody:has(th:has-text('产出（分值'))")
    output.locator("button[data-row-add]").click()
    row, definition = output.locator("tr[data-row]").last, output.locator("tr.row-detail").last
    definition.get_by_label("指标名称").fill("新加的指标")
    definition.locator("input[name$='-target_value']").fill("10")
    row.locator("input[name$='-actual_value']").fill("10")
    definition.locator("input[name$='-weight']").fill("0")
    page.get_by_role("button", name="保存").first.click()
    expect(page.locator(".alert-success").first).to_contain_text("已保存")  # rows added: the page is loaded again
    saved = Evaluation.objects.get(pk=evaluation.pk)
    assert saved.budget_note == "要保留的说明"
    assert saved.results.filter(name="新加的指标").exists()


def test_two_people_on_one_project_are_merged_and_a_conflict_is_decided_in_the_box(evaluation, new_page, shots):
    from evaluations.models import Project
    from tests.factories import make_project, make_project_framework

    make_project_framework()
    project = make_project(evaluation)
    make_user("填报人", units=[evaluation.unit], username="tianbao2")
    first, second = new_page(), new_page()
    for page, name in ((first, "tianbao"), (second, "tianbao2")):
        login(page, name, PASSWORD)
        page.goto(f"/evaluations/projects/{project.pk}/edit/")
    first.locator("textarea[name=project-goal_actual]").fill("第一位同事的完成情况")
    first.locator("textarea[name=project-goal_expected]").fill("第一位同事的目标")
    first.get_by_role("button", name="保存").first.click()
    expect(first.locator("body")).to_contain_text("已保存项目")

    second.locator("textarea[name=project-goal_actual]").fill("第二位同事的完成情况")
    second.get_by_role("button", name="保存").first.click()
    expect(second.locator("#conflict")).to_contain_text("其他人修改了同样的 1 处内容")
    expect(second.locator("#conflict .conflict-theirs")).to_contain_text("第一位同事的完成情况")
    expect(second.locator("textarea[name=project-goal_actual]")).to_have_value("第二位同事的完成情况")
    shots(second, "项目两人同时修改同一处被拒绝")
    second.get_by_role("button", name="保存").first.click()  # again, without choosing: refused again
    expect(second.locator("#conflict")).to_contain_text("其他人修改了同样的 1 处内容")
    assert Project.objects.get(pk=project.pk).goal_actual == "第一位同事的完成情况"

    second.locator("#conflict input[value=mine]").check()
    second.get_by_role("button", name="保存").first.click()
    expect(second.locator("body")).to_contain_text("打开页面后其他人保存的修改也已保留。")
    stored = Project.objects.get(pk=project.pk)
    assert (stored.goal_actual, stored.goal_expected) == ("第二位同事的完成情况", "第一位同事的目标")
