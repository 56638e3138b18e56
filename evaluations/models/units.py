"""Units (the unit tree) and who reviews them."""

import operator
from functools import reduce

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Concat, Substr
from django.db.models.lookups import StartsWith

from evaluations.models.roles import is_admin, is_filler, is_reviewer

# The unit of a row, in a query over evaluations (the unit is a relation) or over units themselves.
EVALUATION_UNIT = "unit_id"
UNIT_ITSELF = "pk"


def in_charge_condition(user, outer=EVALUATION_UNIT, stage=None):
    """True for rows whose unit is in the reviewer's charge (at `stage`, or any), with no extra query. The units in
    charge are uncorrelated subqueries, which the database works out once per query rather than once per row."""
    charges = ReviewerCharge.objects.filter(reviewer_id=user.pk)
    if stage:
        charges = charges.filter(stage=stage)
    subtrees = Unit.objects.filter(
        Exists(charges.filter(include_subunits=True).filter(StartsWith(OuterRef("path"), F("unit__path"))))
    )
    return Q(**{f"{outer}__in": charges.values("unit_id")}) | Q(**{f"{outer}__in": subtrees.values("pk")})


def member_condition(user, outer=EVALUATION_UNIT):
    return Exists(Unit.members.through.objects.filter(unit_id=OuterRef(outer), user_id=user.pk))


def visible_to(queryset, user, outer, *, with_membership=False):
    """Who sees what: admins everything; fillers their units; reviewers the units in their charge (views, admin
    and exports all scope through this, as `Evaluation.objects.visible_to(user)` / `Unit.objects.visible_to(user)`).

    with_membership: each row also says whether the user, a filler, fills its unit in (`viewer_is_member`), in the
    same query; where membership is all the user sees by, that is true of every row found (no second subquery)."""
    if not user.is_authenticated:
        return queryset.none()
    membership = member_condition(user, outer) if is_filler(user) else None
    conditions = [] if membership is None else [membership]  # not seeded with an always-false Q: every page compiles this
    if is_reviewer(user):
        conditions.append(in_charge_condition(user, outer))
    if is_admin(user):
        visible = queryset
    elif conditions:
        visible = queryset.filter(reduce(operator.or_, conditions))
    else:
        return queryset.none()
    if with_membership and membership is not None:
        by_membership_alone = len(conditions) == 1 and not is_admin(user)
        visible = visible.annotate(viewer_is_member=Value(True) if by_membership_alone else membership)
    return visible


class UnitQuerySet(models.QuerySet):
    def visible_to(self, user):
        return visible_to(self, user, UNIT_ITSELF)

    def with_evaluation_of(self, year):
        """Each unit with its evaluation of `year` (id, status, total score, number of projects) and the last recorded action, in one
        query however many units there are; units that have not started have None."""
        # The models of the unit's evaluations and of their events, read off the relations: they are defined
        # above this module (evaluations.py, records.py), which imports this one.
        Evaluation = self.model._meta.get_field("evaluations").related_model
        Event = Evaluation._meta.get_field("events").related_model
        # At most one evaluation per unit and year: no ordering needed.
        of_unit = Evaluation.objects.filter(unit=OuterRef("pk"), framework__year=year).order_by()
        last_event = Event.objects.filter(evaluation__unit=OuterRef("pk"), evaluation__framework__year=year).order_by("-pk")
        return self.annotate(
            evaluation_id=Subquery(of_unit.values("pk")[:1]),
            status=Subquery(of_unit.values("status")[:1]),
            total=Subquery(of_unit.with_total_score().values("total_score_sum")[:1]),
            project_count=Subquery(of_unit.with_project_count().values("project_count")[:1]),
            last_action=Subquery(last_event.values("action")[:1]),
            last_action_at=Subquery(last_event.values("created_at")[:1]),
        )


class Unit(models.Model):
    name = models.CharField("单位全称", max_length=200, unique=True)
    short_name = models.CharField("简称", max_length=50, blank=True)
    code = models.CharField("单位编码", max_length=50, unique=True)
    parent = models.ForeignKey(
        "self", verbose_name="上级单位", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Materialised path ("/1/5/12/") so "a unit and everything under it" is one indexed query.
    path = models.CharField("层级路径", max_length=500, editable=False, db_index=True, default="")
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name="填报人", blank=True, related_name="filler_units"
    )
    supervising_department = models.ForeignKey(
        "self", verbose_name="主管部门", null=True, blank=True, on_delete=models.SET_NULL, related_name="supervised_units",
        help_text="设有主管部门的单位，提交后先由主管部门审核，再由财政部门审核。",
    )

    objects = UnitQuerySet.as_manager()

    class Meta:
        verbose_name = "单位"
        verbose_name_plural = "单位"
        ordering = ["code"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        old_path = self.path
        super().save(*args, **kwargs)
        new_path = f"{self.parent.path if self.parent_id else '/'}{self.pk}/"
        if new_path != old_path:
            Unit.objects.filter(pk=self.pk).update(path=new_path)
            if old_path:  # moved: re-root everything below
                Unit.objects.filter(path__startswith=old_path).exclude(pk=self.pk).update(
                    path=Concat(Value(new_path), Substr("path", len(old_path) + 1))
                )
            self.path = new_path

    def clean(self):
        ancestor = self.parent
        while ancestor is not None:
            if self.pk and ancestor.pk == self.pk:
                raise ValidationError({"parent": "上级单位不能是本单位或其下级单位。"})
            ancestor = ancestor.parent


class ReviewStage(models.TextChoices):
    DEPARTMENT = "department", "主管部门审核"
    FINANCE = "finance", "财政部门审核"


class ReviewerCharge(models.Model):
    """The units a 审核人 is in charge of: one unit, or a unit and everything under it."""

    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="审核人", on_delete=models.CASCADE, related_name="review_charges"
    )
    unit = models.ForeignKey(Unit, verbose_name="负责单位", on_delete=models.CASCADE, related_name="reviewer_charges")
    include_subunits = models.BooleanField("含下级单位", default=True)
    stage = models.CharField("审核环节", max_length=20, choices=ReviewStage.choices, default=ReviewStage.FINANCE)

    class Meta:
        verbose_name = "审核分工"
        verbose_name_plural = "审核分工"
        constraints = [
            models.UniqueConstraint(fields=["reviewer", "unit", "stage"], name="one_charge_per_reviewer_unit_stage")
        ]

    def __str__(self):
        return f"{self.reviewer} → {self.unit}{'（含下级）' if self.include_subunits else ''}（{self.get_stage_display()}）"
