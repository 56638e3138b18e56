"""Saving what a filler typed: one transaction, a version check (no silent overwrite), field-level history
written in bulk (a fixed handful of queries however many rows), and the rule-decided scores refreshed."""

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
    Project,
    ProjectIndicator,
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
    if isinstance(obj, Project):
        return f"项目“{obj.name}”"
    if isinstance(obj, ProjectIndicator):
        return f"项目“{obj.project.name}”指标“{obj.name}”"
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


# ------------------------------------------------------------------------------------------------
# Projects: content of the same package, so the same checks (the evaluation's status, the filler's unit) apply,
# and every change bumps the evaluation's version too (a reviewer's page opened before it is stale).
# ------------------------------------------------------------------------------------------------


def _refuse_unless_editable(evaluation, by):
    if not workflow.can_edit(by, evaluation):
        raise workflow.WorkflowError(
            f"当前状态为“{evaluation.get_status_display()}”，不能修改项目。只有本单位填报人在草稿或已退回状态下可以修改。"
        )


def _bump_package(evaluation, by):
    """The package's new version; refused if its status changed meanwhile (submitted from another page)."""
    updated = Evaluation.objects.filter(pk=evaluation.pk, status__in=EDITABLE_STATUSES).update(
        version=F("version") + 1, updated_by=by, updated_at=timezone.now()
    )
    if not updated:
        raise StaleEdit("自评状态已变化（可能已提交），本次修改未生效，请刷新页面。")
    return Evaluation.objects.values_list("version", flat=True).get(pk=evaluation.pk)


def _project_history(evaluation, project, what, old, new, by, version):
    return FieldChange(
        evaluation=evaluation, object_label=f"项目“{project.name}”", field_label=what, old_value=old, new_value=new,
        changed_by=by, version=version,
    )


@transaction.atomic
def add_project(evaluation, *, by, project, rows=()):
    """A new project in the unit's package (`project` unsaved, its fields checked by the form), with its rows."""
    _refuse_unless_editable(evaluation, by)
    version = _bump_package(evaluation, by)
    project.evaluation = evaluation
    project.updated_by = by
    project.save()
    for row in rows:
        row.project = project
    ProjectIndicator.objects.bulk_create(rows)
    FieldChange.objects.bulk_create([_project_history(evaluation, project, "新增项目", "", project.name, by, version)])
    fresh = Project.objects.with_table_data().get(pk=project.pk)
    return fresh, fresh.refresh_scores()


@transaction.atomic
def save_project(project, *, by, expected_version, edits=(), created=(), deleted=()):
    """Apply `edits` ((object, {field: old value}) with the new values on the objects: the project itself and its
    rows), add `created` rows and remove `deleted` ones, refusing a stale page. Returns the project reloaded
    and its refreshed scorecard."""
    evaluation = project.evaluation
    _refuse_unless_editable(evaluation, by)
    own_fields = {}
    for obj, old in edits:
        if isinstance(obj, Project):
            own_fields = {name: getattr(obj, name) for name in old}
    updated = Project.objects.filter(
        pk=project.pk, version=expected_version, evaluation__status__in=EDITABLE_STATUSES
    ).update(version=F("version") + 1, updated_by=by, updated_at=timezone.now(), **own_fields)
    if not updated:
        raise StaleEdit("您打开页面后，其他人已保存了修改或自评状态已变化，本次保存未生效。您填写的内容仍保留在页面上，请核对后再保存。")
    version = _bump_package(evaluation, by)
    rows = [obj for obj, old in edits if old and isinstance(obj, ProjectIndicator)]
    fields = sorted({name for obj, old in edits if isinstance(obj, ProjectIndicator) for name in old})
    if rows:
        ProjectIndicator.objects.bulk_update(rows, fields, batch_size=200)
    for row in created:
        row.project = project
    ProjectIndicator.objects.bulk_create(created)
    if deleted:
        ProjectIndicator.objects.filter(project=project, pk__in=[r.pk for r in deleted]).delete()
    history = field_changes(evaluation, edits, by=by, version=version)
    history += [_project_history(evaluation, project, "新增指标", "", row.name, by, version) for row in created]
    history += [_project_history(evaluation, project, "删除指标", row.name, "", by, version) for row in deleted]
    FieldChange.objects.bulk_create(history)
    fresh = Project.objects.with_table_data().get(pk=project.pk)
    return fresh, fresh.refresh_scores()


@transaction.atomic
def delete_project(project, *, by):
    evaluation = project.evaluation
    _refuse_unless_editable(evaluation, by)
    version = _bump_package(evaluation, by)
    FieldChange.objects.create(
        evaluation=evaluation, object_label=f"项目“{project.name}”", field_label="删除项目", old_value=project.name,
        new_value="", changed_by=by, version=version,
    )
    project.delete()
