from django import template

from evaluations import scoring
from evaluations.forms import table_of

register = template.Library()


@register.filter
def plain(value):
    """A weight or target as people write it: 10, 7.5, 535."""
    return scoring.plain(value)


@register.filter
def money(value):
    return scoring.money(value)


@register.filter
def percent(value):
    return "—" if value is None else f"{value}%"


@register.simple_tag
def edit_table(form, scorecard):
    return table_of(form, scorecard)


@register.filter
def at(mapping, key):
    """mapping[key], or nothing: `evidence_by_row|at:row.pk`."""
    return mapping.get(key, ()) if mapping else ()


@register.filter
def split(text):
    return text.split()


@register.filter
def field(form, name):
    """The form's bound field `name`, or None where this form has no such field (rows differ in their fields)."""
    return form[name] if name in form.fields else None


@register.filter
def at_section(comments, pk):
    """The comments pinned to section `pk`, from forms.comments_by_target."""
    return comments.get(("section", pk), ()) if comments else ()


@register.filter
def at_result(comments, pk):
    return comments.get(("result", pk), ()) if comments else ()


@register.filter
def at_key(comments, pk):
    return at_section(comments, pk)


@register.filter
def at_whole(comments):
    return comments.get(("whole", None), ()) if comments else ()


@register.filter
def section_pk(anchor):
    """"section-12" → 12 (a 说明 block's anchor names its section), else None."""
    kind, _, pk = (anchor or "").partition("-")
    return int(pk) if kind == "section" and pk.isdigit() else None
