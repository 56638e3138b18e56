"""Excel out: the official 自评表 of one evaluation, and the summary workbook of a year that streams.

Scores are never computed here: the official table prints `Evaluation.scorecard()`, the summary sums the stored
`IndicatorResult.score` (kept equal to the scorecard by `Evaluation.refresh_computed_scores`) and grades the sum
with `scoring.grade`. Every text cell goes through `neutralise` (issue 5: no formula injection).
"""

from __future__ import annotations

from decimal import Decimal
from itertools import groupby

import xlsxwriter
from django.db.models import OuterRef, Subquery
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins

from evaluations import access, scoring
from evaluations.models import (
    Comparison,
    Evaluation,
    EvaluationStatus,
    Framework,
    IndicatorResult,
    QualitativeBand,
    ScoringRule,
    Unit,
)

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


def _number(value):
    return None if value is None else float(value)


# =============================================================================================
# The official 自评表 (one evaluation)
# =============================================================================================

# (header, width): the indicator table's columns, left to right. The importer finds them by header.
OFFICIAL_COLUMNS = (
    ("一级指标", 10), ("二级指标", 10), ("三级指标", 26), ("指标类型", 10), ("指标性质", 9), ("年度指标值", 16),
    ("度量单位", 9), ("实际完成值", 18), ("分值", 8), ("得分", 8), ("计分方法", 11), ("每超1个百分点扣分", 10),
    ("定性评价", 10), ("偏差原因分析及改进措施", 44),
)
OFFICIAL_HEADERS = [h for h, _ in OFFICIAL_COLUMNS]
COL = {h: i + 1 for i, h in enumerate(OFFICIAL_HEADERS)}
LAST_COL = len(OFFICIAL_COLUMNS)
BUDGET_HEADERS = ("项目", "年初预算数", "全年预算数（A）", "全年执行数（B）", "执行率（B/A）")
BUDGET_SECTION = "一、预算执行情况（单位：万元）"
INDICATOR_SECTION = "二、绩效指标完成情况"
TOTAL_LABEL, GRADE_LABEL, BUDGET_NOTE_LABEL = "综合得分", "自评结果", "预算执行情况说明"
FRAMEWORK_ROW, UNIT_ROW = "体系指标", "单位自设"

THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
SUBTOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
WRAP = Alignment(wrap_text=True, vertical="center")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
MONEY_FORMAT, SCORE_FORMAT = "#,##0.00", "0.00"


def official_workbook(evaluation) -> Workbook:
    """The 自评表 as the finance bureau files it. Expects `Evaluation.objects.with_document_data()`."""
    card = evaluation.scorecard()
    wb = Workbook()
    ws = wb.active
    ws.title = "自评表"[:31]

    def put(row, col, value, *, bold=False, fill=None, align=WRAP, fmt=None, border=True):
        cell = ws.cell(row=row, column=col, value=neutralise(value))
        cell.alignment = align
        if bold:
            cell.font = Font(bold=True)
        if fill:
            cell.fill = fill
        if fmt:
            cell.number_format = fmt
        if border:
            cell.border = BORDER
        return cell

    def merge(row1, col1, row2, col2):
        if (row1, col1) != (row2, col2):
            ws.merge_cells(start_row=row1, start_column=col1, end_row=row2, end_column=col2)
        for r in range(row1, row2 + 1):  # borders on every cell of the merge, or the outline is broken
            for c in range(col1, col2 + 1):
                ws.cell(row=r, column=c).border = BORDER

    # Title, unit and year
    title = ws.cell(row=1, column=1, value=f"{evaluation.year}年度{evaluation.unit.name}部门整体支出绩效自评表")
    title.font, title.alignment = Font(bold=True, size=16), CENTER
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=LAST_COL)
    ws.row_dimensions[1].height = 30
    for col, value in ((1, "单位名称"), (2, evaluation.unit.name), (7, "单位编码"), (8, evaluation.unit.code),
                       (9, "年度"), (10, evaluation.year), (11, "状态"), (12, evaluation.get_status_display())):
        put(2, col, value, bold=col in (1, 7, 9, 11), border=False)
    ws.merge_cells(start_row=2, start_column=2, end_row=2, end_column=6)

    # Budget execution
    row = 4
    put(row, 1, BUDGET_SECTION, bold=True, border=False)
    row += 1
    put(row, 1, BUDGET_HEADERS[0], bold=True, fill=HEADER_FILL, align=CENTER)
    merge(row, 1, row, 3)
    for offset, header in enumerate(BUDGET_HEADERS[1:]):
        put(row, 4 + offset, header, bold=True, fill=HEADER_FILL, align=CENTER)
    for line in card.budget.rows:
        row += 1
        put(row, 1, line.label, bold=line.is_total)
        merge(row, 1, row, 3)
        put(row, 4, _number(line.initial_budget), fmt=MONEY_FORMAT)
        put(row, 5, _number(line.adjusted_budget), fmt=MONEY_FORMAT)
        put(row, 6, _number(line.executed), fmt=MONEY_FORMAT)
        put(row, 7, None if line.rate is None else float(line.rate) / 100, fmt="0.00%")
    row += 1
    put(row, 1, BUDGET_NOTE_LABEL, bold=True)
    merge(row, 1, row, 3)
    put(row, 4, evaluation.budget_note)
    merge(row, 4, row, LAST_COL)
    ws.row_dimensions[row].height = max(20, 15 * (1 + len(evaluation.budget_note) // 90))

    # The indicator table
    row += 2
    put(row, 1, INDICATOR_SECTION, bold=True, border=False)
    row += 1
    header_row = row
    for col, header in enumerate(OFFICIAL_HEADERS, start=1):
        put(row, col, header, bold=True, fill=HEADER_FILL, align=CENTER)
    ws.row_dimensions[row].height = 30
    for dimension in card.dimensions:
        first_of_dimension = row + 1
        for category in dimension.categories:
            first_of_category = row + 1
            for scored in category.rows:
                row += 1
                _put_indicator_row(put, row, scored)
            if category.rows:
                put(first_of_category, COL["二级指标"], category.indicator.name, align=CENTER)
                merge(first_of_category, COL["二级指标"], row, COL["二级指标"])
            row += 1
            put(row, COL["二级指标"], f"{category.indicator.name}小计", bold=True, fill=SUBTOTAL_FILL)
            merge(row, COL["二级指标"], row, COL["分值"] - 1)
            put(row, COL["分值"], _number(category.weight), bold=True, fill=SUBTOTAL_FILL, fmt=SCORE_FORMAT)
            put(row, COL["得分"], _number(category.score), bold=True, fill=SUBTOTAL_FILL, fmt=SCORE_FORMAT)
            merge(row, COL["得分"] + 1, row, LAST_COL)
        put(first_of_dimension, COL["一级指标"], dimension.indicator.name, align=CENTER)
        merge(first_of_dimension, COL["一级指标"], max(row, first_of_dimension), COL["一级指标"])
        row += 1
        put(row, 1, f"{dimension.indicator.name}合计", bold=True, fill=SUBTOTAL_FILL)
        merge(row, 1, row, COL["分值"] - 1)
        put(row, COL["分值"], _number(dimension.weight), bold=True, fill=SUBTOTAL_FILL, fmt=SCORE_FORMAT)
        put(row, COL["得分"], _number(dimension.score), bold=True, fill=SUBTOTAL_FILL, fmt=SCORE_FORMAT)
        merge(row, COL["得分"] + 1, row, LAST_COL)
    for label, weight, value in ((TOTAL_LABEL, _number(card.max_total), _number(card.total)),
                                 (GRADE_LABEL, None, card.grade)):
        row += 1
        put(row, 1, label, bold=True, align=CENTER)
        merge(row, 1, row, COL["分值"] - 1)
        put(row, COL["分值"], weight, bold=True, fmt=SCORE_FORMAT)
        put(row, COL["得分"], value, bold=True, fmt=SCORE_FORMAT, align=CENTER)
        merge(row, COL["得分"] + 1, row, LAST_COL)

    # Print setup: A4 landscape, one page wide, the table's header repeated on every page.
    for col, (_, width) in enumerate(OFFICIAL_COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = ws.cell(row=header_row + 1, column=COL["三级指标"] + 1)
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    return wb


def _put_indicator_row(put, row, scored):
    r = scored.row
    qualitative = r.comparison == Comparison.QUALITATIVE or r.target_value is None
    values = {
        "三级指标": r.name,
        "指标类型": UNIT_ROW if r.is_unit_row else FRAMEWORK_ROW,
        "指标性质": COMPARISON_LABELS.get(r.comparison, r.comparison),
        "年度指标值": r.target_text if qualitative else _number(r.target_value),
        "度量单位": r.unit_of_measure,
        "实际完成值": _number(r.actual_value) if r.actual_value is not None else r.actual_text,
        "分值": _number(r.weight),
        "得分": _number(scored.score),
        "计分方法": RULE_LABELS.get(r.rule, r.rule),
        "每超1个百分点扣分": _number(r.deduction_per_point),
        "定性评价": BAND_LABELS.get(r.band, ""),
        "偏差原因分析及改进措施": r.deviation_reason,
    }
    for header, value in values.items():
        put(row, COL[header], value, fmt=SCORE_FORMAT if header in ("分值", "得分") else None,
            align=CENTER if header in ("指标类型", "指标性质", "度量单位", "分值", "得分", "计分方法", "定性评价") else WRAP)


def official_filename(evaluation):
    return f"{evaluation.year}年{evaluation.unit.name}部门整体支出绩效自评表.xlsx"


# =============================================================================================
# The summary workbook: streaming, bounded memory
# =============================================================================================

CHUNK = 2000
DETAIL_FIELDS = (
    "evaluation_id", "category_id", "indicator_id", "name", "comparison", "target_value", "target_text",
    "unit_of_measure", "actual_value", "actual_text", "weight", "rule", "deduction_per_point", "band", "score",
    "deviation_reason", "order", "pk",
)


def summary_rows(year, user=None):
    """Rows of the summary as plain tuples, streamed; `user=None` is the command line (every unit)."""
    framework = Framework.objects.get(year=year)
    indicators = sorted(framework.indicators.all(), key=lambda i: (i.level, i.order, i.pk))
    units = Unit.objects.all() if user is None else access.visible_units(Unit.objects.all(), user)
    evaluation = Evaluation.objects.filter(unit=OuterRef("pk"), framework=framework)
    unit_rows = (
        units.annotate(evaluation_id=Subquery(evaluation.values("pk")[:1]),
                       evaluation_status=Subquery(evaluation.values("status")[:1]))
        .order_by("code").values_list("code", "name", "evaluation_id", "evaluation_status")
        .iterator(chunk_size=CHUNK)
    )
    detail = (
        IndicatorResult.objects.filter(evaluation__framework=framework, evaluation__unit__in=units.values("pk"))
        .order_by("evaluation__unit__code").values_list(*DETAIL_FIELDS).iterator(chunk_size=CHUNK)
    )
    return framework, indicators, unit_rows, detail


def write_summary(target, year, user=None) -> int:
    """Write the summary workbook of `year` to `target` (a path or a binary file); returns the number of units.

    XlsxWriter's constant_memory mode flushes each row as it is written, one temporary file per sheet, so both
    sheets are written in one pass over two ordered streams (units, rows), merged on the unit code.
    """
    from evaluations.resources import RESULT_COLUMNS  # the detail sheet is the admin's import format

    framework, indicators, unit_rows, detail = summary_rows(year, user)
    tops = [i for i in indicators if i.level == 1]
    cats = [i for i in indicators if i.level == 2]
    by_pk = {i.pk: i for i in indicators}
    position = {c.pk: n for n, c in enumerate(sorted(cats, key=lambda c: (by_pk[c.parent_id].order, c.order, c.pk)))}
    columns = [(t, [c for c in cats if c.parent_id == t.pk]) for t in tops]
    thresholds = framework.grade_thresholds

    wb = xlsxwriter.Workbook(target, {
        "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
    })
    bold = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1, "text_wrap": True, "valign": "vcenter"})
    score_fmt = wb.add_format({"num_format": "0.00"})
    summary = wb.add_worksheet("汇总")
    sheet = wb.add_worksheet("指标明细")

    headers = ["单位编码", "单位名称", "状态"]
    for top, children in columns:
        headers.append(f"{top.name}（{scoring.plain(top.weight)}分）")
        headers += [f"{c.name}（{scoring.plain(c.weight)}分）" for c in children]
    headers += ["综合得分", "自评结果"]
    summary.write(0, 0, f"{year}年度部门整体支出绩效自评汇总表", wb.add_format({"bold": True, "font_size": 14}))
    summary.write_row(1, 0, headers, bold)
    summary.freeze_panes(2, 2)
    summary.set_column(0, 0, 14)
    summary.set_column(1, 1, 36)
    summary.set_column(2, len(headers) - 1, 12, score_fmt)
    sheet.write_row(0, 0, RESULT_COLUMNS, bold)
    sheet.freeze_panes(1, 0)
    sheet.set_column(0, len(RESULT_COLUMNS) - 1, 14)

    detail_groups = groupby(detail, key=lambda r: r[0])
    pending = next(detail_groups, None)
    summary_row, detail_row, count = 2, 1, 0
    write_detail = sheet.write_row
    for code, name, evaluation_id, status in unit_rows:
        count += 1
        rows = []
        # Both streams are ordered by unit code over the same units, so this unit's rows (if any) come next.
        if evaluation_id is not None and pending is not None and pending[0] == evaluation_id:
            rows = sorted(pending[1], key=lambda r: (position.get(r[1], 0), r[16], r[17]))
            pending = next(detail_groups, None)
        scores = {}
        for r in rows:
            scores[r[1]] = scores.get(r[1], scoring.ZERO) + (r[14] or scoring.ZERO)
            category = by_pk[r[1]]
            write_detail(detail_row, 0, (
                neutralise(code), neutralise(name), year, by_pk[category.parent_id].name, category.name,
                neutralise(r[3]), UNIT_ROW if r[2] is None else FRAMEWORK_ROW,
                neutralise(COMPARISON_LABELS.get(r[4], r[4])), _number(r[5]), neutralise(r[6]), neutralise(r[7]),
                _number(r[8]), neutralise(r[9]), _number(r[10]), RULE_LABELS.get(r[11], r[11]), _number(r[12]),
                BAND_LABELS.get(r[13], ""), _number(r[14]), neutralise(r[15]), r[16],
            ))
            detail_row += 1
        line = [neutralise(code), neutralise(name), STATUS_LABELS.get(status, NOT_STARTED)]
        if evaluation_id is not None:
            for _top, children in columns:
                line.append(float(sum((scores.get(c.pk, scoring.ZERO) for c in children), scoring.ZERO)))
                line += [float(scores.get(c.pk, scoring.ZERO)) for c in children]
            total = sum(scores.values(), Decimal(0))
            line += [float(scoring.quantize(total)), scoring.grade(total, thresholds)]
        summary.write_row(summary_row, 0, line)
        summary_row += 1
    summary.autofilter(1, 0, max(1, summary_row - 1), len(headers) - 1)
    wb.close()
    return count


def summary_filename(year):
    return f"{year}年度部门整体支出绩效自评汇总.xlsx"
