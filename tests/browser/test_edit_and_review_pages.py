"""The edit and review pages in a real browser (issue 14): paste from Excel, the live check = the save check,
the keyboard alone, comments in place and answered where they stand, the net change since the last return; and
screenshots at 1366×768, 1024×768 and 375×812 in var/screenshots/ (the page never scrolls sideways)."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from evaluations import access, editing, workflow
from evaluations.models import Evaluation
from tests.browser.conftest import login
from tests.factories import PASSWORD, make_evaluation, make_user

pytestmark = pytest.mark.django_db(transaction=True)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SIZES = [(1366, 768), (1024, 768), (375, 812)]


@pytest.fixture
def evaluation():
    evaluation = make_evaluation(extra_rows=5)
    make_user(access.FILLER, units=[evaluation.unit], username="tianbao")
    make_user(access.REVIEWER, charge=evaluation.unit, username="shenhe")
    return evaluation


def open_edit(new_page, evaluation, size=(1366, 768)):
    page = new_page()
    page.set_viewport_size({"width": size[0], "height": size[1]})
    login(page, "tianbao", PASSWORD)
    page.goto(f"/evaluations/{evaluation.pk}/edit/")
    return page


def row(page, name):
    return page.locator("tr[data-row]").filter(has=page.locator(".row-name", has_text=name))


def paste(field, text, html=""):
    field.focus()
    field.evaluate("""(el, [text, html]) => {
        const data = new DataTransfer();
        data.setData("text/plain", text);
        if (html) data.setData("text/html", html);
        el.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
    }""", [text, html])


def test_a_column_pasted_from_excel_fills_the_rows_each_value_checked_like_a_typed_one(evaluation, new_page):
    page = open_edit(new_page, evaluation)
    first = row(page, "产出指标1").locator("input[name$='-actual_value']")
    paste(first, "8\r\n9\r\n1,0\r\n")  # Excel's column: one value a line; "1,0" is not a number
    expect(first).to_have_value("8")
    expect(row(page, "产出指标2").locator("input[name$='-actual_value']")).to_have_value("9")
    expect(row(page, "产出指标3").locator("input[name$='-actual_value']")).to_have_value("1,0")
    expect(row(page, "产出指标4").locator("input[name$='-actual_value']")).to_have_value("10.00")
    expect(page.locator("#paste-status")).to_contain_text("已粘贴 3 格")
    expect(page.locator("#checklist")).to_contain_text("指标“产出指标3”实际完成值：")  # refused live, as on save
    expect(page.locator("#checklist")).not_to_contain_text("检查通过")

    # A block fills the table's columns in order (实际完成值, 定性评价, 得分, 偏差原因); a rule-scored row has no
    # 定性评价 or 得分 input: those cells are left out and counted.
    paste(first, "7\t\t\t少完成的原因\r\n6\t\t\t另一原因\r\n", html="<table><tr><td>7</td></tr></table>")
    expect(page.locator("#paste-status")).to_contain_text("已粘贴 4 格；4 格在表格之外或该格无需填写")
    expect(first).to_have_value("7")
    expect(row(page, "产出指标1").locator("textarea[name$='-deviation_reason']")).to_have_value("少完成的原因")
    expect(row(page, "产出指标2").locator("textarea[name$='-deviation_reason']")).to_have_value("另一原因")

    # Twenty cells pasted into one box do not become one 120-digit number.
    paste(first, "".join(f"{100 + n}\n" for n in range(20)))
    expect(first).to_have_value("100")
    expect(page.locator("#paste-status")).to_contain_text("未粘贴")
    assert Evaluation.objects.get(pk=evaluation.pk).version == evaluation.version  # nothing saved


def test_the_live_check_refuses_what_the_save_refuses(evaluation, new_page):
    page = open_edit(new_page, evaluation)
    qualitative = evaluation.results.filter(rule="qualitative").first()
    line = row(page, qualitative.name)
    line.locator("select[name$='-band']").select_option(label="未达成")
    line.locator("input[name$='-score']").fill(str(qualitative.weight))
    message = f"“未达成”的得分应在 0.00 到 {qualitative.weight * 6 / 10:.2f} 分之间"
    expect(page.locator("#checklist")).to_contain_text(message)
    expect(line.locator(".row-errors")).to_contain_text(message)
    line.get_by_role("button", name="详情").click()
    expect(page.locator(f"#detail-{line.get_attribute('data-prefix')}")).to_contain_text("填写有误，未计分")
    page.get_by_role("button", name="保存").first.click()
    expect(page.locator("#save-status")).to_contain_text("未保存：有内容需要修改")
    expect(page.locator("#edit-form")).to_contain_text(message)
    assert Evaluation.objects.get(pk=evaluation.pk).results.get(pk=qualitative.pk).band == "achieved"


def test_the_edit_page_works_by_keyboard_alone(evaluation, new_page):
    page = open_edit(new_page, evaluation)
    first = row(page, "产出指标1").locator("input[name$='-actual_value']")
    first.focus()
    page.keyboard.type("5")
    page.keyboard.press("Enter")  # to the next row, never a save
    assert page.evaluate("document.activeElement.name").endswith("-actual_value")
    expect(row(page, "产出指标2").locator("input[name$='-actual_value']")).to_be_focused()
    page.keyboard.press("Shift+Tab")  # back through the row before: its details, its reason
    page.keyboard.press("Shift+Tab")
    expect(row(page, "产出指标1").locator("textarea[name$='-deviation_reason']")).to_be_focused()
    page.keyboard.type("原因")
    page.keyboard.press("Tab")
    expect(row(page, "产出指标1").get_by_role("button", name="详情")).to_be_focused()
    page.keyboard.press("Enter")  # opens the detail
    expect(page.locator(f"#detail-{row(page, '产出指标1').get_attribute('data-prefix')}")).to_contain_text("得分说明")
    page.wait_for_timeout(700)
    assert Evaluation.objects.get(pk=evaluation.pk).version == evaluation.version  # Enter saved nothing
    expect(page.locator("#dirty-note")).to_be_visible()


def test_comments_in_place_and_the_net_change_since_the_return(evaluation, new_page, live_server):
    filler, reviewer = (evaluation.unit.members.get(), access_user("shenhe"))
    workflow.submit(evaluation, by=filler)
    page = new_page()
    login(page, "shenhe", PASSWORD)
    page.goto(f"/evaluations/{evaluation.pk}/review/")
    target = evaluation.results.get(name="产出指标4")
    page.evaluate("window.scrollTo(0, 400)")
    page.locator(f"#row-{target.pk}").get_by_role("button", name="提意见").click()
    page.get_by_label("对“产出指标4”的意见").fill("完成值的依据请补充。")
    scrolled = page.evaluate("window.scrollY")
    page.get_by_role("button", name="记录意见").click()
    expect(page.locator(f"#comments-result-{target.pk}")).to_contain_text("完成值的依据请补充。")
    assert page.evaluate("window.scrollY") == scrolled  # the page stays where it was
    expect(page.locator("#decision-bar")).to_be_in_viewport()
    page.get_by_label("退回修改原因（必填）").fill("请按意见修改。")
    page.get_by_role("button", name="退回修改").click()
    expect(page.locator(".alert-success").first).to_contain_text("已退回修改")

    # The filler: the checklist's link lands on the comment, below the sticky bar, its answer box focused.
    edit = open_edit(new_page, evaluation)
    edit.locator("#checklist").get_by_role("link", name="还有 1 条审核意见未答复").click()
    answer = edit.get_by_label("答复此意见")
    expect(answer).to_be_focused()
    bar = edit.locator(".save-bar").bounding_box()
    assert edit.locator(".review-comment").bounding_box()["y"] >= bar["y"] + bar["height"] - 1
    row(edit, "产出指标4").locator("textarea[name$='-deviation_reason']").fill("尚未保存的原因")
    answer.fill("已补充依据。")
    edit.get_by_role("button", name="提交答复").click()
    expect(edit.locator(".review-comment")).to_contain_text("单位答复")
    expect(row(edit, "产出指标4").locator("textarea[name$='-deviation_reason']")).to_have_value("尚未保存的原因")
    assert Evaluation.objects.get(pk=evaluation.pk).comments.get().answer == "已补充依据。"

    # 420 → 1234.5 → 420 is one change from 10; 产出指标5 10 → 12 another.
    for value in ("420", "1234.5", "420"):
        save_actual(evaluation, filler, "产出指标1", value)
    save_actual(evaluation, filler, "产出指标5", "12")
    workflow.submit(Evaluation.objects.get(pk=evaluation.pk), by=filler)
    page.goto(f"/evaluations/{evaluation.pk}/review/")
    changes = page.locator("#changes")
    expect(changes).to_contain_text("退回以来的修改（2 处）")  # 产出指标1 (10 → 420) and 产出指标5
    expect(changes).to_contain_text("10 → 420")
    expect(changes).not_to_contain_text("1234.5")
    assert reviewer


def access_user(username):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username)


def save_actual(evaluation, by, name, value):
    from decimal import Decimal

    loaded = Evaluation.objects.with_document_data().get(pk=evaluation.pk)
    target = next(r for r in loaded.results.all() if r.name == name)
    old = {"actual_value": target.actual_value}
    target.actual_value = Decimal(value)
    editing.save_content(loaded, by=by, expected_version=loaded.version, edits=[(target, old)])


# The page's own content (main); the navbar's collapsing at 375 px is the shared layout's (branch pages-rest).
WIDER_THAN_PAGE = """() => [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right >
    document.documentElement.clientWidth + 1 && e.parentElement.getBoundingClientRect().right <= document.documentElement.clientWidth + 1)
    .map(e => e.tagName + '.' + e.className)"""


def assert_no_sideways_scroll(page, width):
    assert page.evaluate("document.querySelector('main').scrollWidth") <= width, page.evaluate(WIDER_THAN_PAGE)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_screenshots_and_no_sideways_scroll(evaluation, new_page, size):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = open_edit(new_page, evaluation, size)
    width = size[0]
    assert_no_sideways_scroll(page, width)
    page.screenshot(path=str(SCREENSHOTS / f"edit-{width}x{size[1]}.png"))
    page.evaluate("window.scrollTo(0, document.getElementById('indicators').getBoundingClientRect().top + scrollY - 70)")
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / f"edit-table-{width}x{size[1]}.png"))
    workflow.submit(evaluation, by=evaluation.unit.members.get())
    reviewer = new_page()
    reviewer.set_viewport_size({"width": width, "height": size[1]})
    login(reviewer, "shenhe", PASSWORD)
    reviewer.goto(f"/evaluations/{evaluation.pk}/review/")
    assert_no_sideways_scroll(reviewer, width)
    if width >= 576:  # on a phone the bar stands at the end instead of covering a quarter of the screen
        expect(reviewer.locator("#decision-bar")).to_be_in_viewport()
    reviewer.screenshot(path=str(SCREENSHOTS / f"review-{width}x{size[1]}.png"))
