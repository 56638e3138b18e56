"""Who may see what: the one place every view, admin queryset, export and document URL asks.

Roles are Django groups: 填报人 (fillers, members of one or more units), 审核人 (reviewers, in charge of units
through ReviewerCharge: a unit, or a unit and everything under it), 管理员 (admins; superusers count as admins).
What a user may not see is 404; what they may see but not do is 403 (the views decide the status code).
"""

from django.db.models import Exists, F, OuterRef, Q
from django.db.models.lookups import StartsWith

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


def role_names(user):
    names = [role for role in ROLES if role in _groups(user)]
    if user.is_authenticated and user.is_superuser and ADMIN not in names:
        names.append(ADMIN)
    return names


# The unit of a row, in a query over evaluations (the unit is a relation) or over units themselves.
EVALUATION_UNIT = "unit_id"
UNIT_ITSELF = "pk"


def in_charge_condition(user, outer=EVALUATION_UNIT, stage=None):
    """True for rows whose unit is in the reviewer's charge (at `stage`, or any), with no extra query. The units in
    charge are uncorrelated subqueries, which the database works out once per query rather than once per row."""
    from evaluations.models import ReviewerCharge, Unit

    charges = ReviewerCharge.objects.filter(reviewer_id=user.pk)
    if stage:
        charges = charges.filter(stage=stage)
    subtrees = Unit.objects.filter(
        Exists(charges.filter(include_subunits=True).filter(StartsWith(OuterRef("path"), F("unit__path"))))
    )
    return Q(**{f"{outer}__in": charges.values("unit_id")}) | Q(**{f"{outer}__in": subtrees.values("pk")})


def member_condition(user, outer=EVALUATION_UNIT):
    from evaluations.models import Unit

    return Exists(Unit.members.through.objects.filter(unit_id=OuterRef(outer), user_id=user.pk))


def _scoped(queryset, user, outer):
    if not user.is_authenticated:
        return queryset.none()
    if is_admin(user):
        return queryset
    condition = Q(pk__in=[])
    if is_filler(user):
        condition |= member_condition(user, outer)
    if is_reviewer(user):
        condition |= in_charge_condition(user, outer)
    return queryset.filter(condition)


def visible_evaluations(queryset, user):
    return _scoped(queryset, user, EVALUATION_UNIT)


def visible_units(queryset, user):
    return _scoped(queryset, user, UNIT_ITSELF)


def _remembered(user, key, compute):
    """Per-request memo on the user object (a page asks the same question for several buttons)."""
    memo = user.__dict__.setdefault("_access_memo", {})
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def is_member(user, unit):
    if not (user.is_authenticated and is_filler(user)):
        return False
    return _remembered(user, ("member", unit.pk), lambda: unit.members.filter(pk=user.pk).exists())


def in_charge_of(user, unit, stage=None):
    from evaluations.models import ReviewerCharge

    if not is_reviewer(user):
        return False

    def charged():
        charges = ReviewerCharge.objects.filter(charges_over(unit), reviewer_id=user.pk)
        return (charges.filter(stage=stage) if stage else charges).exists()

    return _remembered(user, ("charge", unit.pk, stage), charged)


def ancestor_ids(unit):
    """The unit and the units above it, read off its materialised path."""
    return [int(part) for part in unit.path.strip("/").split("/") if part]


def charges_over(unit):
    """The reviewer charges that cover one unit: they name it, or a unit above it and everything under that."""
    return Q(unit_id=unit.pk) | Q(include_subunits=True, unit_id__in=ancestor_ids(unit))


def reviewers_in_charge(unit, stage):
    """The reviewers responsible for a unit at a stage: their charge names the unit or a unit above it."""
    from django.contrib.auth import get_user_model

    from evaluations.models import ReviewerCharge

    charges = ReviewerCharge.objects.filter(charges_over(unit), stage=stage)
    return get_user_model().objects.filter(
        is_active=True, groups__name=REVIEWER, pk__in=charges.values("reviewer_id")
    ).distinct()


def fillers_of(unit):
    return unit.members.filter(is_active=True, groups__name=FILLER).distinct()
