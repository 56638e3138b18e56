"""django-import-export widgets with Chinese messages, and the field factories the resources declare columns with.
The official 自评表's reader parses its cells with the same widgets."""

from decimal import Decimal, InvalidOperation

from import_export import fields, widgets

from evaluations import scoring
from evaluations.spreadsheets.cells import unneutralise
from evaluations.text import normalise


def shown(value):
    """A value as the user typed it, for a message: 1e308 stays "1e308" (never a Python error)."""
    text = str(value).strip()
    return text if len(text) <= 40 else text[:40] + "…"


class NumberWidget(widgets.Widget):
    """A decimal with a range: "abc" and out-of-range values are reported in Chinese, never a traceback."""

    def __init__(self, label, min_value=Decimal("0"), max_value=None, places=2):
        super().__init__(coerce_to_string=False)
        self.label, self.min_value, self.max_value, self.places = label, min_value, max_value, places

    def clean(self, value, row=None, **kwargs):
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, bool):
            raise ValueError(f"“{self.label}”应为数字，现为“{value}”。")
        try:
            number = Decimal(str(value).strip().replace(",", "").replace("，", ""))
        except (InvalidOperation, ValueError):
            raise ValueError(f"“{self.label}”应为数字，现为“{value}”。") from None
        if not number.is_finite():
            raise ValueError(f"“{self.label}”应为数字，现为“{value}”。")
        if (self.min_value is not None and number < self.min_value) or (
            self.max_value is not None and number > self.max_value
        ):
            upper = f"到 {scoring.plain(self.max_value)}" if self.max_value is not None else "以上"
            raise ValueError(f"“{self.label}”应在 {scoring.plain(self.min_value)} {upper}之间，现为 {shown(value)}。")
        try:
            exact = number == number.quantize(Decimal(1).scaleb(-self.places))
        except InvalidOperation:  # more digits than a Decimal context holds (1e308 with no upper bound)
            exact = False
        if not exact:
            raise ValueError(f"“{self.label}”最多保留 {self.places} 位小数，现为 {shown(value)}。")
        return number

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else value


class ChoiceWidget(widgets.Widget):
    """Accepts the Chinese label (or the stored value); renders the label."""

    def __init__(self, label, choices, aliases=None, blank=True):
        super().__init__(coerce_to_string=True)
        self.label, self.blank = label, blank
        self.to_label = {str(v): str(lbl) for v, lbl in choices}
        self.to_value = {str(lbl): str(v) for v, lbl in choices} | {str(v): str(v) for v, _ in choices} | (aliases or {})

    def clean(self, value, row=None, **kwargs):
        text = unneutralise("" if value is None else str(value).strip())
        if not text:
            if self.blank:
                return ""
            raise ValueError(f"请填写“{self.label}”。")
        if text not in self.to_value:
            allowed = "、".join(f"“{lbl}”" for lbl in self.to_label.values() if lbl)
            raise ValueError(f"“{self.label}”应为 {allowed} 之一，现为“{text}”。")
        return self.to_value[text]

    def render(self, value, obj=None, **kwargs):
        return self.to_label.get(str(value or ""), str(value or ""))


class TextWidget(widgets.CharWidget):
    """Text as typed; a value we neutralised on export ("'=...") comes back as it was."""

    def __init__(self, label=None, required=False, max_length=None):
        super().__init__(coerce_to_string=True, allow_blank=True)
        self.label, self.required, self.max_length = label, required, max_length

    def clean(self, value, row=None, **kwargs):
        text = unneutralise(normalise("" if value is None else str(value)).strip())  # the one text boundary
        if isinstance(value, float) and value.is_integer():  # 440113 typed as a number in Excel
            text = str(int(value))
        if self.required and not text:
            raise ValueError(f"请填写“{self.label}”。")
        if self.max_length and len(text) > self.max_length:
            raise ValueError(f"“{self.label}”最多 {self.max_length} 个字，现为 {len(text)} 个字。")
        return text


class YesNoWidget(widgets.Widget):
    def __init__(self, label):
        super().__init__(coerce_to_string=True)
        self.label = label

    def clean(self, value, row=None, **kwargs):
        text = "" if value is None else str(value).strip()
        if text in ("是", "1", "TRUE", "True", "true"):
            return True
        if text in ("", "否", "0", "FALSE", "False", "false"):
            return False
        raise ValueError(f"“{self.label}”应为“是”或“否”，现为“{text}”。")

    def render(self, value, obj=None, **kwargs):
        return "是" if value else "否"


def text(attribute, column, required=False, max_length=None, readonly=False):
    return fields.Field(
        attribute=attribute, column_name=column, readonly=readonly,
        widget=TextWidget(column, required=required, max_length=max_length),
    )


def number(attribute, column, **kwargs):
    return fields.Field(attribute=attribute, column_name=column, widget=NumberWidget(column, **kwargs))


def choice(attribute, column, choices, **kwargs):
    return fields.Field(attribute=attribute, column_name=column, widget=ChoiceWidget(column, choices, **kwargs))


COMPARISON_ALIASES = {">=": ">=", "<=": "<=", "≥": ">=", "≤": "<=", "定性": "qualitative"}
