"""Login throttling (issue 13, item 8): django-axes counts failures per user name and client address, and the
address is the client's, not the proxy's. Behind nginx every request comes from 127.0.0.1, so axes must read the
address from the header nginx sets (X-Real-IP, docs/deploy.md), through django-ipware (AXES_IPWARE_* settings);
without django-ipware axes silently uses REMOTE_ADDR and five wrong passwords from anyone lock the user out
everywhere. That is a start-up error here, not a silent fallback.

A 管理员 unlocks users in the admin (用户 → 动作“解锁登录”); each unlock is written to the admin's history."""

import logging

from axes import helpers as axes_helpers
from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.conf import settings
from django.core import checks
from django.db.models import Exists, OuterRef

logger = logging.getLogger(__name__)


@checks.register(checks.Tags.security)
def check_client_address(app_configs, **kwargs):
    if getattr(settings, "BEHIND_PROXY", False) and not axes_helpers.IPWARE_INSTALLED:
        return [checks.Error(
            "登录限制需要 django-ipware 才能从反向代理的请求头读取客户端地址，否则所有登录都算作来自 127.0.0.1，"
            "一个用户名会被任何人在任何地方锁定。",
            hint="pip install -r requirements.txt（含 django-ipware），或客户端直连 gunicorn 时设 BEHIND_PROXY=0。",
            id="ops.E001",
        )]
    return []


def locked_out(users):
    """The users annotated with `login_locked`: locked out from at least one address now."""
    attempts = AccessAttempt.objects.filter(
        username=OuterRef("username"), failures_since_start__gte=settings.AXES_FAILURE_LIMIT
    )
    cooloff = settings.AXES_COOLOFF_TIME
    if cooloff:
        from django.utils import timezone

        attempts = attempts.filter(attempt_time__gte=timezone.now() - cooloff)
    return users.annotate(login_locked=Exists(attempts))


def unlock(user, *, by):
    """Clear the user's failed logins from every address; returns how many records were cleared."""
    cleared = axes_reset(username=user.username)
    logger.warning("登录解锁：用户 %s 由 %s 解锁（清除 %s 条失败记录）", user.username, by.username, cleared)
    return cleared
