"""evaluations.form_renderer writes Django's input/select/textarea widgets in Python: the HTML must be exactly what
Django's templates write, for every widget of the pages, with hostile values and errors too."""

import pytest
from django import forms
from django.contrib import admin
from django.forms.renderers import DjangoTemplates
from django.test import RequestFactory
from django.utils.safestring import mark_safe

from evaluations.form_renderer import FastWidgetRenderer
from evaluations.forms import AnswerForm, CommentForm, EvaluationContentForm, EvidenceForm
from evaluations.models import Evaluation, Framework, Unit
from tests.factories import make_evaluation, make_user

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script> & \'quoted\' “中文” 1e999'


def widgets(form_list, renderer):
    html = []
    for form in form_list:
        form.renderer = renderer
        html.extend(str(bound_field) for bound_field in form)
    return html


def assert_same_html(make_forms):
    fast, django = widgets(make_forms(), FastWidgetRenderer()), widgets(make_forms(), DjangoTemplates())
    assert len(fast) == len(django) > 0
    for ours, theirs in zip(fast, django, strict=True):
        assert ours == theirs


def content_forms(evaluation, data=None):
    # A fresh copy each time: validating applies the values typed to the row objects.
    form = EvaluationContentForm(Evaluation.objects.with_document_data().get(pk=evaluation.pk), data)
    if data is not None:
        form.is_valid()
    return [*form.rows.forms, form.rows.empty_form, *form.budget.forms, *form.sections.forms, form.note]


class TemplatesForbidden(FastWidgetRenderer):
    def get_template(self, template_name):
        raise AssertionError(f"rendered through a template: {template_name}")


def test_the_edit_page_widgets_are_rendered_as_django_renders_them():
    evaluation = make_evaluation(extra_rows=12)
    assert_same_html(lambda: content_forms(evaluation))
    # ...and written without a template, but for the numbered points (a widget of our own)
    form = EvaluationContentForm(evaluation)
    assert widgets([*form.rows.forms, *form.budget.forms, form.note], TemplatesForbidden())


def test_hostile_values_and_errors_are_escaped_as_django_escapes_them():
    evaluation = make_evaluation(extra_rows=3)
    data = {}
    for form in content_forms(evaluation):
        for name in form.fields:
            data[form.add_prefix(name)] = HOSTILE
    data |= {"rows-TOTAL_FORMS": "3", "rows-INITIAL_FORMS": "3", "budget-TOTAL_FORMS": "0",
             "budget-INITIAL_FORMS": "0", "sections-TOTAL_FORMS": "0", "sections-INITIAL_FORMS": "0"}
    assert_same_html(lambda: content_forms(evaluation, data))


def test_side_forms_admin_forms_and_unusual_widgets():
    evaluation = make_evaluation(extra_rows=2)
    scorecard = evaluation.scorecard()

    class Unusual(forms.Form):
        grouped = forms.ChoiceField(choices=[("甲组", [("1", "<一>"), ("2", "二")]), ("3", 3)], initial="2")
        many = forms.MultipleChoiceField(choices=[("a", "A & B"), ("b", "B")], initial=["a", "b"])
        tick = forms.BooleanField(initial=True)
        safe = forms.CharField(initial=mark_safe("<b>safe</b>"), widget=forms.Textarea(attrs={"data-x": None}))
        hidden = forms.CharField(widget=forms.HiddenInput, initial='"quoted"')
        number = forms.DecimalField(initial="12.50", widget=forms.NumberInput(attrs={"required": False, "step": 0.01}))
        radio = forms.ChoiceField(choices=[("x", "X")], widget=forms.RadioSelect)
        date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    request = RequestFactory().get("/")
    request.user = make_user()
    admin_forms = []
    for model in (Framework, Unit):
        model_admin = admin.site._registry[model]
        admin_forms.append(lambda m=model_admin: m.get_form(request, None)())

    assert_same_html(lambda: [
        CommentForm(evaluation=evaluation), AnswerForm(),
        EvidenceForm(evaluation=evaluation, rows=[s.row for s in scorecard.rows], types="PDF"),
        EvidenceForm({"result": "<x>"}, evaluation=evaluation, rows=[], types="PDF"),
        Unusual(),
        Unusual({"grouped": "<x>", "many": ["<y>"], "safe": HOSTILE, "number": HOSTILE}),
        *(make() for make in admin_forms),
    ])
