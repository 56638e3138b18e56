"""Saving what a filler typed: one transaction, a version check (no silent overwrite), field-level history
written in bulk (a fixed handful of queries however many rows), and the rule-decided scores refreshed."""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from evaluations import scoring, workflow
from evaluations.models import (
    EDITABLE_STATUSES,
    BudgetLine,
    Evaluation,
    FieldChange,
    IndicatorResult,
    NarrativeSection,
)


class StaleEdit(workflow.WorkflowError):
    """Someone saved (or the status changed) after this page was opened; `changes` says who changed what."""

    def __init__(self, message, changes=()):
        super().__init__(message)
        self.changes = list(changes)


def _label(obj):
    if isinstance(obj, IndicatorResult):
        return f"指标“{obj.name}”"
    if isinstance(obj, BudgetLine):
        return f"预算“{obj.get_item_display()}”"
    if isinstance(obj, NarrativeSection):
        return f"说明“{obj.title}”"
    return "自评"


def _text(value):
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(f"{n}. {v}" for n, v in enumerate(value, 1))
    if hasattr(value, "quantize"):
        return scoring.plain(value)
    return str(value)


def field_changes(evaluation, edits, *, by, version):
    """History rows for (object, {field: old value}) pairs whose objects hold the new values."""
    return [
        FieldChange(
            evaluation=evaluation, object_label=_label(obj), field_label=str(obj._meta.get_field(name).verbose_name),
            old_value=_text(before), new_value=_text(getattr(obj, name)), changed_by=by, version=version,
        )
        for obj, old in edits
        for name, before in old.items()
        if _text(before) != _text(getattr(obj, name))
    ]


def _whole_row(evaluation, row, what, old, new, by, version):
    return FieldChange(
        evaluation=evaluation, object_label=f"单位自设指标（{row.category.name}）", field_label=what,
        old_value=old, new_value=new, changed_by=by, version=version,
    )


def changes_since(evaluation, version):
    return list(
        FieldChange.objects.filter(evaluation=evaluation, version__gt=version).select_related("changed_by").order_by("pk")
    )


@dataclass(frozen=True)
class NetChange:
    object_label: str
    field_label: str
    old_value: str
    new_value: str
    changed_by: object  # who made the last of the changes
    changed_at: object


def net_changes_since(evaluation, version):
    """Each field's change from its value at `version` to its value now (old → new), in the order first changed;
    a field changed and changed back is left out (420 → 1234.5 → 420 is no change)."""
    net = {}
    for change in changes_since(evaluation, version):
        key = (change.object_label, change.field_label)
        first = net.get(key)
        net[key] = NetChange(change.object_label, change.field_label, first.old_value if first else change.old_value,
                             change.new_value, change.changed_by, change.changed_at)
    return [change for change in net.values() if change.old_value != change.new_value]


@transaction.atomic
def save_content(evaluation, *, by, expected_version, edits=(), created=(), deleted=()):
    """Apply `edits`: a list of (object, {field: old value}) whose objects already hold the new values;
    `created`: the unit's new rows; `deleted`: unit rows to remove. The evaluation itself may be among the
    edited objects (for budget_note). Returns the evaluation reloaded (with what its scorecard reads) and its
    refreshed scorecard.
    """
    if any(not row.is_unit_row for row in deleted):
        raise workflow.WorkflowError("体系内的指标不能删除，只能删除单位自设的指标。")
    if not workflow.can_edit(by, evaluation):
        raise workflow.WorkflowError(
            f"当前状态为“{evaluation.get_status_display()}”，不能修改。只有本单位填报人在草稿或已退回状态下可以修改。"
        )
    own_fields = {}
    for obj, old in edits:
        if isinstance(obj, Evaluation):
            own_fields = {name: getattr(obj, name) for name in old}
    updated = Evaluation.objects.filter(
        pk=evaluation.pk, version=expected_version, status__in=EDITABLE_STATUSES
    ).update(version=F("version") + 1, updated_by=by, updated_at=timezone.now(), **own_fields)
    if not updated:
        changes = changes_since(evaluation, expected_version)
        raise StaleEdit("您打开页面后，其他人已保存了修改，本次保存未生效。您填写的内容仍保留在页面上，请核对后再保存。", changes)
    new_version = expected_version + 1

    by_model = {}
    for obj, old in edits:
        if old and not isinstance(obj, Evaluation):
            by_model.setdefault(type(obj), (set(), []))
            fields, objects = by_model[type(obj)]
            fields.update(old)
            objects.append(obj)
    history = field_changes(evaluation, edits, by=by, version=new_version)
    for model, (fields, objects) in by_model.items():
        model.objects.bulk_update(objects, sorted(fields), batch_size=200)
    for row in created:
        row.evaluation = evaluation
    IndicatorResult.objects.bulk_create(created)
    if deleted:
        IndicatorResult.objects.filter(evaluation=evaluation, indicator__isnull=True, pk__in=[r.pk for r in deleted]).delete()
    history += [_whole_row(evaluation, row, "新增", "", row.name, by, new_version) for row in created]
    history += [_whole_row(evaluation, row, "删除", row.name, "", by, new_version) for row in deleted]
    FieldChange.objects.bulk_create(history)
    fresh = Evaluation.objects.with_scoring_data().get(pk=evaluation.pk)
    return fresh, fresh.refresh_computed_scores()
