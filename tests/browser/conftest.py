"""Browser tests: Playwright for Python driving Debian's Chromium (never a downloaded browser).

They skip, saying why, where /usr/bin/chromium or the playwright package is absent; CI installs both.
Screenshots of each step go to test-artifacts/screenshots/<test name>/.
"""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover
    sync_playwright = None


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects: every test in this folder is a browser test
def pytest_collection_modifyitems(config, items):
    folder = Path(__file__).resolve().parent
    for item in items:
        if folder in Path(item.fspath).resolve().parents:
            item.add_marker(pytest.mark.browser)
    reason = None
    if sync_playwright is None:
        reason = "未安装 playwright（pip install -r requirements-dev.txt）"
    elif not os.path.exists(CHROMIUM):
        reason = "未安装 Debian 的 Chromium：apt-get install chromium fonts-noto-cjk"
    if reason:
        for item in items:
            if "browser" in str(item.fspath):
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        yield browser
        browser.close()


class Shots:
    def __init__(self, folder):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.folder, self.n = folder, 0

    def __call__(self, page, name):
        self.n += 1
        path = self.folder / f"{self.n:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shots(request):
    return Shots(ARTIFACTS / request.node.name)


@pytest.fixture
def new_page(browser, live_server):
    contexts = []

    def make(offline_hosts=False):
        context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 1400, "height": 900})
        if offline_hosts:
            # Cut the network: only the app's own host answers; anything else (a CDN) fails.
            host = live_server.url.split("//", 1)[1]
            context.route("**/*", lambda route: route.continue_() if f"//{host}/" in route.request.url else route.abort())
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        return page

    yield make
    for context in contexts:
        context.close()


def login(page, username, password):
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/evaluations/**")
