"""Login throttling counts the real client (issue 13, item 8): behind nginx every request comes from 127.0.0.1, so
the address is read from the header nginx sets (X-Real-IP), never from one a client writes (X-Forwarded-For); a
user name is locked per address, not everywhere; a 管理员 unlocks users in the admin, and that is recorded."""

import pytest
from axes import helpers as axes_helpers
from django.contrib.admin.models import LogEntry
from django.test import Client

from evaluations import access
from ops import login_throttle
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db
PROXY = "127.0.0.1"  # nginx on the same machine: the address every request arrives from (docs/deploy.md)


def login(username, password, client_address, **headers):
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=PROXY,
                           headers={"X-Real-IP": client_address, **headers})
    return response, client


def lock_out(username, client_address, limit, **headers):
    for _ in range(limit):
        response, _client = login(username, "wrong", client_address, **headers)
    assert response.status_code == 429


def test_wrong_passwords_from_one_client_do_not_lock_the_user_out_from_others(settings):
    user = make_user(access.FILLER)
    lock_out(user.username, "203.0.113.7", settings.AXES_FAILURE_LIMIT)
    # The guesser is locked out, even with the right password, and whatever X-Forwarded-For it writes.
    assert login(user.username, PASSWORD, "203.0.113.7")[0].status_code == 429
    assert login(user.username, PASSWORD, "203.0.113.7", **{"X-Forwarded-For": "198.51.100.9"})[0].status_code == 429
    # The user, at the bureau (an intranet address through the same nginx), logs in.
    response, client = login(user.username, PASSWORD, "10.20.30.40")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_without_django_ipware_behind_a_proxy_the_system_does_not_start(settings, monkeypatch):
    settings.BEHIND_PROXY = True
    assert login_throttle.check_client_address(None) == []
    monkeypatch.setattr(axes_helpers, "IPWARE_INSTALLED", False)  # axes would silently count REMOTE_ADDR
    errors = login_throttle.check_client_address(None)
    assert [e.id for e in errors] == ["ops.E001"] and "django-ipware" in errors[0].msg
    settings.BEHIND_PROXY = False
    assert login_throttle.check_client_address(None) == []


def test_an_administrator_unlocks_a_user_in_the_admin_and_it_is_recorded(settings):
    user = make_user(access.FILLER)
    other = make_user(access.FILLER)
    lock_out(user.username, "203.0.113.7", settings.AXES_FAILURE_LIMIT)
    administrator = make_user(access.ADMIN)
    assert not administrator.is_superuser
    client = Client()
    client.force_login(administrator)
    page = client.get("/admin/auth/user/")
    assert page.status_code == 200
    locked = {u.username: u.login_locked for u in page.context["cl"].result_list}
    assert locked[user.username] and not locked[other.username]
    assert "解锁登录" in page.content.decode()

    response = client.post("/admin/auth/user/", {"action": "unlock_login", "_selected_action": [user.pk]}, follow=True)
    assert f"已解锁 1 个用户的登录：{user.username}" in response.content.decode()
    assert login(user.username, PASSWORD, "203.0.113.7")[0].status_code == 302
    entry = LogEntry.objects.get(object_id=str(user.pk))
    assert entry.user == administrator and "解锁登录" in entry.get_change_message()


def test_the_unlock_is_not_offered_to_those_who_cannot_change_users():
    reviewer = make_user(access.REVIEWER)
    reviewer.is_staff = True
    reviewer.save()
    client = Client()
    client.force_login(reviewer)
    assert client.get("/admin/auth/user/").status_code == 403
