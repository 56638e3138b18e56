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
"""

import re

from django import forms

SECTION_LIMIT = 6000  # one 说明 section: its body and its points together
DEVIATION_REASON_LIMIT = 500
BUDGET_NOTE_LIMIT = 2000
SCORING_STANDARD_LIMIT = 2000
COMMENT_LIMIT = 2000  # 审核意见 and 单位答复
REASON_LIMIT = 1000  # the reason given for a return, a reopening, a withdrawal

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
