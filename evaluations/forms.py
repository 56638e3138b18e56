"""Forms: the shape of what is typed. Meaning (score ranges, bands) is checked by the models' clean(),
which asks evaluations.scoring; saving goes through evaluations.editing."""

import re

from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.forms.formsets import BaseFormSet, formset_factory
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from evaluations import scoring, text
from evaluations.form_renderer import escape
from evaluations.models import BudgetLine, DeductionReason, Evaluation, IndicatorResult, NarrativeSection, ReportPart

FRAMEWORK_ROW_FIELDS = ["actual_value", "actual_text", "band", "score", "deviation_reason"]
UNIT_ROW_FIELDS = [
    "name", "comparison", "target_value", "target_text", "unit_of_measure", "weight", "rule", "deduction_per_point",
    *FRAMEWORK_ROW_FIELDS,
]
# What a screen reader says for each input of a row: the row's name and this (the table shows them as columns): the
# model's verbose names, shorter where the table's column heading already says the rest.
ROW_FIELD_LABELS = {name: str(IndicatorResult._meta.get_field(name).verbose_name) for name in UNIT_ROW_FIELDS} | {
    "name": "指标名称", "target_text": "定性目标", "actual_text": "实际完成情况",
}
TYPED_NUMBER = re.compile(r"^\s*\d+\s*[.．、]\s*")


class PointsWidget(forms.Widget):
    """Numbered points as an ordered list of inputs (add, remove and move them in the page); the numbers are
    printed, never typed. Without JavaScript the list still works, with one empty line to add a point."""

    template_name = "evaluations/widgets/points.html"

    def format_value(self, value):
        return list(value or [])

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["points"] = [*self.format_value(value), ""]
        return context

    def value_from_datadict(self, data, files, name):
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name, [])

    def value_omitted_from_data(self, data, files, name):
        return False


class PointsField(forms.Field):
    widget = PointsWidget

    def to_python(self, value):
        if isinstance(value, str):
            value = text.normalise(value).split("\n")
        # People paste "1. …" from Word: the numbers are printed for them, so drop typed ones.
        points = [TYPED_NUMBER.sub("", text.normalise(str(v))).strip() for v in (value or [])]
        return [p for p in points if p]

    def has_changed(self, initial, data):
        return list(initial or []) != self.to_python(data)


def _style(form):
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select form-select-sm")
        elif isinstance(widget, (forms.TextInput, forms.NumberInput, forms.Textarea)):
            widget.attrs.setdefault("class", "form-control form-control-sm")


class FiniteDecimalField(forms.DecimalField):
    """Django's DecimalField lets "sNaN" through to_python() (clean() refuses it later), and has_changed() then
    compares a signalling NaN, which raises: a 500. Non-finite numbers are refused here, before any comparison."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is not None and not value.is_finite():
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return value


def form_field(db_field, **kwargs):
    """The form field of a model field, for every form of model fields here (ModelForms, InstanceForms): finite
    decimals, normalised and bounded text."""
    if isinstance(db_field, models.DecimalField):
        kwargs.setdefault("form_class", FiniteDecimalField)
    elif isinstance(db_field, (models.CharField, models.TextField)) and not db_field.choices:
        kwargs.setdefault("form_class", text.TextField)
    return db_field.formfield(**kwargs)


# Numbers in text inputs (inputmode="decimal" brings the numeric keypad): a browser empties a number input
# holding what is not a number ("1,0", "约 500"), so the server would see nothing typed; a text input posts what
# was typed or pasted and the check says what is wrong with it. (A number input also changes on a mouse wheel.)
class CellTextarea(forms.Textarea):
    """A text that may be long, in a table cell: one line that grows with what is typed (CSS field-sizing) instead
    of being cut off, as wide as its cell (no `cols`)."""

    def __init__(self, attrs=None):
        super().__init__({"rows": 1, **(attrs or {})})
        self.attrs.pop("cols", None)


ROW_WIDGETS = {
    **dict.fromkeys(("target_value", "actual_value", "weight", "score", "deduction_per_point"), forms.TextInput),
    "deviation_reason": CellTextarea,
    "actual_text": CellTextarea(attrs={"placeholder": "完成情况"}),
    "target_text": forms.TextInput(attrs={"placeholder": "定性目标"}),
    "unit_of_measure": forms.TextInput(attrs={"placeholder": "单位", "size": 4}),
}
# A unit row's own definition (its name, target, weight, rule): shown as text, with its inputs only where the
# filler asks to change it (the row's detail, loaded on demand) and on new rows.
DEFINITION_FIELDS = [name for name in UNIT_ROW_FIELDS if name not in FRAMEWORK_ROW_FIELDS]
NUMBER_FIELDS = ("target_value", "actual_value", "weight", "score", "deduction_per_point")


def work_fields(row):
    """The inputs a row needs to be filled in, by its saved rule: one per cell. A rule-scored row has no 得分 input
    (the rule decides, the page shows the number); a 实际完成值 read off the budget table has no input either."""
    if row.actual_source:
        actual = []
    elif row.comparison == "qualitative":
        actual = ["actual_text"]
    else:
        actual = ["actual_value"]
    graded = {"qualitative": ["band", "score"], "manual": ["score"]}.get(row.rule, [])
    return [*actual, *graded, "deviation_reason"]


def row_input_attrs(row, name):
    """The attributes of a row's input beyond its widget's own: the numeric keypad and what a screen reader says
    (the row's name and the column's; the table's column headings say the rest). The paste from Excel knows an
    input's column by its cell (`td.col-actual` …: static/js/edit.js)."""
    attrs = {"inputmode": "decimal"} if name in NUMBER_FIELDS else {}
    if name in ROW_FIELD_LABELS:
        attrs["aria-label"] = f"{'' if name == 'name' else row.name}{ROW_FIELD_LABELS[name]}"
    return attrs


class InstanceForm(forms.Form):
    """A form over one object loaded with the page (a row, a budget line, a section, the evaluation), of some of
    its model's fields (`model_fields`, made by `of_model`): checked as a ModelForm checks it, each field and then
    the model's own checks (Model.full_clean: its fields' validators and its clean()) on the object holding what was
    typed, in `_post_clean`.

    Not a ModelForm: what one adds per form (some 50 a save) is what these never need: reading every column for
    the initial values (model_to_dict), the unique and constraint checks (none of these forms has a field of a
    unique constraint: they are the relations, `evaluation`, `indicator`, `item`, `kind`; tests/test_edit_page.py
    checks), limit_choices_to (no field has choices from a query)."""

    model_fields = ()  # the model's fields among the form's, in the form's order (of_model)

    def __init__(self, data=None, *, instance, initial=None, **kwargs):
        self.instance = instance
        # What the object holds, as a ModelForm reads it (model_to_dict: these fields' values).
        object_data = {name: getattr(instance, name) for name in self.model_fields}
        object_data.update(initial or {})
        super().__init__(data, initial=object_data, **kwargs)

    def _post_clean(self):
        # As ModelForm._post_clean: the object takes what passed its field's check, and the model checks it, the
        # fields this form does not show and those already refused left out.
        obj = self.instance
        for name in self.model_fields:
            if name in self.cleaned_data:
                setattr(obj, name, self.cleaned_data[name])
        exclude = {f.name for f in obj._meta.fields if f.name not in self.model_fields or f.name in self._errors}
        try:
            obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            self.add_error(None, error)


def of_model(model, fields, widgets=None):
    """Class decorator of an InstanceForm: its fields are first `model`'s form fields `fields` (as a ModelForm's:
    form_field, `widgets`; a field the form declares itself stands in its place), then the form's own."""

    def decorate(form_class):
        form_class.model_fields = tuple(fields)
        form_class.base_fields = {
            **forms.fields_for_model(model, fields=list(fields), widgets=widgets, formfield_callback=form_field,
                                     apply_limit_choices_to=False, form_declared_fields=form_class.declared_fields),
            **form_class.declared_fields,
        }
        return form_class

    return decorate


class IndicatorResultForm(InstanceForm):
    """One row of the edit page. Its fields are the inputs the row shows (see `row_form`): a form checks and
    applies exactly what its row posts, so a field the page does not show is never emptied."""

    row_id = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.categories = categories if isinstance(categories, dict) else {c.pk: c for c in categories}
        row = self.instance
        if row.pk:
            self.initial.update(row_id=row.pk, order=row.order)  # the page's token fingerprints every row's order
        for name, field in self.fields.items():
            field.widget.attrs.update(row_input_attrs(row, name))
        _style(self)

    @property
    def fixed_by_framework(self):
        return self.instance.pk is not None and not self.instance.is_unit_row

    @property
    def defines(self):
        """The row's definition is being typed (a new row, or a unit row whose definition the filler opened)."""
        return "name" in self.fields

    def add_error(self, field, error):
        # The model's checks may name a field this row's form does not show (a framework row's 分值): the message
        # then belongs to the row, after the field's name (Django would raise ValueError: a 500).
        if field is None and isinstance(error, forms.ValidationError) and hasattr(error, "error_dict"):
            for name in [n for n in error.error_dict if n != NON_FIELD_ERRORS and n not in self.fields]:
                label = ROW_FIELD_LABELS.get(name, name)
                error.error_dict.setdefault(NON_FIELD_ERRORS, []).extend(
                    forms.ValidationError(f"{label}：{message}") for message in forms.ValidationError(
                        error.error_dict.pop(name)).messages
                )
        super().add_error(field, error)

    def clean(self):
        cleaned = super().clean()
        row = self.instance
        if row.pk and cleaned.get("row_id") not in (None, row.pk):
            raise forms.ValidationError("页面已过期（指标行顺序已变化），请刷新页面后重新填写。")
        if not row.pk:
            category = self.categories.get(cleaned.get("category_id"))
            if category is None:
                raise forms.ValidationError("请选择自设指标所属的二级指标（只能加在允许单位自设指标的类别下）。")
            row.category = category
            if not cleaned.get("name"):
                self.add_error("name", "请填写指标名称。")
        if cleaned.get("order") is not None:
            row.order = cleaned["order"]
        return cleaned


class UnitRowForm(IndicatorResultForm):
    # Bounded as the column is (PostgreSQL's integer): a larger number was a 500 there.
    order = forms.IntegerField(
        label="排序", required=False, min_value=0, max_value=2**31 - 1, widget=forms.HiddenInput,
        error_messages={"max_value": "排序号无效，请刷新页面后重新调整顺序。", "min_value": "排序号无效，请刷新页面后重新调整顺序。"},
    )


class NewRowForm(UnitRowForm):
    category_id = forms.IntegerField(required=False, widget=forms.HiddenInput)


_ROW_FORMS = {}


def _row_form_class(base, fields):
    """The row form of `base` with the model's fields `fields`, then `base`'s own (row_id …); made once per shape."""
    key = (base, tuple(fields))
    if key not in _ROW_FORMS:
        _ROW_FORMS[key] = of_model(IndicatorResult, fields, ROW_WIDGETS)(type(base)(base.__name__, (base,), {}))
    return _ROW_FORMS[key]


NEW_ROW_FIELDS = [*DEFINITION_FIELDS, "actual_value", "actual_text", "deviation_reason"]


def row_form_class(instance, *, prefix="", data=None, define=False):
    """The form class for one row, of the shape its row shows: a framework row its work inputs; a unit row the
    same, plus its definition when the page posts it (`<prefix>-define`); a new row its definition and 实际完成值
    (its 得分 input, if its rule needs one, comes once it is saved)."""
    if instance.pk is None:
        return _row_form_class(NewRowForm, NEW_ROW_FIELDS)
    if not instance.is_unit_row:
        return _row_form_class(IndicatorResultForm, work_fields(instance))
    if define or (data is not None and f"{prefix}-define" in data):
        return _row_form_class(UnitRowForm, [*DEFINITION_FIELDS, *work_fields(instance)])
    return _row_form_class(UnitRowForm, work_fields(instance))


def row_form(*, instance, prefix, data=None, define=False, **kwargs):
    """The form for one row (see `row_form_class`)."""
    return row_form_class(instance, prefix=prefix, data=data, define=define)(
        instance=instance, prefix=prefix, data=data, **kwargs
    )


row_form.__name__ = "IndicatorResultForm"  # formset_factory names the formset after it


class BaseRowFormSet(BaseFormSet):
    """One form per row, bound to the row objects already loaded with the page (no query per row)."""

    def __init__(self, *args, rows=(), evaluation=None, categories=(), **kwargs):
        self.rows, self.evaluation, self.categories = list(rows), evaluation, list(categories)
        self.categories_by_pk = {c.pk: c for c in self.categories}  # for every row's form, made once
        kwargs.setdefault("initial", [{} for _ in self.rows])
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        if index is not None and index < len(self.rows):
            instance = self.rows[index]
        else:
            instance = IndicatorResult(evaluation=self.evaluation, indicator=None, rule="proportional", comparison=">=")
        return {"instance": instance, "categories": self.categories_by_pk}

    def add_fields(self, form, index):
        if form.instance.is_unit_row:  # only the unit's own rows can be deleted
            super().add_fields(form, index)

    def clean(self):
        for form in self.forms:
            if self._should_delete_form(form) and form.instance.pk and not form.instance.is_unit_row:
                raise forms.ValidationError(f"体系内的指标“{form.instance.name}”不能删除。")

    def redefined(self):
        """Whether a saved row's definition changes (its inputs then change: the page is loaded again)."""
        return any(
            form.instance.pk and form.defines and set(form.changed_data) & set(DEFINITION_FIELDS) for form in self.forms
        )

    def changes(self):
        """(edited, created, deleted) for editing.save_content."""
        edited, created, deleted = [], [], []
        for form in self.forms:
            row = form.instance
            if self._should_delete_form(form):
                if row.pk:
                    deleted.append(row)
                continue
            if not row.pk:
                if form.has_changed():
                    created.append(row)
                continue
            old = {name: form.initial.get(name) for name in form.changed_data if name in form.model_fields}
            if form.cleaned_data.get("order") not in (None, form.initial.get("order")):
                old["order"] = form.initial.get("order")
            if old:
                edited.append((row, old))
        return edited, created, deleted


RowFormSet = formset_factory(row_form, formset=BaseRowFormSet, extra=0, can_delete=True)
RowFormSet.form = staticmethod(row_form)  # a function choosing each row's form class, not a method


BUDGET_FIELDS = ["initial_budget", "adjusted_budget", "executed"]


@of_model(BudgetLine, BUDGET_FIELDS, widgets=dict.fromkeys(BUDGET_FIELDS, forms.TextInput))
class BudgetLineForm(InstanceForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.update({"class": "form-control form-control-sm text-end", "inputmode": "decimal", "data-live": ""})


@of_model(NarrativeSection, ["body", "points"],
          widgets={"body": forms.Textarea(attrs={"rows": 4, "class": "form-control", "data-live": ""})})
class NarrativeSectionForm(InstanceForm):
    points = PointsField(label="分条要点（打印时自动编号 1. 2. …）", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["body"].label = "正文（每段一行）"
        self.fields["body"].help_text = f"正文与分条要点合计不超过 {text.SECTION_LIMIT} 字。"

    def clean(self):
        cleaned = super().clean()
        length = len(cleaned.get("body") or "") + sum(len(p) for p in cleaned.get("points") or [])
        if length > text.SECTION_LIMIT:
            raise forms.ValidationError(
                f"“{self.instance.title}”的正文与分条要点合计最多 {text.SECTION_LIMIT} 字（现有 {length} 字），请精简。"
            )
        return cleaned


@of_model(Evaluation, ["budget_note"], widgets={"budget_note": forms.Textarea(attrs={"rows": 2, "class": "form-control"})})
class BudgetNoteForm(InstanceForm):
    pass


class InstanceFormSet(BaseFormSet):
    """A formset over objects already loaded (budget lines, sections): no queries to bind them."""

    def __init__(self, *args, objects=(), **kwargs):
        self.objects = list(objects)
        kwargs.setdefault("initial", [{} for _ in self.objects])
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {"instance": self.objects[index]}

    def total_form_count(self):
        return len(self.objects)


BudgetFormSet = formset_factory(BudgetLineForm, formset=InstanceFormSet, extra=0)
SectionFormSet = formset_factory(NarrativeSectionForm, formset=InstanceFormSet, extra=0)


class EvaluationContentForm:
    """Every editable part of one evaluation, validated together and saved as one change."""

    def __init__(self, evaluation, data=None):
        self.evaluation = evaluation
        categories = [c for c in evaluation.framework.indicators.all() if c.level == 2 and c.accepts_unit_rows]
        rows = sorted(evaluation.results.all(), key=lambda r: (r.category.order, r.order, r.pk))
        self.rows = RowFormSet(data, prefix="rows", rows=rows, evaluation=evaluation, categories=categories)
        self.budget = BudgetFormSet(data, prefix="budget", objects=evaluation.budget_lines.all())
        self.sections = SectionFormSet(data, prefix="sections", objects=evaluation.sections_in_order())
        self.note = BudgetNoteForm(data, instance=evaluation, prefix="note")
        self.categories = categories

    @property
    def parts(self):
        return [self.rows, self.budget, self.sections, self.note]

    # For the template: `form.rows.management_form` there would first try `form.rows["management_form"]`, which
    # builds every row's form (BaseFormSet.__getitem__) only to fail and fall back to the attribute. Their hidden
    # inputs only: the management forms' own template (div.html) writes nothing else for them (their errors are
    # the formsets' non-form errors, shown where those are), and rendering it cost more than the 12 inputs.
    def management_forms(self):
        return mark_safe("".join(
            str(field) for part in (self.rows, self.budget, self.sections) for field in part.management_form
        ))

    def open_details(self):
        """The rows whose detail the page shows (posted beside the content: EditPageForm)."""
        if not hasattr(self, "_open_details"):
            self._open_details = EditPageForm(self.note.data if self.is_bound else None).open_details()
        return self._open_details

    def rows_errors(self):
        """The rows' errors that belong to no row (e.g. a framework row posted for deletion)."""
        return self.rows.non_form_errors() if self.rows.is_bound else []

    @property
    def is_bound(self):
        return self.note.is_bound

    def is_valid(self):
        results = [part.is_valid() for part in self.parts]  # validate every part, so all errors show at once
        return all(results)

    def editable_fields(self):
        """(object, [field names]) for every field of the existing objects this page may change (worked out once:
        a save reads them for its proposals and again for the page's new token)."""
        if getattr(self, "_editable_fields", None) is None:
            self._editable_fields = self._find_editable_fields()
        return self._editable_fields

    def _find_editable_fields(self):
        pairs = []
        if not self.rows.is_bound:  # the page being opened: its rows' fields by their form classes, no forms built
            for row in self.rows.rows:
                form_class = row_form_class(row)
                names = [n for n, f in form_class.base_fields.items() if n in form_class.model_fields and not f.disabled]
                pairs.append((row, [*names, "order"], None))
        for formset in (self.rows, self.budget, self.sections):
            if formset is self.rows and not formset.is_bound:
                continue
            for form in formset.forms:
                if not form.instance.pk or (formset is self.rows and self.rows.can_delete and
                                             self.rows.is_bound and self.rows._should_delete_form(form)):
                    continue
                names = [n for n, f in form.fields.items() if n in form.model_fields and not f.disabled]
                if formset is self.rows:
                    names.append("order")
                pairs.append((form.instance, names, form))
        pairs.append((self.note.instance, list(self.note.fields), self.note))
        return pairs

    def token_fields(self):
        return [(obj, names) for obj, names, _form in self.editable_fields()]

    def proposals(self):
        """For editing.save_page: (object holding what was posted, {field: value stored when loaded})."""
        return [(obj, {name: form.initial.get(name) for name in names}) for obj, names, form in self.editable_fields()]

    def created_and_deleted(self):
        _edited, created, deleted = self.rows.changes()
        return {"created": created, "deleted": deleted}

    def refuse(self, message):
        """A refusal of the whole save (editing.TooLong), shown above the rows and in the checklist."""
        self.rows.non_form_errors().append(message)

    def document_length(self):
        """text.document_length of the 说明 as the page shows it (typed, once validated): no query. A page being
        opened counts its rows as loaded (no forms built for them)."""
        if not self.rows.is_bound:
            kept = self.rows.rows
        else:
            kept = [f.instance for f in self.rows.forms if not self.rows._should_delete_form(f)
                    and (f.instance.pk or f.has_changed())]
        return text.document_length(budget_note=self.note.instance.budget_note,
                                    sections=[(s.body, s.points) for s in self.sections.objects], rows=kept)

    def problems(self):
        """What the save would refuse in what is typed, as checklist problems at the place to fix (the rows'
        checks by rule are listed by checklist.problems, which asks the same scoring.row_errors)."""
        from evaluations.checklist import Problem

        found = []
        for row_form in self.rows.forms:
            if not row_form.errors:
                continue
            row = row_form.instance
            by_rule = set(scoring.row_errors(row).values())
            anchor = f"row-{row.pk}" if row.pk else f"row-{row_form.prefix}"
            for name, messages in row_form.errors.items():
                label = "" if name == NON_FIELD_ERRORS else f"{ROW_FIELD_LABELS.get(name, name)}："
                for message in messages:
                    if message not in by_rule:
                        found.append(Problem(f"指标“{row.name or '新增自设指标'}”{label}{message}", anchor))
        for budget_form in self.budget.forms:
            for name, messages in budget_form.errors.items():
                field = budget_form.fields.get(name)
                for message in messages:
                    label = f"{budget_form.instance.get_item_display()}{field.label if field else ''}"
                    found.append(Problem(f"预算执行情况“{label}”：{message}", "budget"))
        for section_form in self.sections.forms:
            for messages in section_form.errors.values():
                found.extend(Problem(f"说明“{section_form.instance.title}”：{m}", f"section-{section_form.instance.pk}")
                             for m in messages)
        for messages in self.note.errors.values():
            found.extend(Problem(f"预算执行情况说明：{m}", "budget") for m in messages)
        for message in self.rows.non_form_errors():
            found.append(Problem(message))
        return found

    def preview(self):
        """The evaluation as typed (valid parts applied in memory, nothing saved), for the live scorecard."""
        evaluation = self.evaluation
        kept = [f.instance for f in self.rows.forms if not self.rows._should_delete_form(f) and
                (f.instance.pk or (f.has_changed() and f.instance.category_id))]
        evaluation._prefetched_objects_cache["results"] = kept
        return evaluation


ROW_CLASS = {forms.Select: "form-select form-select-sm"}  # as _style: selects, else form-control


class RowView:
    """One row of the edit page as it shows it, worked out once in Python: its cells (inputs or text), its flags,
    its live score, errors and review comments, for templates that only print them (_edit_rows.html, the live
    answer). A saved row of a page being opened is drawn without a form, with the inputs of the form class that
    will check what it posts (the same fields, widgets and attributes: `row_form_class`, `row_input_attrs`); a
    posted row, or a new one, from its form (what was typed, its errors)."""

    def __init__(self, row, prefix, *, form=None, scored=None, comments=(), open_details=()):
        self.row, self.prefix, self.form, self.scored, self.comments = row, prefix, form, scored, comments
        self.open_details = open_details  # the prefixes of the rows whose detail the page shows (EditPageForm)
        self.fields = form.fields if form is not None else row_form_class(row).base_fields
        self.anchor = f"row-{row.pk or prefix}"
        self.name = row.name or "新增自设指标"
        self.open = not row.pk or (form is not None and form.defines)  # the detail inline, not loaded when opened
        self.computed = "score" not in self.fields  # 得分 decided by the rule: shown, not typed
        result = scored.result if scored is not None else None
        self.score_text = "—" if result is None or result.score is None else str(result.score)
        if form is not None and form.errors:
            self.errors = format_html_join("", "{} ", ((e,) for e in form.non_field_errors())) + format_html_join(
                "", "<span>{}：{}</span> ", ((form[n].label, e) for n in form.fields for e in form.errors.get(n, ())))
            self.explanation = "填写有误，未计分：见本行红字。"
        else:
            self.errors, self.explanation = "", result.explanation if result is not None else ""

    def _input(self, name):
        field, html_name = self.fields[name], f"{self.prefix}-{name}"
        if self.form is None:  # the class's widget, with what the form's __init__ and _style add to its copy
            widget = field.widget
            attrs = {**row_input_attrs(self.row, name), "class": ROW_CLASS.get(type(widget), "form-control form-control-sm")}
            if isinstance(widget, forms.HiddenInput):
                attrs = {}
            value = field.prepare_value(self.row.pk if name == "row_id" else getattr(self.row, name, None))
            return widget.render(html_name, value, attrs=attrs)
        bound = self.form[name]
        return bound.field.widget.render(html_name, bound.value(), attrs={"aria-invalid": "true"} if bound.errors else None)

    def hidden(self):
        return mark_safe("".join(self._input(n) for n in ("row_id", "order", "category_id") if n in self.fields))

    def html(self):
        """The row's own <tr> (its detail and comments follow it in _edit_rows.html): written here, once per row,
        rather than by the template engine's two dozen lookups per row (some 40 rows a page). Every value is
        escaped as the template escaped it ({{ }}: safe strings as they are, others HTML-escaped)."""
        row, e = self.row, escape
        unit_row = " unit-row" if row.is_unit_row else ""
        badges = ' <span class="badge text-bg-light">单位自设</span>' if row.is_unit_row and row.pk else ""
        if row.copied_from_previous_year:
            badges += ' <span class="badge text-bg-warning" title="由上年自评沿用，请核实">沿用上年</span>'
        prefix = e(self.prefix)
        return mark_safe(
            f'<tr class="row-form{unit_row}" id="{e(self.anchor)}" data-row data-prefix="{prefix}">'
            f'<th scope="row" class="col-name fw-normal">{self.hidden()}<span class="row-name">{e(self.name)}</span>'
            f'{badges}<div class="text-danger small row-errors" id="errors-{prefix}">{e(self.errors)}</div></th>\n'
            f'<td class="col-target">{e(self.target())}</td><td class="col-actual">{e(self.actual())}</td>'
            f'<td class="col-band">{e(self.band())}</td><td class="col-weight text-end">{e(self.weight())}</td>'
            f'<td class="col-score">{e(self.score())}</td><td class="col-reason">{e(self.reason())}</td>\n'
            f'<td class="col-more"><button type="button" class="btn btn-sm btn-outline-secondary" data-detail '
            f'aria-controls="detail-{prefix}" aria-expanded="{"true" if self.open else "false"}" '
            f'aria-label="{e(row.name)}的详情">详情</button></td></tr>'
        )

    def live_html(self):
        """What the live preview brings up to date in the row (_edit_live.html, out-of-band swaps): its score when
        the rule decides it, its 得分说明 when its detail is shown, its errors."""
        prefix, e = escape(self.prefix), escape
        score = (f'<output class="live-score" id="score-{prefix}" hx-swap-oob="true">{e(self.score_text)}</output>'
                 if self.computed else "")
        explanation = (f'<dd id="explain-{prefix}" hx-swap-oob="true">{e(self.explanation)}</dd>'
                       if self.open or self.prefix in self.open_details else "")
        return mark_safe(f'{score}\n{explanation}\n<div class="text-danger small row-errors" id="errors-{prefix}" '
                         f'hx-swap-oob="true">{e(self.errors)}</div>\n')

    def target(self):
        row = self.row
        if not row.pk:
            return mark_safe('<span class="small text-muted">在下方填写</span>')
        unit = f" {row.unit_of_measure}" if row.unit_of_measure and row.target_value is not None else ""
        return f"{row.target_display}{unit}"

    def actual(self):
        for name in ("actual_value", "actual_text"):
            if name in self.fields:
                return self._input(name)
        return mark_safe('<span class="small">取自预算表</span>') if self.row.actual_source else ""

    def band(self):
        return self._input("band") if "band" in self.fields else mark_safe('<span class="text-muted" aria-hidden="true">—</span>')

    def score(self):
        if not self.computed:
            return self._input("score")
        return format_html('<output class="live-score" id="score-{}">{}</output>', self.prefix, self.score_text)

    def reason(self):
        return self._input("deviation_reason")

    def weight(self):
        return scoring.plain(self.row.weight)


def row_views(form, scorecard):
    """The rows of the edit form as RowViews, in the form's order, with their live scores and review comments."""
    scored_by_row = {id(s.row): s for s in scorecard.rows}
    comments = comments_by_target(form.evaluation)

    open_details = form.open_details()

    def view(row, prefix, row_form=None):
        return RowView(row, prefix, form=row_form, scored=scored_by_row.get(id(row)),
                       comments=comments.get(("result", row.pk), []) if row.pk else [], open_details=open_details)

    if not form.rows.is_bound:
        return [view(row, f"rows-{index}") for index, row in enumerate(form.rows.rows)]
    return [view(f.instance, f.prefix, f) for f in form.rows.forms]


def table_of(form, scorecard):
    """The rows (RowViews) arranged under the framework's tree: for the edit page and its live answer."""
    by_category = {}
    for row in row_views(form, scorecard):
        by_category.setdefault(row.row.category_id, []).append(row)
    return [
        (dimension, [(category, by_category.get(category.indicator.pk, [])) for category in dimension.categories])
        for dimension in scorecard.dimensions
    ]


def new_row_view(form):
    """The row the page copies for “增加自设指标” (its <template>)."""
    empty = form.rows.empty_form
    return RowView(empty.instance, empty.prefix, form=empty)


def comments_by_target(evaluation):
    """The evaluation's review comments (already loaded) by what they are pinned to: ("result", pk),
    ("section", pk) or ("whole", None)."""
    grouped = {}
    for comment in evaluation.comments.all():
        key = ("result", comment.result_id) if comment.result_id else (
            ("section", comment.section_id) if comment.section_id else ("whole", None))
        grouped.setdefault(key, []).append(comment)
    return grouped


class CommentForm(forms.Form):
    """审核意见, pinned to a row or a section of the 说明 (or to the whole evaluation): the page posts it from
    the row or section it is about."""

    result = forms.ModelChoiceField(required=False, queryset=IndicatorResult.objects.none(), widget=forms.HiddenInput)
    section = forms.ModelChoiceField(required=False, queryset=NarrativeSection.objects.none(), widget=forms.HiddenInput)
    text = text.TextField(label="意见", required=False, widget=forms.Textarea(attrs={"rows": 2}),
                          max_length=text.COMMENT_LIMIT)  # workflow.add_comment says "请填写审核意见"

    def __init__(self, *args, evaluation, **kwargs):
        super().__init__(*args, **kwargs)
        # A posted id is looked up among this evaluation's own rows and sections, and only when one is posted.
        self.fields["result"].queryset = IndicatorResult.objects.filter(evaluation=evaluation)
        self.fields["section"].queryset = NarrativeSection.objects.select_related("indicator").filter(evaluation=evaluation)

    def place(self):
        """Where the page's form was posted from ("result-12", "section-3", "whole-0"): a refusal is shown there."""
        for name in ("result", "section"):
            posted = self[name].value()
            if isinstance(posted, str) and posted.isdigit() and len(posted) <= 12:
                return f"{name}-{posted}"
        return "whole-0"


class EvidenceForm(forms.Form):
    """Rendered by _evidence.html with the site's Bootstrap markup (not crispy: it cost the 自评表 about 2 ms). The
    file is checked by evaluations.evidence (type by content, size); the row is chosen among the evaluation's own
    rows, already loaded (a posted id of another evaluation's row is refused), as ProjectEvidenceForm's: not a
    ModelChoiceField, whose queryset every page with the form built and copied for nothing (issue 14)."""

    file = forms.FileField(label="上传文件", widget=forms.FileInput(attrs={"class": "form-control"}))
    result = forms.ChoiceField(label="对应指标（可选）", required=False, widget=forms.Select(attrs={"class": "form-select"}))

    def __init__(self, *args, evaluation, rows, types="", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = f"{types}，不超过 {settings.EVIDENCE_MAX_SIZE // 1024 // 1024} MB。"
        self.fields["file"].widget.attrs["accept"] = ".pdf,.docx,.xlsx,.jpg,.jpeg,.png"
        self.rows_by_pk = {str(row.pk): row for row in rows}
        self.fields["result"].choices = [("", "（整个自评）")] + [(pk, row.name) for pk, row in self.rows_by_pk.items()]
        self.fields["result"].error_messages["invalid_choice"] = "所选指标不属于这份自评，请刷新页面后重新选择。"
        self.action = reverse("evaluations:evidence_upload", args=[evaluation.pk])

    def clean_result(self):
        return self.rows_by_pk.get(self.cleaned_data["result"])


# --- The small forms of the workflow: every POST goes through a form, with the same text boundary -------------


class AnswerForm(forms.Form):
    answer = text.TextField(label="答复", required=False, max_length=text.COMMENT_LIMIT)  # workflow says "请填写"


class ReasonForm(forms.Form):
    """A workflow step (submit, return, approve, reopen) or a withdrawal from publication."""

    reason = text.TextField(label="原因或意见", required=False, max_length=text.REASON_LIMIT)
    version = forms.IntegerField(required=False, min_value=0, max_value=2**31 - 1)


class StartForm(forms.Form):
    unit = forms.IntegerField(min_value=1, max_value=2**63 - 1)
    year = forms.IntegerField(min_value=2000, max_value=2100)
    from_previous = forms.BooleanField(required=False)


def error_text(form):
    """A refused form as one sentence for a message: each field's label and what to fix."""
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        parts.extend(f"{label}：{e}" if label else e for e in errors)
    return " ".join(parts)


class RecheckDrawForm(forms.Form):
    """A unit drawn into the year's 复核 sample: picked from the suggestions (its evaluation) or typed (code or
    full name). The view finds it among the reviewer's units; a value that is no number is treated as absent."""

    year = forms.IntegerField(required=False, min_value=2000, max_value=2999)
    evaluation = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    unit = text.TextField(required=False, max_length=200)

    def value(self, name):
        """The cleaned value, or None where the posted one was not valid (the view then says what is missing)."""
        return self.cleaned_data.get(name) if name not in self.errors else None


# --- What the edit page posts beside its content --------------------------------------------------------------

ROW_PREFIX = re.compile(r"rows-\d{1,4}")


class RowPrefixesField(forms.Field):
    """The prefixes ("rows-3") the page posts, one per open row detail; anything else is not the page's and is
    left out."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        return {v for v in value or () if isinstance(v, str) and ROW_PREFIX.fullmatch(v)}


class EditPageForm(forms.Form):
    """The token the page was opened with (editing.page_token), the rows whose detail is open (their 得分说明 is
    kept up to date) and what the user picked in the conflict box. Nothing here is typed, so nothing is refused:
    a value that is not the page's own is ignored (a token not ours is a stale page, see editing.read_token)."""

    base = forms.CharField(required=False, strip=False)
    open_detail = RowPrefixesField(required=False)

    def _cleaned(self):
        self.is_valid()
        return getattr(self, "cleaned_data", {})

    def token(self):
        return self._cleaned().get("base", "") if self.is_bound else ""

    def open_details(self):
        return self._cleaned().get("open_detail", set()) if self.is_bound else set()

    def conflict_choices(self):
        """{field key: "mine" | "theirs"} for each field both people changed that the user has decided."""
        if not self.is_bound:
            return {}
        # Of the page's many inputs (every row's), only the choices' values are read.
        choices = ((key, self.data[key]) for key in self.data if key.startswith("resolve-"))
        return {key.removeprefix("resolve-"): value for key, value in choices if value in ("mine", "theirs")}


# --- The finance bureau's desk (desk_views): 复核, 整改, the 汇总分析报告's own text ----------------------------
# Every message is a whole sentence naming its field (DeskForm.message joins them); the texts are bounded as
# rechecks.py bounds them, and refused in the same words, before anything is written.

STALE_PAGE = "页面已过期，请刷新页面后再操作。"


def desk_text(label, limit=text.COMMENT_LIMIT, *, final="提交"):
    field = text.TextField(label=label, required=False, max_length=limit)
    field.error_messages["max_length"] = f"{label}不能超过 {limit} 字（现有 %(show_value)d 字），请精简后再{final}。"
    return field


def desk_date(label, example):
    return forms.DateField(label=label, required=False, error_messages={
        "invalid": f"{label}格式不正确，请按“{example}”的格式填写。",
    })


def desk_version():
    """The version of the 复核 the page shows (a stale one is refused by rechecks._bump)."""
    return forms.IntegerField(required=False, min_value=0, max_value=2**31 - 1, error_messages=dict.fromkeys(
        ("invalid", "min_value", "max_value"), STALE_PAGE))


class DeskForm(forms.Form):
    def message(self):
        """What is wrong, as the sentences the fields say, for one message."""
        return " ".join(m for errors in self.errors.values() for m in errors)


class RecheckScoreForm(DeskForm):
    """The bureau's score for one row of a 复核: the row among this evaluation's own, a standard reason among
    those still in use."""

    result = forms.ModelChoiceField(queryset=IndicatorResult.objects.none(), error_messages={
        "required": "请选择要复核评分的指标。", "invalid_choice": "该指标不属于本次复核的自评，请刷新页面后重新评分。",
    })
    reason = forms.ModelChoiceField(queryset=DeductionReason.objects.filter(is_active=True), required=False,
                                    error_messages={"invalid_choice": "所选的标准扣分原因已停用，请重新选择。"})
    score = text.TextField(label="复核得分", required=False, max_length=20)  # rechecks.rescore says "应为数字"
    note = desk_text("复核说明")
    version = desk_version()

    def __init__(self, *args, recheck, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["result"].queryset = IndicatorResult.objects.filter(evaluation_id=recheck.evaluation_id)
        self.fields["score"].error_messages["max_length"] = "复核得分应为数字，如 14 或 13.5。"


class RecheckActionForm(DeskForm):
    """A step of a 复核: confirming posts the opinion and the answer deadline, the others a text (the 申辩,
    the reason for a re-check, the closing note)."""

    REASON_LABELS = {"answer": "申辩内容", "revise": "重新复核的原因", "close": "办结意见"}

    opinion = desk_text("复核意见")
    answer_deadline = desk_date("申辩截止日期", "2025-05-31")
    reason = desk_text("说明")
    version = desk_version()

    def __init__(self, *args, action, **kwargs):
        super().__init__(*args, **kwargs)
        kept = ("opinion", "answer_deadline") if action == "confirm" else ("reason",)
        for name in [n for n in self.fields if n not in (*kept, "version")]:
            del self.fields[name]
        if action in self.REASON_LABELS:
            self.fields["reason"] = desk_text(self.REASON_LABELS[action])

    def value(self, name):
        return self.cleaned_data.get(name, "" if name in ("opinion", "reason") else None)


class RectificationForm(DeskForm):
    problem = desk_text("存在问题")  # rechecks.add_rectification says "请填写"
    requirement = desk_text("整改要求")
    deadline = desk_date("整改期限", "2025-06-30")


class RectificationAnswerForm(DeskForm):
    answer = desk_text("整改情况")
    # The file is checked by evaluations.evidence (rechecks.answer_rectification): its size, kind and content.
    evidence = forms.FileField(required=False, allow_empty_file=True, error_messages=dict.fromkeys(
        ("invalid", "missing", "empty", "contradiction"), "整改佐证文件未能上传，请重新选择文件。"))


class RectificationReviewForm(DeskForm):
    decision = forms.ChoiceField(choices=[("close", "销号"), ("reopen", "退回整改")], error_messages=dict.fromkeys(
        ("required", "invalid_choice"), "请选择销号或退回整改。"))
    reason = desk_text("说明")


class SummaryNarrativeForm(DeskForm):
    """A part of the 汇总分析报告 the bureau writes, for a year with a framework."""

    year = forms.IntegerField(min_value=2000, max_value=2999)
    part = forms.ChoiceField(choices=ReportPart.choices, error_messages=dict.fromkeys(
        ("required", "invalid_choice"), "请选择要保存的报告部分（总体评价、存在的主要问题或下一步工作）。"))
    body = desk_text("正文", 5000, final="保存")

    def clean_year(self):
        from evaluations.models import Framework

        year = self.cleaned_data["year"]
        if not Framework.objects.filter(year=year).exists():
            raise forms.ValidationError("没有该年度。")
        return year


# --- Importing a filled workbook: the file (previewed), then the previewed file's token (confirmed) -------------


class ImportForm(forms.Form):
    """The file is checked by evaluations.spreadsheets.uploads (size, kind, zip bomb, formulas); the token names
    a previewed upload kept in this user's session."""

    file = forms.FileField(required=False, allow_empty_file=True, error_messages=dict.fromkeys(
        ("invalid", "missing", "empty", "contradiction"), "请选择要导入的文件。"))
    token = forms.CharField(required=False, max_length=64)
    year = forms.IntegerField(required=False, min_value=1, max_value=9999, error_messages=dict.fromkeys(
        ("invalid", "min_value", "max_value"), "请选择要导入到的年度，或选“与文件相同”。"))

    @property
    def confirming(self):
        """The preview's 确认导入 was pressed (the page posts the token it was given)."""
        return bool(self["token"].value())

    def known_token(self, known):
        """The posted token when it names an upload previewed in this session, else None (the import expired)."""
        self.is_valid()
        token = self.cleaned_data.get("token") if "token" not in self.errors else None
        return token if token and token.isalnum() and token in known else None

    def problems(self, *names):
        """What is wrong with the named fields (an import reads only those it needs)."""
        self.is_valid()
        return [m for name in names for m in self.errors.get(name, [])]
