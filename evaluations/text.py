"""Text as the system keeps it (issue 13): every text a person types or a file brings is normalised once, at the
boundary, by `normalise()`; forms do it through `TextField` (every text field of every form, the admin's too),
importers call `normalise()` on each cell.

- Line ends are LF: browsers post a textarea's newlines as CRLF, Word's soft line break (Shift+Enter) pastes as
  U+000B, old files end lines with CR alone.
- Other control characters (U+0000–U+001F but tab and newline, DEL, U+0080–U+009F) are removed: nobody types
  them, they show as nothing or as boxes, and XML (the 说明's Word file) cannot hold them.
- A tab right after a typed "1." at the start of a line is removed: Word's numbered lists paste as "1.<tab>text".

The limits are far above what a real 说明 holds (the demo's longest section has 1,545 characters, its longest
偏差原因 65) and keep the PDF of the largest allowed 说明 under 3 s: with every section, 偏差原因 and the budget note
at its limit (the demo's 18 rows), WeasyPrint took 2.4–2.6 s of CPU, the demo itself 0.5 s (measured on this
project's 2-core machine, December 2026). They are said in each field's help text and in the error.

The per-field limits alone do not bound the document: a unit can add rows, and 100 more rows with 500 characters of
偏差原因 each took 14.8 s. So the whole 说明 is bounded too (`document_problem`, checked by editing.py on every
content write, whatever the path): at most UNIT_ROW_LIMIT self-set rows, and at most DOCUMENT_TEXT_LIMIT characters
of text the unit writes (`document_length`: the sections, every row's 指标名称, 定性目标, 定性完成情况 and 偏差原因,
the budget note). The worst case these allow (bench/largest_document.py: every row's text at its limit, the rest of
the budget in the sections) renders in under 3 s; figures in docs/benchmarks.md.
"""

import re

from django import forms

SECTION_LIMIT = 6000  # one 说明 section: its body and its points together
DEVIATION_REASON_LIMIT = 500
BUDGET_NOTE_LIMIT = 2000
SCORING_STANDARD_LIMIT = 2000
COMMENT_LIMIT = 2000  # 审核意见 and 单位答复
REASON_LIMIT = 1000  # the reason given for a return, a reopening, a withdrawal
UNIT_ROW_LIMIT = 30  # the unit's own (self-set) indicator rows in one evaluation
DOCUMENT_TEXT_LIMIT = 30000  # all the text of one 说明 (see document_length); the demo has 2,854
ROW_TEXT_FIELDS = ("name", "target_text", "actual_text", "deviation_reason")

_LINE_END = re.compile(r"\r\n?|\x0b")
_CONTROL = re.compile(r"[\x00-\x08\x0c\x0e-\x1f\x7f-\x9f]")
_TAB_AFTER_NUMBER = re.compile(r"^([ \u3000]*\d+[.．、])\t+", re.MULTILINE)


def normalise(text):
    """The text as kept: LF line ends, no control characters but tab and newline, no tab after a typed "1.".
    Anything that is not a string is returned as it is."""
    if not isinstance(text, str):
        return text
    text = _LINE_END.sub("\n", text)
    text = _CONTROL.sub("", text)
    return _TAB_AFTER_NUMBER.sub(r"\1", text)


def has_control_characters(text):
    return isinstance(text, str) and bool(_LINE_END.search(text) or _CONTROL.search(text))


def section_length(body, points):
    """A section's characters, its body and its points together (as SECTION_LIMIT counts them)."""
    return len(body or "") + sum(len(str(p)) for p in points or [])


def document_length(*, budget_note, sections, rows):
    """The characters of the text a unit writes into one 说明 (its PDF's size): `sections` as (body, points) pairs,
    `rows` as objects with ROW_TEXT_FIELDS."""
    return (len(budget_note or "") + sum(section_length(body, points) for body, points in sections)
            + sum(len(getattr(row, name) or "") for row in rows for name in ROW_TEXT_FIELDS))


def document_problem(*, length, unit_rows, length_before=0, unit_rows_before=0):
    """Why a 说明 of `length` characters and `unit_rows` self-set rows may not be saved (Chinese), or None. A
    document that was already over a limit (from before the limits) may be saved as long as it does not grow."""
    if unit_rows > UNIT_ROW_LIMIT and unit_rows > unit_rows_before:
        return (f"单位自设指标最多 {UNIT_ROW_LIMIT} 行（现为 {unit_rows} 行），本次保存未生效。"
                "请删去或合并部分自设指标后再保存。")
    if length > DOCUMENT_TEXT_LIMIT and length > length_before:
        return (f"全部文字合计不能超过 {DOCUMENT_TEXT_LIMIT} 字（现为 {length} 字，超出 {length - DOCUMENT_TEXT_LIMIT} 字），"
                "本次保存未生效。请精简说明各部分正文、分条要点或各指标的偏差原因、定性完成情况后再保存。")
    return None


def too_long_message(limit):
    return f"最多 {limit} 字（现有 %(show_value)d 字），请精简后再保存。"


def limit_help_text(help_text, limit):
    return " ".join(filter(None, [str(help_text or ""), f"不超过 {limit} 字。"]))


class TextField(forms.CharField):
    """Every text field of the system's forms: normalised, then stripped and checked as Django's CharField does.

    The limit is checked here, not by the browser: a `maxlength` attribute would cut a long paste silently."""

    def __init__(self, *, max_length=None, help_text="", **kwargs):
        if max_length and kwargs.get("widget") is not forms.HiddenInput:
            help_text = limit_help_text(help_text, max_length)
        super().__init__(max_length=max_length, help_text=help_text, **kwargs)
        if max_length:
            self.error_messages["max_length"] = too_long_message(max_length)

    def to_python(self, value):
        return super().to_python(normalise(value))

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)
        return attrs
