"""Security hardening (issue 7): deploy checks, HTTPS settings, headers and CSP, session lifetimes, login
throttling, the admin closed to fillers, uploaded files never served as static files, production static files."""

import re
import secrets
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from whitenoise.compress import Compressor

from evaluations import access, evidence
from ops import security
from tests.factories import PASSWORD, make_evaluation, make_unit, make_user
from tests.machine import project_process

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {"SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "jixiao.example.gov.cn"}


def setting(env, expr):
    code = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup(); "
            f"from django.conf import settings; print({expr})")
    result = project_process([sys.executable, "-c", code], env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


# --- Deploy checks and HTTPS ------------------------------------------------------------------------------


@pytest.mark.multiprocess
def test_check_deploy_passes_with_production_settings():
    result = project_process([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.multiprocess
def test_plain_http_opt_out_is_visible_to_check_deploy():
    result = project_process([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                 {**PRODUCTION, "HTTPS": "0"})
    assert result.returncode != 0
    assert "SESSION_COOKIE_SECURE" in result.stderr


@pytest.mark.multiprocess
def test_https_is_on_by_default_in_production():
    expr = ("settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, settings.SECURE_SSL_REDIRECT, "
            "settings.SECURE_HSTS_SECONDS, settings.SECURE_PROXY_SSL_HEADER")
    assert setting(PRODUCTION, expr) == "True True True 31536000 ('HTTP_X_FORWARDED_PROTO', 'https')"
    assert setting({**PRODUCTION, "HTTPS": "0"}, expr) == "False False False 0 ('HTTP_X_FORWARDED_PROTO', 'https')"
    assert setting({"DEBUG": "1"}, "settings.SESSION_COOKIE_SECURE, settings.SECURE_SSL_REDIRECT") == "False False"


@pytest.mark.multiprocess
def test_production_static_files_are_hashed_and_debug_is_off():
    assert setting(PRODUCTION, "settings.DEBUG, settings.STORAGES['staticfiles']['BACKEND']") == (
        "False whitenoise.storage.CompressedManifestStaticFilesStorage"
    )


@pytest.mark.multiprocess
def test_media_inside_static_root_is_refused():
    result = project_process([sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; "
                  "django.setup()"], {**PRODUCTION, "STATIC_ROOT": "/tmp/x-static", "MEDIA_ROOT": "/tmp/x-static/media"})
    assert result.returncode != 0
    assert "MEDIA_ROOT 不能位于静态文件目录中" in result.stderr


# --- Headers and the Content-Security-Policy ----------------------------------------------------------------


@pytest.fixture
def filler_client(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    unit = make_unit()
    evaluation = make_evaluation(unit=unit)
    user = make_user(access.FILLER, units=[unit])
    client = Client()
    client.login(username=user.username, password=PASSWORD)
    client.evaluation = evaluation
    return client


def test_pages_carry_security_headers_and_a_strict_csp(filler_client):
    response = filler_client.get(f"/evaluations/{filler_client.evaluation.pk}/edit/")
    assert response.status_code == 200
    csp = dict(d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";") if d.strip())
    assert csp["script-src"] == "'self'"
    assert csp["default-src"] == "'self'" and csp["object-src"] == "'none'" and csp["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp["style-src"] and "unsafe-eval" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_hsts_is_sent_over_https(settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    response = Client().get("/accounts/login/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def _templates():
    folders = [ROOT / "templates", *ROOT.glob("*/templates")]
    return [p for folder in folders for p in folder.rglob("*.html")]


def test_no_template_has_inline_script_or_event_handlers():
    offending = []
    for path in _templates():
        text = path.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, re.compile(r"javascript:", re.I)):
            offending += [f"{path.relative_to(ROOT)}: {m.group(0)[:60]}" for m in pattern.finditer(text)]
    assert len(_templates()) > 20
    assert not offending, offending


def test_only_the_standalone_document_inlines_css(demo):
    """The 说明 file and PDF carry their CSS inline (no server to fetch it from); the served page links it."""
    from evaluations.documents import html_pdf

    assert "<style>" in html_pdf.render_html(demo, standalone=True)
    page = html_pdf.render_html(demo, standalone=False)
    assert "<style" not in page and "print.css" in page


# --- Session lifetimes ----------------------------------------------------------------------------------------


def _age_session(client, **seconds_ago):
    session = client.session
    for key, ago in seconds_ago.items():
        session[key] = int(time.time()) - ago
    session.save()


def test_session_ends_after_idle_timeout(filler_client, settings):
    settings.SESSION_IDLE_TIMEOUT = 1800
    _age_session(filler_client, _last_seen=1700)
    assert filler_client.get("/evaluations/").status_code == 200
    _age_session(filler_client, _last_seen=1801)
    response = filler_client.get("/evaluations/", follow=True)
    assert response.redirect_chain[0][0].startswith("/accounts/login/")
    assert "超过 30 分钟未操作，为安全起见请重新登录。" in response.content.decode()


def test_activity_pushes_the_idle_timeout_back(filler_client, settings):
    settings.SESSION_IDLE_TIMEOUT = 1800
    _age_session(filler_client, _last_seen=1700)
    filler_client.get("/evaluations/")
    assert int(time.time()) - filler_client.session[security.LAST_SEEN] < 5


def test_session_ends_after_absolute_lifetime_even_when_active(filler_client, settings):
    settings.SESSION_ABSOLUTE_AGE = 8 * 3600
    _age_session(filler_client, _logged_in_at=8 * 3600 + 1, _last_seen=10)
    response = filler_client.get("/evaluations/", follow=True)
    assert response.redirect_chain[0][0].startswith("/accounts/login/")
    assert "登录已超过 8 小时，为安全起见请重新登录。" in response.content.decode()


def test_login_stamps_the_session(filler_client):
    session = filler_client.session
    assert abs(session[security.LOGGED_IN_AT] - time.time()) < 5
    assert django_settings.SESSION_COOKIE_AGE == django_settings.SESSION_ABSOLUTE_AGE


# --- Login throttling (django-axes) -------------------------------------------------------------------------


def _login(client, username, password, path="/accounts/login/"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR="10.0.0.7")


@pytest.mark.django_db
def test_login_is_locked_after_repeated_failures(settings):
    user = make_user(access.FILLER)
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = _login(client, user.username, "wrong")
        assert response.status_code == 200
        assert "用户名或密码不正确" in response.content.decode()
    response = _login(client, user.username, "wrong")
    assert response.status_code == 429
    page = response.content.decode()
    assert f"已连续 {settings.AXES_FAILURE_LIMIT} 次密码错误" in page and "请 15 分钟后再试" in page
    # Even the right password is refused now, and nobody is logged in.
    response = _login(client, user.username, PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another user from the same address (a bureau behind one NAT address) is not locked out.
    other = make_user(access.FILLER)
    assert _login(Client(), other.username, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_a_success_before_the_limit_resets_the_count(settings):
    user = make_user(access.FILLER)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(Client(), user.username, "wrong")
    assert _login(Client(), user.username, PASSWORD).status_code == 302
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(Client(), user.username, "wrong")
    assert _login(Client(), user.username, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_admin_login_is_throttled_too(settings):
    admin = make_user(access.ADMIN)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(Client(), admin.username, "wrong", path="/admin/login/")
    response = _login(Client(), admin.username, PASSWORD, path="/admin/login/")
    assert response.status_code == 429
    assert "登录已暂时锁定" in response.content.decode()


# --- The admin is for admins -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", [access.FILLER, access.REVIEWER])
def test_fillers_and_reviewers_cannot_reach_the_admin(role):
    user = make_user(role, units=[make_unit()])
    client = Client()
    client.login(username=user.username, password=PASSWORD)
    for path in ("/admin/", "/admin/evaluations/evaluation/", "/admin/auth/user/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), path
    # Their own password at the admin's login page does not let them in either.
    response = _login(Client(), user.username, PASSWORD, path="/admin/login/")
    assert response.status_code == 200
    assert "_auth_user_id" not in response.wsgi_request.session
    assert Client().get("/admin/").status_code == 302


# --- Uploaded files: through access-checked views only ---------------------------------------------------------


def test_uploaded_files_are_never_served_as_static_files(filler_client, settings):
    evaluation = filler_client.evaluation
    upload = SimpleUploadedFile("证明.pdf", b"%PDF-1.4 secret", content_type="application/pdf")
    item = evidence.attach(evaluation, upload, by=evaluation.unit.members.get())
    name = item.file.name
    for path in (f"/static/{name}", f"/media/{name}", f"/{name}", f"/static/../var/media/{name}"):
        assert Client().get(path).status_code == 404, path
        assert filler_client.get(path).status_code == 404, path
    download = f"/evaluations/{evaluation.pk}/evidence/{item.pk}/"
    assert b"".join(filler_client.get(download).streaming_content) == b"%PDF-1.4 secret"
    stranger = make_user(access.FILLER, units=[make_unit()])
    other = Client()
    other.login(username=stranger.username, password=PASSWORD)
    assert other.get(download).status_code == 404
    assert Client().get(download).status_code == 302  # to the login page


def test_production_static_files_are_hashed_compressed_and_cached(db, settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
    settings.WHITENOISE_AUTOREFRESH = False
    # Source maps (bootstrap's: 900 kB) are collected and hashed but not compressed here: brotli spent seconds on them.
    settings.WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [*Compressor.SKIP_COMPRESS_EXTENSIONS, "map"]
    # Only what the login page links (the admin's files make it 20 s slower; `make serve` collects everything).
    skip = ["admin", "import_export", "django_htmx", "*.rtl.*", "bootstrap-*", "bootstrap.css*", "bootstrap.js*",
            "bootstrap.esm*", "bootstrap.min.js*", "bootstrap.bundle.js*"]
    call_command("collectstatic", interactive=False, verbosity=0, ignore_patterns=skip)
    page = Client().get("/accounts/login/").content.decode()
    css = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page)
    assert css, "页面应引用带哈希的静态文件名"
    response = Client().get(css.group(1), HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert "immutable" in response["Cache-Control"]
    assert response.get("Content-Encoding") == "gzip"
