"""The one home for changes to an evaluation's content, as workflow.py is for its status (issue 13, item 6).

Every path that changes what an evaluation says — the edit page, the Django admin, the admin import, the official
自评表 import, starting from last year — calls `save_content`, which in one transaction:
- checks the evaluation may be edited (EDITABLE_STATUSES, defined once in the models) by this person on this path;
- bumps the version with a conditional update, so a save made from an older copy never silently wins;
- updates rows in place (their ids are stable: comments and evidence keep their target), creates and deletes the
  unit's own rows;
- writes the field history (FieldChange) with who did it and through which path, in a fixed number of queries;
- stores what the scoring rules decide;
- refuses a change that makes the 说明 larger than its PDF can be rendered in time (text.document_problem: the
  unit's rows and the whole document's text), after writing it and before committing, so nothing is left.

`merge` is the three-way merge of a page saved after someone else saved (issue 13, item 3): the page carries
fingerprints of the values it was opened with (`page_token`), so the fields only the other person changed are
kept, the fields only this person changed are applied, and a field both changed is refused until a choice is made.
"""

import copy
import hashlib
from dataclasses import dataclass
from typing import NamedTuple

from django.core import signing
from django.db import connections, router, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Length
from django.utils import timezone

from evaluations import access, scoring, text, workflow
from evaluations.models import (
    EDITABLE_STATUSES,
    BudgetLine,
    ContentChannel,
    Evaluation,
    FieldChange,
    IndicatorResult,
    NarrativeSection,
    Project,
    ProjectIndicator,
)

CHANNEL = ContentChannel
# Paths taken by the unit's own people; the others are an administrator's.
UNIT_CHANNELS = (CHANNEL.EDIT_PAGE, CHANNEL.CARRY_FORWARD)


class StaleEdit(workflow.WorkflowError):
    """Someone saved (or the status changed) after this page was opened; `changes` says who changed what and
    `conflicts` which fields both changed (each to be decided by the user)."""

    def __init__(self, message, changes=(), conflicts=()):
        super().__init__(message)
        self.changes = list(changes)
        self.conflicts = list(conflicts)


class TooLong(workflow.WorkflowError):
    """The change would make the 说明 larger than text.document_problem allows; nothing was written."""


class Saved(NamedTuple):
    evaluation: Evaluation
    scorecard: object
    changes: list


def label_of(obj):
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


def as_text(value):
    """A value as the history and the comparisons see it: 50 and 50.00 are the same number."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(f"{n}. {v}" for n, v in enumerate(value, 1))
    if hasattr(value, "quantize"):
        if not value.is_finite():
            return str(value)
        try:
            return scoring.plain(value)
        except ArithmeticError:  # beyond what a score or an amount can hold: shown as given
            return f"{value:f}"
    return str(value)


def _field_label(obj, name):
    return str(obj._meta.get_field(name).verbose_name)


def _current(obj, name):
    field = obj._meta.get_field(name)
    return getattr(obj, field.attname)


def field_changes(evaluation, edits, *, by, version, channel=CHANNEL.EDIT_PAGE):
    """History rows for (object, {field: old value}) pairs whose objects hold the new values."""
    return [
        FieldChange(
            evaluation=evaluation, object_label=label_of(obj), field_label=_field_label(obj, name),
            old_value=as_text(before), new_value=as_text(_current(obj, name)), changed_by=by, version=version,
            channel=channel,
        )
        for obj, old in edits
        for name, before in old.items()
        if as_text(before) != as_text(_current(obj, name))
    ]


def _whole_row(evaluation, row, what, old, new, by, version, channel):
    place = f"单位自设指标（{row.category.name}）" if row.is_unit_row else f"体系指标（{row.category.name}）"
    return FieldChange(
        evaluation=evaluation, object_label=place, field_label=what,
        old_value=old, new_value=new, changed_by=by, version=version, channel=channel,
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


def refusal(by, evaluation, channel):
    """Why `by` may not change this evaluation's content through `channel` now (Chinese), or None."""
    if evaluation.status not in EDITABLE_STATUSES:
        return (f"当前状态为“{evaluation.get_status_display()}”，不能修改。"
                "只有草稿或已退回的自评可以修改（已提交或已通过的，需先退回或重新打开）。")
    if channel in UNIT_CHANNELS:
        if not access.is_member(by, evaluation.unit):
            return "只有本单位填报人可以修改本单位的自评。"
    elif not access.is_admin(by):
        return "只有管理员可以通过系统管理或导入修改自评。"
    return None


def update_rows(instances, field_names):
    """Write changed rows with one UPDATE statement run for each (executemany): one query, compiled once.

    Django's bulk_update builds one CASE WHEN per column and row (79 s for 10,000 rows on SQLite) and save()
    compiles a query per row.
    """
    if not instances:
        return
    model = type(instances[0])
    meta = model._meta
    columns = [meta.get_field(name) for name in field_names]
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    sql = (f"UPDATE {quote(meta.db_table)} SET " + ", ".join(f"{quote(f.column)} = %s" for f in columns)
           + f" WHERE {quote(meta.pk.column)} = %s")
    params = [
        [f.get_db_prep_save(f.pre_save(obj, False), connection) for f in columns]
        + [meta.pk.get_db_prep_value(obj.pk, connection)]
        for obj in instances
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def insert_rows(instances):
    """Insert rows with one INSERT statement run for each (executemany): one query however many rows (bulk_create
    splits them into batches of about 100 on SQLite). For rows nothing reads back by id (the field history)."""
    if not instances:
        return
    meta = instances[0]._meta
    columns = [f for f in meta.concrete_fields if not f.primary_key]
    connection = connections[router.db_for_write(type(instances[0]))]
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(meta.db_table)} (" + ", ".join(quote(f.column) for f in columns) + ") VALUES ("
           + ", ".join(["%s"] * len(columns)) + ")")
    params = [[f.get_db_prep_save(f.pre_save(obj, True), connection) for f in columns] for obj in instances]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


# --- The whole document's bound (text.document_problem) --------------------------------------------------


def document_text_length(evaluation):
    """text.document_length of an evaluation as loaded (with_document_data: no query)."""
    return text.document_length(
        budget_note=evaluation.budget_note, sections=[(s.body, s.points) for s in evaluation.sections.all()],
        rows=evaluation.results.all(),
    )


def document_totals(evaluation_ids, chunk=500):
    """{id: (text.document_length, self-set rows)} of the evaluations as stored, in three queries per chunk."""
    ids = sorted(evaluation_ids)
    totals = {pk: [0, 0] for pk in ids}
    row_text = sum((Length(name) for name in text.ROW_TEXT_FIELDS[1:]), Length(text.ROW_TEXT_FIELDS[0]))
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        for pk, note in Evaluation.objects.filter(pk__in=part).values_list("pk", Length("budget_note")):
            totals[pk][0] += note or 0
        rows = (IndicatorResult.objects.filter(evaluation_id__in=part).values("evaluation_id")
                .annotate(chars=Sum(row_text), units=Count("pk", filter=Q(indicator__isnull=True))).order_by())
        for row in rows:
            totals[row["evaluation_id"]][0] += row["chars"] or 0
            totals[row["evaluation_id"]][1] += row["units"]
        sections = NarrativeSection.objects.filter(evaluation_id__in=part).values_list(
            "evaluation_id", Length("body"), "points")
        for pk, body, points in sections:
            totals[pk][0] += (body or 0) + text.section_length("", points)
    return {pk: tuple(value) for pk, value in totals.items()}


def _text_of(obj, name, value):
    if isinstance(obj, NarrativeSection) and name == "points":
        return text.section_length("", value)
    counted = (isinstance(obj, IndicatorResult) and name in text.ROW_TEXT_FIELDS) or (
        isinstance(obj, NarrativeSection) and name == "body") or (isinstance(obj, Evaluation) and name == "budget_note")
    return len(str(value or "")) if counted else 0


def _growth(change):
    """(characters, self-set rows) the change adds to its document (negative: removes)."""
    chars = sum(_text_of(obj, name, _current(obj, name)) - _text_of(obj, name, before)
                for obj, old in change.edits for name, before in old.items())
    chars += sum(text.document_length(budget_note="", sections=(), rows=[row]) for row in change.created)
    chars -= sum(text.document_length(budget_note="", sections=(), rows=[row]) for row in change.deleted)
    rows = sum(1 for row in change.created if row.indicator_id is None) - sum(
        1 for row in change.deleted if row.indicator_id is None)
    return chars, rows


def check_documents(changes):
    """Refuse (TooLong) when a change written in this transaction makes its document exceed the bound; a
    document already over it from before may be saved as long as it does not grow."""
    # A change that adds neither text nor self-set rows cannot break the bound: most saves (figures, scores)
    # read nothing for it.
    growing = [(change, growth) for change in changes if max(growth := _growth(change)) > 0]
    totals = document_totals([change.evaluation.pk for change, _ in growing]) if growing else {}
    for change, (chars, rows) in growing:
        length, units = totals[change.evaluation.pk]
        problem = text.document_problem(length=length, unit_rows=units, length_before=length - chars,
                                        unit_rows_before=units - rows)
        if problem:
            raise TooLong(f"{change.evaluation}：{problem}" if len(changes) > 1 else problem)


@dataclass
class ContentChange:
    """What one save does to one evaluation (see save_content)."""

    evaluation: Evaluation
    edits: list
    created: list
    deleted: list
    expected_version: int | None = None
    written_at: object = None  # set by _apply


def _apply(changes, *, by, channel):
    """Write `changes` (ContentChange) in a fixed number of queries however many evaluations and rows; returns
    the history rows written. The caller stores the rule scores."""
    own_updates = []
    for change in changes:
        evaluation = change.evaluation
        if any(row.pk and not row.is_unit_row for row in change.deleted):
            raise workflow.WorkflowError("体系内的指标不能删除，只能删除单位自设的指标。")
        problem = refusal(by, evaluation, channel)
        if problem:
            raise workflow.WorkflowError(f"{evaluation}：{problem}" if len(changes) > 1 else problem)
        if change.expected_version is None:
            change.expected_version = evaluation.version
        change.edits = [(obj, old) for obj, old in change.edits if old]
        own = {}
        for obj, old in change.edits:
            if isinstance(obj, Evaluation):
                own = {name: getattr(obj, name) for name in old}
        own_updates.append(own)
    # The conditional version bump: every evaluation still at the version the change was made from, still
    # editable; otherwise nothing is written. One UPDATE when no evaluation's own fields change (imports).
    now = timezone.now()
    for change in changes:
        change.written_at = now
    if any(own_updates):
        updated = sum(
            Evaluation.objects.filter(pk=c.evaluation.pk, version=c.expected_version, status__in=EDITABLE_STATUSES)
            .update(version=F("version") + 1, updated_by=by, updated_at=now, **own)
            for c, own in zip(changes, own_updates, strict=True)
        )
    else:
        updated = 0
        for start in range(0, len(changes), 500):
            chunk = changes[start:start + 500]
            matching = Q()
            for c in chunk:
                matching |= Q(pk=c.evaluation.pk, version=c.expected_version)
            updated += Evaluation.objects.filter(matching, status__in=EDITABLE_STATUSES).update(
                version=F("version") + 1, updated_by=by, updated_at=now
            )
    if updated != len(changes):
        stale = changes[0] if len(changes) == 1 else None
        raise StaleEdit(
            "您打开页面后，其他人已保存了修改，本次保存未生效。您填写的内容仍保留在页面上，请核对后再保存。"
            if stale else "导入期间有自评被其他人修改或提交，本次导入未生效，请重新导入。",
            changes_since(stale.evaluation, stale.expected_version) if stale else (),
        )

    history, by_model, created, deleted = [], {}, [], []
    for change in changes:
        evaluation, version = change.evaluation, change.expected_version + 1
        for obj, old in change.edits:
            if not isinstance(obj, Evaluation):
                fields, objects = by_model.setdefault(type(obj), (set(), []))
                fields.update(old)
                objects.append(obj)
        history += field_changes(evaluation, change.edits, by=by, version=version, channel=channel)
        for row in change.created:
            row.evaluation = evaluation
        created += change.created
        deleted += change.deleted
        history += [_whole_row(evaluation, row, "新增", "", row.name, by, version, channel) for row in change.created]
        history += [_whole_row(evaluation, row, "删除", row.name, "", by, version, channel) for row in change.deleted]
    for _model, (fields, objects) in by_model.items():
        update_rows(objects, sorted(fields))
    IndicatorResult.objects.bulk_create(created, batch_size=1000)
    if deleted:
        IndicatorResult.objects.filter(indicator__isnull=True, pk__in=[r.pk for r in deleted]).delete()
    check_documents(changes)
    insert_rows(history)
    return history


@transaction.atomic
def save_content(evaluation, *, by, channel=CHANNEL.EDIT_PAGE, expected_version=None, edits=(), created=(),
                 deleted=(), reload=True):
    """Apply `edits`: a list of (object, {field: old value}) whose objects already hold the new values;
    `created`: new rows; `deleted`: the unit's rows to remove. The evaluation itself may be among the edited
    objects (for budget_note). `expected_version` is the version the change was made from (by default the one
    loaded). Returns the evaluation reloaded, its refreshed scorecard and the history rows written.

    `reload=False` (the edit page, `save_page`): the evaluation was loaded with its rows and budget lines, and
    the edited objects are those loaded ones, holding what was written; the evaluation returned is then a copy of
    it at the new version, its rows those loaded less the deleted plus the created, scored without reading back.
    """
    change = ContentChange(evaluation, list(edits), list(created), list(deleted), expected_version)
    history = _apply([change], by=by, channel=channel)
    if reload or "results" not in getattr(evaluation, "_prefetched_objects_cache", {}):
        fresh = Evaluation.objects.with_scoring_data().get(pk=evaluation.pk)
    else:
        fresh = _as_written(change, by)
    return Saved(fresh, store_rule_scores([fresh])[fresh.pk], history)


def _as_written(change, by):
    """The evaluation of `change` as `_apply` has just written it (see save_content's `reload`): a copy, so the
    caller's object keeps the version it was loaded at, sharing the loaded rows, budget lines and framework."""
    loaded = change.evaluation
    written = copy.copy(loaded)
    gone = {id(row) for row in change.deleted}
    rows = [row for row in loaded.results.all() if id(row) not in gone] + list(change.created)
    written._prefetched_objects_cache = {
        **loaded._prefetched_objects_cache, "results": sorted(rows, key=lambda r: (r.order, r.pk)),  # as loaded
    }
    written.version, written.updated_by, written.updated_at = change.expected_version + 1, by, change.written_at
    return written


@transaction.atomic
def save_many(changes, *, by, channel):
    """save_content for many evaluations at once (the admin import), in a fixed number of queries. Returns
    {evaluation id: (scorecard after, history rows)}."""
    history = _apply(changes, by=by, channel=channel)
    cards = refresh_computed_scores([c.evaluation.pk for c in changes])
    by_evaluation = {}
    for row in history:
        by_evaluation.setdefault(row.evaluation_id, []).append(row)
    return {pk: (card, by_evaluation.get(pk, [])) for pk, card in cards.items()}


def scorecards(evaluation_ids, chunk=500):
    """{id: scorecard} of many evaluations, in a fixed number of queries."""
    ids, cards = sorted(evaluation_ids), {}
    for start in range(0, len(ids), chunk):
        for evaluation in Evaluation.objects.filter(pk__in=ids[start:start + chunk]).with_scoring_data():
            cards[evaluation.pk] = evaluation.scorecard()
    return cards


def refresh_computed_scores(evaluation_ids, chunk=500):
    """`Evaluation.refresh_computed_scores` for many evaluations in a fixed number of queries: each scorecard is
    built from prefetched rows, and every changed row of every evaluation is written in one UPDATE statement.
    Returns {id: scorecard}."""
    ids = sorted(evaluation_ids)
    return store_rule_scores(
        evaluation for start in range(0, len(ids), chunk)
        for evaluation in Evaluation.objects.filter(pk__in=ids[start:start + chunk]).with_scoring_data()
    )


def store_rule_scores(evaluations):
    """`Evaluation.refresh_computed_scores` for evaluations loaded with their rows and budget lines: every changed
    row written in one UPDATE statement (update_rows; bulk_update compiles a CASE per column and row), the
    stored totals in one upsert. Returns {id: scorecard}."""
    changed, cards = [], {}
    for evaluation in evaluations:
        card = evaluation.scorecard()
        changed += evaluation.computed_score_changes(card)
        cards[evaluation.pk] = card
    update_rows(changed, ["score", "actual_value"])
    Evaluation.objects.store_totals(cards)
    return cards


# --- Starting from last year ------------------------------------------------------------------------


@transaction.atomic
def start_from_previous(*, unit, framework, previous, by):
    """A new draft prefilled from the unit's previous year: its own rows and targets (no results or scores),
    and the narrative as a starting point. Everything copied is marked, so it is checked before use, and
    recorded in the history as 沿用上年."""
    evaluation = Evaluation.objects.start(unit=unit, framework=framework, by=by)
    categories = {c.name: c for c in framework.indicators.filter(level=2, accepts_unit_rows=True)}
    created = [
        IndicatorResult(
            evaluation=evaluation, category=categories[row.category.name], name=row.name,
            comparison=row.comparison, target_value=row.target_value, target_text=row.target_text,
            unit_of_measure=row.unit_of_measure, weight=row.weight, rule=row.rule,
            deduction_per_point=row.deduction_per_point, order=row.order, copied_from_previous_year=True,
        )
        for row in previous.results.filter(indicator__isnull=True).select_related("category")
        if row.category.name in categories
    ]
    old_sections = {(s.kind, s.indicator.name if s.indicator_id else ""): s
                    for s in previous.sections.select_related("indicator")}
    edits = []
    for section in evaluation.sections.select_related("indicator"):
        old = old_sections.get((section.kind, section.indicator.name if section.indicator_id else ""))
        if old and old.is_filled:
            before = {"body": section.body, "points": section.points, "copied_from_previous_year": False}
            section.body, section.points, section.copied_from_previous_year = old.body, old.points, True
            edits.append((section, before))
    saved = save_content(evaluation, by=by, channel=CHANNEL.CARRY_FORWARD, edits=edits, created=created)
    # The continuing projects and their targets (issue 16), marked as copied, recorded as carried forward.
    copied = Project.objects.copy_from_previous(previous, into=evaluation) or []
    FieldChange.objects.bulk_create([
        FieldChange(evaluation=evaluation, object_label=f"项目“{p.name}”", field_label="新增项目", new_value=p.name,
                    changed_by=by, version=saved.evaluation.version, channel=CHANNEL.CARRY_FORWARD)
        for p in copied
    ])
    return saved.evaluation


# --- Three-way merge of a page saved after someone else saved ----------------------------------------


def _fingerprint(value):
    return hashlib.blake2b(as_text(value).encode(), digest_size=6).hexdigest()


_KINDS = {IndicatorResult: "r", BudgetLine: "b", NarrativeSection: "s", Evaluation: "e", Project: "p",
          ProjectIndicator: "i"}


def field_key(obj, name):
    return f"{_KINDS[type(obj)]}{obj.pk}.{name}"


class Token(NamedTuple):
    version: int  # of the record the page edits (the evaluation, or the project)
    base: dict  # {field key: fingerprint of the value the page was opened with}
    since: int | None  # a project page: its package's version then (whose history the conflict box lists)


def page_token(record, fields, *, keep=None, since=None):
    """What the page carries about the values it shows: the version of `record` (the evaluation, or the project
    of a project page) and a fingerprint of each editable field (`fields`: (object, [field names]) pairs).
    `keep`: fingerprints to carry over unchanged (of a conflict not yet decided, so it stays refused until the
    user picks a value)."""
    prints = {field_key(obj, name): _fingerprint(getattr(obj, name)) for obj, names in fields for name in names}
    prints.update(keep or {})
    data = {"v": record.version, "f": prints} | ({"s": since} if since is not None else {})
    return signing.dumps(data, salt="evaluations.edit", compress=True)


def read_token(token):
    """Token(version, base, since), or None for a token that is missing or not ours."""
    try:
        data = signing.loads(token or "", salt="evaluations.edit")
        since = data.get("s")
        return Token(int(data["v"]), dict(data["f"]), None if since is None else int(since))
    except (signing.BadSignature, KeyError, TypeError, ValueError, AttributeError):
        return None


@dataclass
class Conflict:
    """A field both people changed since the page was opened: both values shown, the user picks one."""

    key: str
    object_label: str
    field_label: str
    mine: str
    theirs: str


def merge(proposals, base, choices):
    """The three-way merge. `proposals`: (object, {field: value stored now}) for every editable field of the
    page's existing objects, each object holding what the page posted; `base`: {key: fingerprint} of the values
    the page was opened with; `choices`: {key: "mine" | "theirs"} the user picked for earlier conflicts.

    A field the user did not change keeps the stored value (whoever changed it); a field only the user changed is
    applied; a field both changed to different values is a conflict unless the user picked a side. The objects
    are left holding what is to be stored. Returns (edits for save_content, conflicts).
    """
    edits, conflicts = [], []
    for obj, stored in proposals:
        old = {}
        for name, current in stored.items():
            mine = getattr(obj, name)
            if as_text(mine) == as_text(current):
                continue
            key = field_key(obj, name)
            loaded = base.get(key)
            changed_here = loaded is None or _fingerprint(mine) != loaded
            changed_there = loaded is not None and _fingerprint(current) != loaded
            if changed_here and changed_there and choices.get(key) != "mine":
                if choices.get(key) != "theirs":
                    conflicts.append(Conflict(key, label_of(obj), _field_label(obj, name), as_text(mine),
                                              as_text(current)))
                changed_here = False
            if changed_here:
                old[name] = current
            else:
                setattr(obj, name, current)  # what is stored stays (a bulk write of this field must not undo it)
        if old:
            edits.append((obj, old))
    return edits, conflicts


def _merge_page(token, proposals, choices):
    loaded = read_token(token)
    if loaded is None:
        raise StaleEdit("页面已过期或不完整，本次保存未生效。请复制您填写的内容，刷新页面后再保存。")
    edits, conflicts = merge(proposals, loaded.base, choices or {})
    return edits, conflicts, loaded


def _conflicting(conflicts, changes):
    return StaleEdit(
        f"您打开页面后，其他人修改了同样的 {len(conflicts)} 处内容，本次保存未生效。"
        "请在下面逐项选择保留哪个值，再点击“保存”。",
        changes, conflicts,
    )


def save_page(evaluation, *, by, token, proposals, choices=None, created=(), deleted=()):
    """Save the edit page. `token` is what the page carried (`page_token`): a page opened before someone else
    saved has its changes merged into theirs (`merge`); a field both changed refuses the whole save (StaleEdit
    with its conflicts) until the user picks a value; nothing is written then."""
    edits, conflicts, loaded = _merge_page(token, proposals, choices)
    if conflicts:
        raise _conflicting(conflicts, changes_since(evaluation, loaded.version))
    # The merge read the stored values loaded with this request: saved only if nobody saved in between.
    return save_content(evaluation, by=by, channel=CHANNEL.EDIT_PAGE, expected_version=evaluation.version,
                        edits=edits, created=created, deleted=deleted, reload=False)



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


def project_page_token(project, fields):
    """page_token of a project's edit page: the project's version, and its package's (for the conflict box)."""
    return page_token(project, fields, since=project.evaluation.version)


class ProjectSaved(NamedTuple):
    project: Project
    scorecard: object
    merged: bool  # someone else's changes, saved after the page was opened, were kept


def save_project_page(project, *, by, token, proposals, choices=None, created=(), deleted=()):
    """Save a project's edit page, merged as the evaluation's edit page is (`save_page`, `merge`): what only the
    other person changed since the page was opened is kept, what only this person changed is applied, a field both
    changed refuses the save (StaleEdit with its conflicts, nothing written) until the user picks a value."""
    edits, conflicts, loaded = _merge_page(token, proposals, choices)
    if conflicts:
        label = f"项目“{project.name}”"
        changes = [c for c in changes_since(project.evaluation, loaded.since or 0) if c.object_label.startswith(label)]
        raise _conflicting(conflicts, changes)
    # The merge read the stored values loaded with this request: saved only if nobody saved in between.
    fresh, card = save_project(project, by=by, expected_version=project.version, edits=edits, created=created,
                               deleted=deleted)
    return ProjectSaved(fresh, card, loaded.version != project.version)


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
