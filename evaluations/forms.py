"""Forms: the shape of what is typed. Meaning (score ranges, bands) is checked by the models' clean(),
which asks evaluations.scoring; saving goes through evaluations.editing."""

import re

from django import forms

from evaluations.models import BudgetLine, Evaluation, IndicatorResult, NarrativeSection

FRAMEWORK_ROW_FIELDS = ["actual_value", "actual_text", "band", "score", "deviation_reason"]
UNIT_ROW_FIELDS = [
    "name", "comparison", "target_value", "target_text", "unit_of_measure", "weight", "rule", "deduction_per_point",
    *FRAMEWORK_ROW_FIELDS,
]


class PointsField(forms.CharField):
    """Numbered points typed one per line; stored as a list and numbered when printed."""

    widget = forms.Textarea(attrs={"rows": 6})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        text = super().to_python(value)
        # People paste "1. …" from Word: the numbers are printed for them, so drop typed ones.
        return [re.sub(r"^\s*\d+\s*[.．、]\s*", "", line).strip() for line in text.splitlines() if line.strip()]

    def has_changed(self, initial, data):
        return (initial or []) != self.to_python(data)


class IndicatorResultForm(forms.ModelForm):
    class Meta:
        model = IndicatorResult
        fields = UNIT_ROW_FIELDS
        widgets = {
            "deviation_reason": forms.Textarea(attrs={"rows": 2}),
            "actual_text": forms.TextInput(),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.instance.is_unit_row:
            for name in set(UNIT_ROW_FIELDS) - set(FRAMEWORK_ROW_FIELDS):
                self.fields[name].disabled = True
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-control form-control-sm")
        for name in ("band", "comparison", "rule"):
            self.fields[name].widget.attrs["class"] = "form-select form-select-sm"


class BudgetLineForm(forms.ModelForm):
    class Meta:
        model = BudgetLine
        fields = ["initial_budget", "adjusted_budget", "executed"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-control form-control-sm text-end"


class NarrativeSectionForm(forms.ModelForm):
    points = PointsField(label="分条要点（每行一条，打印时自动编号）", required=False)

    class Meta:
        model = NarrativeSection
        fields = ["body", "points"]
        widgets = {"body": forms.Textarea(attrs={"rows": 4, "class": "form-control"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["body"].label = "正文（每段一行）"
        self.fields["points"].widget.attrs["class"] = "form-control"


class BudgetNoteForm(forms.ModelForm):
    class Meta:
        model = Evaluation
        fields = ["budget_note"]
        widgets = {"budget_note": forms.Textarea(attrs={"rows": 2, "class": "form-control"})}


RowFormSet = forms.modelformset_factory(IndicatorResult, form=IndicatorResultForm, extra=0)
BudgetFormSet = forms.modelformset_factory(BudgetLine, form=BudgetLineForm, extra=0)
SectionFormSet = forms.modelformset_factory(NarrativeSection, form=NarrativeSectionForm, extra=0)


class EvaluationContentForm:
    """Every editable part of one evaluation, validated together and saved as one change."""

    def __init__(self, evaluation, data=None):
        self.evaluation = evaluation
        rows = sorted(evaluation.results.all(), key=lambda r: (r.category.order if r.category_id else 0, r.order, r.pk))
        self.rows = RowFormSet(data, queryset=IndicatorResult.objects.none(), prefix="rows")
        self.rows._queryset = rows  # already loaded with the page: no further queries
        self.budget = BudgetFormSet(data, queryset=BudgetLine.objects.none(), prefix="budget")
        self.budget._queryset = list(evaluation.budget_lines.all())
        self.sections = SectionFormSet(data, queryset=NarrativeSection.objects.none(), prefix="sections")
        self.sections._queryset = evaluation.sections_in_order()
        self.note = BudgetNoteForm(data, instance=evaluation, prefix="note")

    @property
    def parts(self):
        return [self.rows, self.budget, self.sections, self.note]

    def is_valid(self):
        results = [part.is_valid() for part in self.parts]  # validate every part, so all errors show at once
        return all(results)

    def edits(self):
        """(object, {changed field: old value}) for every object the user changed."""
        found = []
        for formset in (self.rows, self.budget, self.sections):
            for form in formset.forms:
                found.append((form.instance, {name: form.initial.get(name) for name in form.changed_data}))
        found.append((self.note.instance, {name: self.note.initial.get(name) for name in self.note.changed_data}))
        return [(obj, old) for obj, old in found if old]
