"""Every page satisfies the Content-Security-Policy (no inline script, no eval, nothing from other hosts): the
browser reports no violation on the main pages of each role, the admin included, and the edit page's live
score (htmx) still works under the policy."""

import pytest
from playwright.sync_api import expect

from evaluations import workflow
from tests.browser.conftest import login
from tests.factories import PASSWORD, make_evaluation, make_unit, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

# Runs in every document before its own scripts; the browser also logs each violation to the console.
LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def world():
    district = make_unit("某区")
    evaluation = make_evaluation(unit=make_unit("某镇", parent=district))
    submitted = make_evaluation(unit=make_unit("某街道", parent=district))
    filler = make_user("填报人", units=[evaluation.unit, submitted.unit], username="tianbao")
    make_user("审核人", charge=district, username="shenhe")
    make_user("管理员", username="guanli")
    workflow.submit(submitted, by=filler)
    return evaluation, submitted


def watched(new_page):
    page = new_page()
    page.context.add_init_script(LISTEN)
    console = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    return page, console


def visit_all(page, console, urls):
    problems = []
    for url in urls:
        response = page.goto(url)
        assert response.status < 400, f"{url}: {response.status}"
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
        problems += [f"{url}: {v}" for v in page.evaluate("window.__cspViolations")]
    problems += console
    return problems


def test_pages_of_every_role_report_no_csp_violation(world, new_page, shots):
    evaluation, submitted = world
    e, s = evaluation.pk, submitted.pk
    page, console = watched(new_page)
    problems = visit_all(page, console, ["/accounts/login/", "/public/"])
    login(page, "tianbao", PASSWORD)
    problems += visit_all(page, console, [
        "/evaluations/", "/evaluations/tasks/", f"/evaluations/{e}/", f"/evaluations/{e}/edit/",
        f"/evaluations/{e}/document/", "/reports/exports/", "/accounts/password_change/",
    ])
    shots(page, "填报人页面无CSP违规")
    reviewer, reviewer_console = watched(new_page)
    login(reviewer, "shenhe", PASSWORD)
    problems += visit_all(reviewer, reviewer_console, [
        "/evaluations/queue/", "/evaluations/overview/", f"/evaluations/{s}/review/", f"/evaluations/{s}/history/",
    ])
    admin, admin_console = watched(new_page)
    login(admin, "guanli", PASSWORD)
    problems += visit_all(admin, admin_console, [
        "/reports/import/official/", "/admin/", "/admin/evaluations/evaluation/", f"/admin/evaluations/evaluation/{e}/change/",
        "/admin/evaluations/framework/", f"/admin/evaluations/framework/{evaluation.framework_id}/change/",
        "/admin/evaluations/unit/", f"/admin/evaluations/unit/{evaluation.unit_id}/change/",
        "/admin/evaluations/unit/import/", "/admin/evaluations/unit/export/", "/admin/auth/user/add/",
    ])
    shots(admin, "管理页面无CSP违规")
    assert not problems, "\n".join(problems)


def test_live_score_works_under_the_policy(world, new_page, shots):
    evaluation, _ = world
    page, console = watched(new_page)
    login(page, "tianbao", PASSWORD)
    page.goto(f"/evaluations/{evaluation.pk}/edit/")
    expect(page.locator("#live-total")).to_have_text("100.00")
    row = page.locator("tr[data-row]").filter(has=page.locator(".row-name", has_text="产出指标1"))
    row.locator("input[name$='-actual_value']").fill("5")
    expect(page.locator("#live-total")).to_have_text("85.00")
    shots(page, "CSP下实时计分正常")
    assert page.evaluate("window.__cspViolations") == [] and not console
