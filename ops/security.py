"""Session lifetimes and login throttling (issue 7)."""

import time

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponseBadRequest

LOGGED_IN_AT = "_logged_in_at"
LAST_SEEN = "_last_seen"
# Recording every request would write the session every time; a minute's precision is plenty.
TOUCH_EVERY = 60


def stamp_login(sender, request, user, **kwargs):
    """Connected to user_logged_in (ops.apps): the session is being saved at login anyway."""
    if request is not None and hasattr(request, "session"):
        request.session[LOGGED_IN_AT] = request.session[LAST_SEEN] = int(time.time())


class SessionTimeoutMiddleware:
    """Log out after SESSION_IDLE_TIMEOUT seconds without a request, and SESSION_ABSOLUTE_AGE after login."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            session = request.session
            # Sessions from before this middleware have no stamps: they get them now.
            logged_in_at = session.setdefault(LOGGED_IN_AT, now)
            last_seen = session.setdefault(LAST_SEEN, now)
            if now - logged_in_at > settings.SESSION_ABSOLUTE_AGE:
                self._end(request, f"登录已超过 {settings.SESSION_ABSOLUTE_AGE // 3600} 小时，为安全起见请重新登录。")
            elif now - last_seen > settings.SESSION_IDLE_TIMEOUT:
                self._end(request, f"超过 {settings.SESSION_IDLE_TIMEOUT // 60} 分钟未操作，为安全起见请重新登录。")
            elif now - last_seen >= TOUCH_EVERY:
                session[LAST_SEEN] = now
        return self.get_response(request)

    @staticmethod
    def _end(request, message):
        logout(request)
        messages.info(request, message)


class RefuseNulMiddleware:
    """No text in this system may contain a NUL character, and PostgreSQL cannot store one: a request carrying
    one (never typed by a person) is refused whole, before views that read request.POST reach the database.
    Django's form fields refuse NUL too; this covers the comment, answer and reason texts read directly."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for params in (request.GET, request.POST if request.method == "POST" else {}):
            for key, values in params.lists() if params else ():
                if "\x00" in key or any("\x00" in value for value in values):
                    return HttpResponseBadRequest("请求中含有无效字符（NUL），已拒绝。".encode(), content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class LoginThrottleBackend(AxesStandaloneBackend):
    """django-axes, for logins that come with a request (the login page, the admin's). Code that authenticates
    without one (the test client, a shell) has no address to throttle and goes straight to ModelBackend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
