"""The three roles, as Django groups, and which of them a user holds (read once per request).

Roles are Django groups: 填报人 (fillers, members of one or more units), 审核人 (reviewers, in charge of units
through ReviewerCharge: a unit, or a unit and everything under it), 管理员 (admins; superusers count as admins).
They sit with the models because the QuerySets scope by them (`visible_to(user)`, `awaiting(user)`).
"""

FILLER = "填报人"
REVIEWER = "审核人"
ADMIN = "管理员"
ROLES = (FILLER, REVIEWER, ADMIN)


def _groups(user):
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._role_names = cached
    return cached


def is_admin(user):
    return user.is_authenticated and (user.is_superuser or ADMIN in _groups(user))


def is_reviewer(user):
    return REVIEWER in _groups(user)


def is_filler(user):
    return FILLER in _groups(user)
