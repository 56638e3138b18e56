"""Who may see what: the one place every view, admin queryset, export and document URL asks.

Roles are Django groups (evaluations/models/roles.py): 填报人 fillers, 审核人 reviewers, 管理员 admins.
What a user may not see is 404; what they may see but not do is 403 (the views decide the status code).
"""

from django.contrib.auth import get_user_model
from django.db.models import Q

from evaluations.models import ReviewerCharge
from evaluations.models.roles import ADMIN, FILLER, REVIEWER, ROLES, is_admin, is_filler, is_reviewer

__all__ = [
    "ADMIN", "FILLER", "REVIEWER", "ROLES", "is_admin", "is_filler", "is_reviewer",
    "can_import_official", "can_export_documents", "can_open_admin", "can_review_pages", "is_member", "remember_membership", "in_charge_of", "ancestor_ids", "charges_over", "reviewers_in_charge", "fillers_of",
]

# Which rows a user may see is a QuerySet method, written once in the models: Evaluation.objects.visible_to(user),
# Unit.objects.visible_to(user) (evaluations/models/units.py). The roles themselves: evaluations/models/roles.py.


def can_import_official(user):
    """Importing a filled 自评表 changes any unit's evaluation: admins only."""
    return is_admin(user)


def can_export_documents(user):
    """The zip of a year's approved 说明 covers every unit: admins only."""
    return is_admin(user)


def can_review_pages(user):
    """The review queue, the overview and the 修改记录: reviewers and admins."""
    return is_reviewer(user) or is_admin(user)


def can_open_admin(user):
    """Django's admin lets in staff only (admins are staff: the user import sets it from the role)."""
    return user.is_authenticated and user.is_staff


def _memo(user):
    """Per-request memo on the user object (a page asks the same question for several buttons)."""
    return user.__dict__.setdefault("_access_memo", {})


def _remembered(user, key, compute):
    memo = _memo(user)
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def is_member(user, unit):
    if not (user.is_authenticated and is_filler(user)):
        return False
    # The membership table itself, not joined with the users.
    membership = type(unit).members.through.objects
    return _remembered(user, ("member", unit.pk), lambda: membership.filter(unit_id=unit.pk, user_id=user.pk).exists())


def remember_membership(user, unit, member):
    """What a query of the request already read (Evaluation.objects.visible_to(user, with_membership=True)): is_member
    asks no more."""
    _memo(user)[("member", unit.pk)] = bool(member)


def in_charge_of(user, unit, stage=None):
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
    charges = ReviewerCharge.objects.filter(charges_over(unit), stage=stage)
    return get_user_model().objects.filter(
        is_active=True, groups__name=REVIEWER, pk__in=charges.values("reviewer_id")
    ).distinct()


def fillers_of(unit):
    return unit.members.filter(is_active=True, groups__name=FILLER).distinct()
