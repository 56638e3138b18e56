"""Cheaper per-form copies of a form class's fields, for forms built by the dozen (the edit page's rows).

Django deep-copies every field of a form class for every form instance, so that one form may change its own fields
(disabled, widget attributes) without touching the class's. For the edit page's 40 rows that is some 600 field
copies per request, about 8 ms, most of it in the copy module's generic machinery and in normalising the same
select choices again for every copy (Select.__deepcopy__ sets them through the property).

`light_copies(FormClass)` makes each form's copy do what Django's __deepcopy__ methods do, with plain attribute
copies: a new field and a new widget, their own `attrs`, `error_messages` and `validators`; the choices are shared
(Django never changes them in place, it assigns new ones). A field or widget whose class copies itself differently
(a MultiWidget, a field with its own __deepcopy__) is deep-copied as Django would. tests/test_form_fields.py
checks that the copies are independent where Django's are.
"""

import copy

from django import forms
from django.forms.widgets import ChoiceWidget

_FIELD_COPIES = {forms.Field.__deepcopy__, forms.ChoiceField.__deepcopy__}
_WIDGET_COPIES = {forms.Widget.__deepcopy__, ChoiceWidget.__deepcopy__}


def _clone(obj):
    clone = object.__new__(type(obj))
    clone.__dict__.update(obj.__dict__)
    return clone


def copy_field(field):
    if type(field).__deepcopy__ not in _FIELD_COPIES or type(field.widget).__deepcopy__ not in _WIDGET_COPIES:
        return copy.deepcopy(field)
    result = _clone(field)
    result.widget = _clone(field.widget)
    result.widget.attrs = field.widget.attrs.copy()
    result.error_messages = field.error_messages.copy()
    result.validators = field.validators[:]
    return result


class LightlyCopiedFields(dict):
    """A form class's base_fields; BaseForm.__init__ deep-copies them into the form's own `fields`."""

    def __deepcopy__(self, memo):
        return {name: copy_field(field) for name, field in self.items()}


def light_copies(form_class):
    """Class decorator: the form's fields are copied per form as described above."""
    form_class.base_fields = LightlyCopiedFields(form_class.base_fields)
    return form_class
