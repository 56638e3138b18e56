"""The cells of every workbook, in and out: formula neutralising (issue 5: no formula injection), the Chinese
labels of stored values, the column lists shared by several workbooks, reading a cell on import and the print
settings of the filed tables."""

from openpyxl.worksheet.page import PageMargins

from evaluations import text
from evaluations.models import Comparison, EvaluationStatus, QualitativeBand, ScoringRule

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# A cell starting with one of these is read as a formula by Excel, LibreOffice or a CSV import (OWASP CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; other values pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def unneutralise(value: str) -> str:
    """The inverse on import, so what we export imports back unchanged."""
    if value.startswith("'") and value[1:].startswith(FORMULA_TRIGGERS):
        return value[1:]
    return value


def cell_text(value) -> str:
    """A cell read on import as the system keeps it: text.normalise (the one text boundary), stripped, a whole
    number typed as a float without its ".0", a neutralised formula given back."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unneutralise(text.normalise(str(value)).strip())


STATUS_LABELS = dict(EvaluationStatus.choices)
NOT_STARTED = "未填报"
COMPARISON_LABELS = dict(Comparison.choices)
RULE_LABELS = dict(ScoringRule.choices)
BAND_LABELS = dict(QualitativeBand.choices)


def as_float(value):
    return None if value is None else float(value)


# The 指标明细 columns: the admin's import and export of IndicatorResult, and the summary workbook's detail sheet.
RESULT_COLUMNS = (
    "单位编码", "单位名称", "年度", "一级指标", "二级指标", "三级指标", "指标类型", "指标性质", "年度指标值",
    "年度指标值（定性）", "度量单位", "实际完成值", "实际完成情况（定性）", "分值", "计分方法", "每超1个百分点扣分",
    "定性评价", "得分", "偏差原因分析及改进措施", "排序",
)
FRAMEWORK_ROW, UNIT_ROW = "体系指标", "单位自设"


def print_a4_landscape(ws, *, vertical_margin):
    """Print settings of the tables the bureau files: A4 landscape, every column on the page width, centred."""
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=vertical_margin, bottom=vertical_margin)
    ws.print_options.horizontalCentered = True
