from django import template
from django.utils.formats import localize
from django.utils.safestring import mark_safe
from django.utils.timezone import template_localtime

from evaluations import scoring
from evaluations.form_renderer import escape
from evaluations.forms import table_of
from evaluations.models import EvaluationStatus

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


# How each page sets the 说明's blocks: (tag, class) of the title, headings and subheadings, the class of paragraphs,
# the prefix of the headings' ids (None: no ids), and whether a point keeps its number apart (the printed page).
DOCUMENT_STYLES = {
    "print": {"title": ("h1", "doc-title"), "heading": ("h2", ""), "subheading": ("h3", ""), "paragraph": "",
              "ids": "", "points": True},
    "public": {"title": ("h1", "h4 text-center mb-4"), "heading": ("h2", "h5 mt-3"), "subheading": ("h3", "h6 mt-2"),
               "paragraph": "indent-2", "ids": None, "points": False},
    "review": {"title": ("h2", "h5 text-center"), "heading": ("h3", "h6 mt-2"), "subheading": ("h3", "h6 mt-2"),
               "paragraph": "small", "ids": "doc-", "points": False},
    "preview": {"title": ("h3", "h6 text-center"), "heading": ("h4", "h6 mt-2"), "subheading": ("h4", "h6 mt-2"),
                "paragraph": "small mb-1", "ids": None, "points": False},
}


@register.inclusion_tag("evaluations/_document_blocks.html")
def document_blocks(document, style):
    """The 说明's blocks (documents.outline.Block) for one page's style, drawn by one fragment."""
    s = DOCUMENT_STYLES[style]
    blocks = []
    for block in document.blocks:
        if block.kind in ("title", "heading", "subheading"):
            tag, css = s[block.kind]
            ids = None if block.kind == "title" else s["ids"]
            blocks.append({"tag": tag, "css": css, "id": None if ids is None else ids + block.anchor, "text": block.text,
                           "parts": document.title_parts if block.kind == "title" else None})
        elif block.kind == "point" and s["points"]:
            blocks.append({"number": block.number, "text": block.text})
        else:
            blocks.append({"css": s["paragraph"], "text": block.printed})
    return {"blocks": blocks}


@register.simple_tag
def edit_table(form, scorecard):
    return table_of(form, scorecard)


@register.filter
def percent_or_blank(value):
    return "" if value in (None, "") else f"{value}%"


@register.filter
def signed(value):
    """+4.75 / −1.9: a change since last year."""
    if value is None:
        return ""
    text = scoring.plain(abs(value))
    return f"+{text}" if value > 0 else (f"−{text}" if value < 0 else "0")


@register.filter
def get(mapping, key):
    return mapping.get(key, "") if mapping else ""


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
def section_pk(anchor):
    """"section-12" → 12 (a 说明 block's anchor names its section), else None."""
    kind, _, pk = (anchor or "").partition("-")
    return int(pk) if kind == "section" and pk.isdigit() else None


@register.filter
def minute(value):
    """{{ value|date:"Y-m-d H:i" }} of a datetime (in the current time zone, as the filter shows it): the filter's
    Y, m, d, H and i written directly; the filter parses its format and makes a DateFormat for every value (some
    50 µs each: a 50-row list spent 2.5 ms on its dates)."""
    if value in (None, ""):
        return ""
    t = template_localtime(value)
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}"


STATUSES = dict(EvaluationStatus.choices)  # evaluation.get_status_display(), without its per-call choice lookup


@register.filter
def list_row(line):
    """A row of the 自评列表 (evaluation_list.html), its cells written once (50 rows a reviewer's page, thousands an
    admin's; issue 14): (evaluation, 综合得分, 自评结果, its address, its 说明's address), printed as {{ }} prints them
    (localized, the time in the current time zone, escaped)."""
    evaluation, total, grade, detail_url, document_url = line
    updated = minute(evaluation.updated_at)
    return mark_safe(
        f'<tr>\n      <td><a href="{escape(detail_url)}">{escape(evaluation.unit.name)}</a></td>\n'
        f'      <td data-label="状态"><span class="badge status-{escape(evaluation.status)}">'
        f"{escape(STATUSES.get(evaluation.status, evaluation.status))}</span></td>\n"
        f'      <td class="text-end" data-label="综合得分">{escape(localize(total or "0.00"))}</td>\n'
        f'      <td data-label="自评结果">{escape(localize(grade))}</td>\n'
        f'      <td data-label="最后修改">{escape(updated)}</td>\n'
        f'      <td><a href="{escape(document_url)}">自评表说明</a></td>\n    </tr>'
    )
