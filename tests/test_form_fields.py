"""config/form_fields.py: each form's copy of its fields is its own, as with Django's deep copy, and forms render
the same with the cheaper copies."""

import copy

import pytest
from django import forms

from config.form_fields import LightlyCopiedFields, copy_field, light_copies
from evaluations.forms import BudgetLineForm, IndicatorResultForm, NarrativeSectionForm
from evaluations.models import Evaluation, IndicatorResult


@light_copies
class SampleForm(forms.Form):
    name = forms.CharField(widget=forms.TextInput(attrs={"class": "form-control"}))
    kind = forms.ChoiceField(choices=[("a", "甲"), ("b", "乙")])
    when = forms.SplitDateTimeField(required=False)  # a MultiWidget: copied as Django copies it


def test_a_forms_changes_to_its_fields_stay_its_own():
    first, second = SampleForm(), SampleForm()
    validators = list(SampleForm.base_fields["name"].validators)
    first.fields["name"].widget.attrs["aria-label"] = "第一"
    first.fields["name"].disabled = True
    first.fields["name"].error_messages["required"] = "改过"
    first.fields["name"].validators.append(lambda value: None)
    first.fields["kind"].choices = [("c", "丙")]
    first.fields["when"].widget.widgets[0].attrs["placeholder"] = "日期"

    for fields in (second.fields, SampleForm.base_fields):
        assert fields["name"].widget.attrs == {"class": "form-control"}
        assert not fields["name"].disabled
        assert fields["name"].error_messages["required"] != "改过"
        assert fields["name"].validators == validators
        assert list(fields["kind"].choices) == [("a", "甲"), ("b", "乙")]
        assert list(fields["kind"].widget.choices) == [("a", "甲"), ("b", "乙")]
        assert "placeholder" not in fields["when"].widget.widgets[0].attrs
    assert first.fields["name"].widget is not second.fields["name"].widget


def test_fields_that_copy_themselves_differently_are_deep_copied():
    field = SampleForm.base_fields["when"]
    copied = copy_field(field)
    assert copied.widget.widgets[0] is not field.widget.widgets[0]
    assert copied.fields[0] is not field.fields[0]


@pytest.mark.django_db
@pytest.mark.parametrize("form_class", [IndicatorResultForm, BudgetLineForm, NarrativeSectionForm])
def test_the_row_forms_render_as_with_djangos_copies(form_class, demo, monkeypatch):
    evaluation = Evaluation.objects.with_document_data().get(pk=demo.pk)
    instances = {
        IndicatorResultForm: [*evaluation.results.all(), IndicatorResult(evaluation=evaluation, rule="proportional")],
        BudgetLineForm: list(evaluation.budget_lines.all()),
        NarrativeSectionForm: list(evaluation.sections.all()),
    }[form_class]
    assert isinstance(form_class.base_fields, LightlyCopiedFields)

    def render_all():
        return [str(form_class(instance=instance, prefix=f"p{i}")) for i, instance in enumerate(instances)]

    def state():
        return {name: (dict(f.widget.attrs), f.disabled, list(f.validators)) for name, f in form_class.base_fields.items()}

    class_fields = state()
    light = render_all()
    assert state() == class_fields  # what each form set on its copies (aria-label, disabled...) stayed on its copies
    monkeypatch.setattr(form_class, "base_fields", dict(form_class.base_fields))
    if form_class is IndicatorResultForm:
        monkeypatch.setattr(form_class, "_framework_row_fields", dict(form_class.framework_row_fields()))
    assert not isinstance(copy.deepcopy(form_class.base_fields), LightlyCopiedFields)
    assert render_all() == light
