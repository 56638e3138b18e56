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
