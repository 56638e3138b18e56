"""The cells of every workbook, in and out: formula neutralising (issue 5: no formula injection), the Chinese
labels of stored values, and the column lists shared by several workbooks."""

from evaluations.models import Comparison, EvaluationStatus, QualitativeBand, ScoringRule

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# A cell starting with one of these is read as a formula by Excel, LibreOffice or a CSV import (OWASP CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; other values pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def unneutralise(text: str) -> str:
    """The inverse on import, so what we export imports back unchanged."""
    if text.startswith("'") and text[1:].startswith(FORMULA_TRIGGERS):
        return text[1:]
    return text


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
