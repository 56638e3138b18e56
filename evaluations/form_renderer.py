"""The form renderer (settings.FORM_RENDERER).

The edit page of a 40-row evaluation shows some 650 inputs. Django renders every widget through a template (two,
with the attributes' include), which cost about 0.6 ms each: most of the page's time. Django's own input, select
and textarea templates are a few lines each; this renderer writes exactly what they write, in Python, and leaves
every other template (the admin's widgets, the numbered-points widget, forms and formsets) to the template engine.
tests/test_form_renderer.py renders every widget of the pages both ways and finds the same HTML.
"""

import html

from django.forms.renderers import DjangoTemplates

WIDGETS = "django/forms/widgets/"
INPUTS = {
    f"{WIDGETS}{name}.html"
    for name in ("input", "text", "number", "hidden", "email", "url", "password", "checkbox", "date", "datetime",
                 "time", "search", "tel", "color", "file")
}
SELECT, OPTION, TEXTAREA = f"{WIDGETS}select.html", f"{WIDGETS}select_option.html", f"{WIDGETS}textarea.html"


def escape(value):
    """{{ value }}: django.utils.html.conditional_escape without its lazy-string wrapper (some 20,000 calls a page).
    Values the templates pass through |stringformat:'s' are always escaped: html.escape(str(value))."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


def _attrs(attrs):
    """django/forms/widgets/attrs.html"""
    return "".join(
        f" {escape(name)}" if value is True else f' {escape(name)}="{html.escape(str(value))}"'
        for name, value in attrs.items() if value is not False
    )


def _input(widget):
    value = "" if widget["value"] is None else f' value="{html.escape(str(widget["value"]))}"'
    return f'<input type="{escape(widget["type"])}" name="{escape(widget["name"])}"{value}{_attrs(widget["attrs"])}>'


def _option(option):
    return (f'<option value="{html.escape(str(option["value"]))}"{_attrs(option["attrs"])}>'
            f'{escape(option["label"])}</option>')


def _select(widget):
    parts = [f'<select name="{escape(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{escape(group_name)}">')
        parts.extend(f"\n  {_option(option)}\n" for option in options)  # select_option.html ends in a newline
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


def _textarea(widget):
    value = escape(widget["value"]) if widget["value"] else ""
    return f'<textarea name="{escape(widget["name"])}"{_attrs(widget["attrs"])}>\n{value}</textarea>'


class FastWidgetRenderer(DjangoTemplates):
    def render(self, template_name, context, request=None):
        widget = context.get("widget")
        if widget is not None and widget.get("template_name") == template_name:
            if template_name in INPUTS:
                return _input(widget)
            if template_name == TEXTAREA:
                return _textarea(widget)
            if template_name == SELECT and all(
                option["template_name"] == OPTION for _name, options, _index in widget["optgroups"] for option in options
            ):
                return _select(widget)
        return super().render(template_name, context, request)
