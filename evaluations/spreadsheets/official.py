"""The official 自评表 of one evaluation, as the finance bureau files it: written (`official_workbook`) and read back
(`import_official`), in one module so the layout is declared once.

Scores are never computed here: the table prints `Evaluation.scorecard()`; an import stores what the file says and
lets `Evaluation.refresh_computed_scores` store the scores decided by rules. Every text cell goes through
`cells.neutralise` on the way out and `cells.cell_text` on the way in.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from evaluations import editing, scoring, text
from evaluations.models import (
    BudgetItem,
    Comparison,
    Evaluation,
    Framework,
    IndicatorResult,
    Unit,
)
from evaluations.spreadsheets import widgets
from evaluations.spreadsheets.cells import (
    BAND_LABELS,
    COMPARISON_LABELS,
    FRAMEWORK_ROW,
    RULE_LABELS,
    UNIT_ROW,
    as_float,
    cell_text,
    neutralise,
    print_a4_landscape,
)
from evaluations.spreadsheets.uploads import check_upload, read_all, write_or_preview

# =============================================================================================
# The layout, written
# =============================================================================================

# (header, width, the row's field it shows): the indicator table's columns, left to right. The importer finds them
# by header, and names the column of a field when the row's values break a rule.
OFFICIAL_COLUMNS = (
    ("一级指标", 10, ""), ("二级指标", 10, ""), ("三级指标", 26, "name"), ("指标类型", 10, ""),
    ("指标性质", 9, "comparison"), ("年度指标值", 16, "target_value"), ("度量单位", 9, "unit_of_measure"),
    ("实际完成值", 18, "actual_value"), ("分值", 8, "weight"), ("得分", 8, "score"), ("计分方法", 11, "rule"),
    ("每超1个百分点扣分", 10, "deduction_per_point"), ("定性评价", 10, "band"),
    ("偏差原因分析及改进措施", 44, "deviation_reason"),
)
OFFICIAL_HEADERS = [h for h, _, _ in OFFICIAL_COLUMNS]
COLUMN_OF_FIELD = {field: h for h, _, field in OFFICIAL_COLUMNS if field}
COL = {h: i + 1 for i, h in enumerate(OFFICIAL_HEADERS)}
LAST_COL = len(OFFICIAL_COLUMNS)
BUDGET_HEADERS = ("项目", "年初预算数", "全年预算数（A）", "全年执行数（B）", "执行率（B/A）")
BUDGET_SECTION = "一、预算执行情况（单位：万元）"
INDICATOR_SECTION = "二、绩效指标完成情况"
TOTAL_LABEL, GRADE_LABEL, BUDGET_NOTE_LABEL = "综合得分", "自评结果", "预算执行情况说明"

THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
SUBTOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
WRAP = Alignment(wrap_text=True, vertical="center")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
HEADING = Alignment(vertical="center")  # a section's heading runs on over the empty cells beside it
MONEY_FORMAT, SCORE_FORMAT = "#,##0.00", "0.00"
COLUMN_WIDTHS = [width for _, width, _ in OFFICIAL_COLUMNS]
LINE_HEIGHT = 15  # points, one line of 11 pt text


def text_width(text: str) -> int:
    """Width in a spreadsheet's column units: a Chinese character takes two, as in Excel's and WPS's own count."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def row_height(cells) -> float:
    """The height that shows every line of wrapped text in (value, column width) cells. Row heights are explicit:
    Excel measures rows on opening, LibreOffice and WPS keep what the file says, and a row left at one line clips
    the text of a long 偏差原因 there (issue 14)."""
    lines = 1
    for value, width in cells:
        if value is None:
            continue
        room = max(1, width - 1)  # the cell's padding
        lines = max(lines, sum(max(1, -(-text_width(part) // room)) for part in str(value).split("\n")))
    return lines * LINE_HEIGHT + 3


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
    put(row, 1, BUDGET_SECTION, bold=True, border=False, align=HEADING)
    row += 1
    put(row, 1, BUDGET_HEADERS[0], bold=True, fill=HEADER_FILL, align=CENTER)
    merge(row, 1, row, 3)
    for offset, header in enumerate(BUDGET_HEADERS[1:]):
        put(row, 4 + offset, header, bold=True, fill=HEADER_FILL, align=CENTER)
    for line in card.budget.rows:
        row += 1
        put(row, 1, line.label, bold=line.is_total)
        merge(row, 1, row, 3)
        put(row, 4, as_float(line.initial_budget), fmt=MONEY_FORMAT)
        put(row, 5, as_float(line.adjusted_budget), fmt=MONEY_FORMAT)
        put(row, 6, as_float(line.executed), fmt=MONEY_FORMAT)
        put(row, 7, None if line.rate is None else float(line.rate) / 100, fmt="0.00%")
    row += 1
    put(row, 1, BUDGET_NOTE_LABEL, bold=True)
    merge(row, 1, row, 3)
    put(row, 4, evaluation.budget_note)
    merge(row, 4, row, LAST_COL)
    ws.row_dimensions[row].height = max(20, row_height([(evaluation.budget_note, sum(COLUMN_WIDTHS[3:]))]))

    # The indicator table
    row += 2
    put(row, 1, INDICATOR_SECTION, bold=True, border=False, align=HEADING)
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
                ws.row_dimensions[row].height = row_height(
                    (ws.cell(row=row, column=c).value, COLUMN_WIDTHS[c - 1]) for c in range(COL["三级指标"], LAST_COL + 1)
                )
            if category.rows:
                put(first_of_category, COL["二级指标"], category.indicator.name, align=CENTER)
                merge(first_of_category, COL["二级指标"], row, COL["二级指标"])
            row += 1
            put(row, COL["二级指标"], f"{category.indicator.name}小计", bold=True, fill=SUBTOTAL_FILL)
            merge(row, COL["二级指标"], row, COL["分值"] - 1)
            put(row, COL["分值"], as_float(category.weight), bold=True, fill=SUBTOTAL_FILL, fmt=SCORE_FORMAT)
            put(row, COL["得分"], as_float(category.score), bold=True, fill=SUBTOTAL_FILL, fmt=SCORE_FORMAT)
            merge(row, COL["得分"] + 1, row, LAST_COL)
        put(first_of_dimension, COL["一级指标"], dimension.indicator.name, align=CENTER)
        merge(first_of_dimension, COL["一级指标"], max(row, first_of_dimension), COL["一级指标"])
        row += 1
        put(row, 1, f"{dimension.indicator.name}合计", bold=True, fill=SUBTOTAL_FILL)
        merge(row, 1, row, COL["分值"] - 1)
        put(row, COL["分值"], as_float(dimension.weight), bold=True, fill=SUBTOTAL_FILL, fmt=SCORE_FORMAT)
        put(row, COL["得分"], as_float(dimension.score), bold=True, fill=SUBTOTAL_FILL, fmt=SCORE_FORMAT)
        merge(row, COL["得分"] + 1, row, LAST_COL)
    for label, weight, value in ((TOTAL_LABEL, as_float(card.max_total), as_float(card.total)),
                                 (GRADE_LABEL, None, card.grade)):
        row += 1
        put(row, 1, label, bold=True, align=CENTER)
        merge(row, 1, row, COL["分值"] - 1)
        put(row, COL["分值"], weight, bold=True, fmt=SCORE_FORMAT)
        put(row, COL["得分"], value, bold=True, fmt=SCORE_FORMAT, align=CENTER)
        merge(row, COL["得分"] + 1, row, LAST_COL)

    # Print setup: A4 landscape, one page wide, the table's header repeated on every page.
    for col, (_, width, _) in enumerate(OFFICIAL_COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = ws.cell(row=header_row + 1, column=COL["三级指标"] + 1)
    ws.print_title_rows = f"{header_row}:{header_row}"
    print_a4_landscape(ws, vertical_margin=0.6)
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    return wb


def _put_indicator_row(put, row, scored):
    r = scored.row
    qualitative = r.comparison == Comparison.QUALITATIVE or r.target_value is None
    values = {
        "三级指标": r.name,
        "指标类型": UNIT_ROW if r.is_unit_row else FRAMEWORK_ROW,
        "指标性质": COMPARISON_LABELS.get(r.comparison, r.comparison),
        "年度指标值": r.target_text if qualitative else as_float(r.target_value),
        "度量单位": r.unit_of_measure,
        "实际完成值": as_float(r.actual_value) if r.actual_value is not None else r.actual_text,
        "分值": as_float(r.weight),
        "得分": as_float(scored.score),
        "计分方法": RULE_LABELS.get(r.rule, r.rule),
        "每超1个百分点扣分": as_float(r.deduction_per_point),
        "定性评价": BAND_LABELS.get(r.band, ""),
        "偏差原因分析及改进措施": r.deviation_reason,
    }
    for header, value in values.items():
        put(row, COL[header], value, fmt=SCORE_FORMAT if header in ("分值", "得分") else None,
            align=CENTER if header in ("指标类型", "指标性质", "度量单位", "分值", "得分", "计分方法", "定性评价") else WRAP)


def official_filename(evaluation):
    return f"{evaluation.year}年{evaluation.unit.name}部门整体支出绩效自评表.xlsx"

# =============================================================================================
# The layout, read back
# =============================================================================================


@dataclass
class OfficialImport:
    """What a file would do (the preview) or did (after the confirm)."""

    problems: list[str] = field(default_factory=list)
    unit: Unit | None = None
    year: int | None = None
    source_year: int | None = None
    evaluation: Evaluation | None = None
    created: bool = False
    row_count: int = 0
    unit_row_count: int = 0
    total: Decimal | None = None
    grade: str = ""
    total_before: Decimal | None = None
    grade_before: str = ""
    # What the import changes (or changed): field history rows, "old → new", created rows as 新增.
    changes: list = field(default_factory=list)
    sheet: str = ""

    @property
    def ok(self):
        return not self.problems

    @property
    def field_changes(self):
        return [c for c in self.changes if c.field_label not in ("新增", "删除")]

    @property
    def created_rows(self):
        return [c for c in self.changes if c.field_label == "新增"]

    @property
    def deleted_rows(self):
        return [c for c in self.changes if c.field_label == "删除"]


def _sheet_rows(ws):
    """The sheet's values, row by row; a merged cell's value applies to every cell it spans (as Excel shows it)."""
    rows = [list(row) for row in ws.iter_rows(values_only=True)]
    for merged in ws.merged_cells.ranges:
        value = ws.cell(merged.min_row, merged.min_col).value
        for r in range(merged.min_row, merged.max_row + 1):
            for c in range(merged.min_col, merged.max_col + 1):
                if r - 1 < len(rows) and c - 1 < len(rows[r - 1]):
                    rows[r - 1][c - 1] = value
    return [tuple(row) for row in rows]


def _table_sheet(data):
    """(name, rows) of the sheet holding the indicator table: not necessarily the first one."""
    workbook = load_workbook(io.BytesIO(data), data_only=False)
    try:
        sheets = [(ws.title, _sheet_rows(ws)) for ws in workbook.worksheets]
    finally:
        workbook.close()
    for title, rows in sheets:
        if _find_header(rows)[1] is not None:
            return title, rows
    return sheets[0] if sheets else ("", [])


def _find_header(rows):
    for number, row in enumerate(rows, start=1):
        cells = [cell_text(v) for v in row]
        if "一级指标" in cells and "三级指标" in cells:
            return number, {h: i for i, h in enumerate(cells) if h}
    return None, None


def import_official(upload, *, year=None, by=None, dry_run=True) -> OfficialImport:
    """Read a 自评表 in the official layout (what `official_workbook` writes) into the unit's evaluation.

    `year` imports into another year's framework (start from last year's file); rows are matched by the names of
    their 二级/三级 indicators. All or nothing: one transaction, rolled back on any problem or on a dry run.
    """
    result = OfficialImport()
    result.problems = check_upload(upload, "xlsx")
    if result.problems:
        return result
    sheet, rows = _table_sheet(read_all(upload))
    result.sheet = sheet
    problems = result.problems

    # Unit and year, from the labelled cells under the title
    labels = {}
    for row in rows[:4]:
        cells = [cell_text(v) for v in row]
        for i, cell in enumerate(cells[:-1]):
            if cell in ("单位名称", "单位编码", "年度") and cells[i + 1]:
                labels[cell] = cells[i + 1]
    code, name = labels.get("单位编码", ""), labels.get("单位名称", "")
    result.unit = Unit.objects.filter(code=code).first() if code else Unit.objects.filter(name=name).first()
    if result.unit is None:
        problems.append(f"单位“{code or name or '（未填写）'}”不存在（第 2 行“单位名称”/“单位编码”）。导入不会新建单位。")
    source_year = labels.get("年度", "")
    result.source_year = int(source_year) if source_year.isdigit() else None
    result.year = int(year) if year else result.source_year
    framework = Framework.objects.filter(year=result.year).first() if result.year else None
    if result.year is None:
        problems.append("第 2 行没有“年度”。")
    elif framework is None:
        problems.append(f"{result.year} 年度的指标体系不存在。")

    header_number, header = _find_header(rows)
    if header is None:
        problems.append("在文件的任何一个工作表中都找不到指标表的表头（“一级指标”“二级指标”“三级指标”…所在的行），"
                        "请使用系统导出的自评表格式。")
        return result
    missing = [h for h in ("二级指标", "三级指标", "分值", "得分") if h not in header]
    if missing:
        problems.append("指标表缺少列：" + "、".join(f"“{h}”" for h in missing) + "。")
        return result
    unknown = [h for h in header if h not in OFFICIAL_HEADERS]
    if unknown:
        problems.append("指标表有无法识别的列：" + "、".join(f"“{h}”" for h in unknown) + "。")

    budget = _read_budget(rows[:header_number], problems, sheet)
    budget_note = _read_budget_note(rows[:header_number])

    if framework is None or result.unit is None:
        return result
    categories = {i.name: i for i in framework.indicators.all() if i.level == 2}
    leaves = {(i.parent_id, i.name): i for i in framework.indicators.all() if i.level == 3}

    parsed, seen, current_category = [], {}, ""
    for number, row in enumerate(rows[header_number:], start=header_number + 1):
        cell = {h: (row[i] if i < len(row) else None) for h, i in header.items()}
        first = cell_text(cell.get("一级指标"))
        if first.startswith(TOTAL_LABEL) or first.startswith(GRADE_LABEL):
            break
        second = cell_text(cell.get("二级指标"))
        if first.endswith("合计") or second.endswith("小计"):
            continue  # subtotals (merged across the 三级指标 column)
        if second:
            current_category = second
        leaf_name = cell_text(cell.get("三级指标"))
        if not leaf_name:
            continue  # blank lines

        def where(column, message, number=number):
            letter = get_column_letter(header[column] + 1) if column in header else ""
            problems.append(f"工作表“{sheet}”第 {number} 行“{column}”（{letter}{number}）：{message}")

        category = categories.get(current_category)
        if category is None:
            where("二级指标", f"二级指标“{current_category or '（空）'}”不在 {result.year} 年度指标体系中。")
            continue
        key = (category.pk, leaf_name)
        if key in seen:
            where("三级指标", f"与第 {seen[key]} 行重复（同一二级指标下的三级指标“{leaf_name}”出现两次）。")
            continue
        seen[key] = number
        kind = cell_text(cell.get("指标类型"))
        indicator = leaves.get(key) if kind != UNIT_ROW else None
        if indicator is None and kind == FRAMEWORK_ROW:
            where("三级指标", f"三级指标“{leaf_name}”不在 {result.year} 年度指标体系“{category.name}”下。")
            continue
        if indicator is None and not category.accepts_unit_rows:
            where("三级指标", f"三级指标“{leaf_name}”不在 {result.year} 年度指标体系“{category.name}”下，且该二级指标不允许单位自设指标。")
            continue
        defaults = indicator.row_defaults() if indicator is not None else {}
        row_obj = IndicatorResult(category=category, indicator=indicator, name=leaf_name, order=len(parsed) + 1,
                                  **defaults)
        ok = _read_row(row_obj, cell, where)
        if ok:
            for attr, message in scoring.row_errors(row_obj).items():
                where(COLUMN_OF_FIELD.get(attr, "三级指标"), message)
            if message := scoring.stored_score_over_weight(row_obj):
                where("得分", message)
            parsed.append(row_obj)
    if not parsed and not problems:
        problems.append("指标表中没有三级指标行。")

    evaluation = Evaluation.objects.filter(unit=result.unit, framework=framework).first()
    if evaluation is not None and not evaluation.is_editable:
        problems.append(f"{result.unit.name} {result.year} 年的自评状态为“{evaluation.get_status_display()}”，不能通过导入修改。")
    if problems:
        return result

    try:
        write_or_preview(lambda: _write(result, framework, evaluation, parsed, budget, budget_note, by), dry_run=dry_run)
    except editing.TooLong as refused:  # the whole 说明 too large (text.document_problem): nothing written
        problems.append(f"{result.unit.name} {result.year} 年的自评：{refused.message}")
    return result


def _read_row(row, cell, where) -> bool:
    problems_before = []

    def parse(column, widget):
        if column not in cell:
            return None, False
        try:
            return widget.clean(cell[column]), True
        except ValueError as e:
            where(column, str(e))
            problems_before.append(column)
            return None, False

    value, present = parse("指标性质", widgets.ChoiceWidget("指标性质", COMPARISON_LABELS.items(),
                                                        aliases=widgets.COMPARISON_ALIASES))
    if present and value:
        row.comparison = value
    value, present = parse("计分方法", widgets.ChoiceWidget("计分方法", RULE_LABELS.items()))
    if present and value:
        row.rule = value
    elif row.indicator_id is None and not value:
        row.rule = "manual" if row.comparison == "qualitative" else "proportional"
    value, present = parse("定性评价", widgets.ChoiceWidget("定性评价", BAND_LABELS.items()))
    row.band = value or ""
    for column, attr, max_value in (("分值", "weight", Decimal(100)), ("得分", "score", Decimal(100)),
                                    ("每超1个百分点扣分", "deduction_per_point", Decimal(100))):
        value, present = parse(column, widgets.NumberWidget(column, max_value=max_value))
        if present and (value is not None or attr != "weight"):
            setattr(row, attr, value)
    if row.weight is None and "分值" not in problems_before:
        where("分值", "请填写“分值”。")
        problems_before.append("分值")
    row.unit_of_measure = cell_text(cell.get("度量单位"))[:20]
    for column, number_attr, text_attr in (("年度指标值", "target_value", "target_text"),
                                           ("实际完成值", "actual_value", "actual_text")):
        raw = cell.get(column)
        setattr(row, number_attr, None)
        setattr(row, text_attr, "")
        if column not in cell:
            continue
        typed = cell_text(raw)
        # A number is a number whether the cell is a number or text ("400" in a text-formatted cell, as Chinese
        # Excel often has): Excel shows both the same (issue 13, item 2).
        looks_numeric = isinstance(raw, int | float | Decimal) and not isinstance(raw, bool)
        looks_numeric = looks_numeric or (row.comparison != "qualitative" and _numeric_text(typed))
        if looks_numeric:
            value, ok = parse(column, widgets.NumberWidget(column, max_value=Decimal("999999999999")))
            setattr(row, number_attr, value)
        elif typed and scoring.is_rule_scored(row.rule) and not (column == "实际完成值" and row.actual_source):
            rule = RULE_LABELS.get(row.rule, row.rule)
            where(column, f"本指标按“{rule}”计分，“{column}”应为数字，现为“{typed}”。请填写数字（单位写在“度量单位”列）。")
            problems_before.append(column)
        elif len(typed) > IndicatorResult._meta.get_field(text_attr).max_length:
            limit = IndicatorResult._meta.get_field(text_attr).max_length
            where(column, f"文字最多 {limit} 字，现为 {len(typed)} 字，请精简。")
            problems_before.append(column)
        else:
            setattr(row, text_attr, typed)
    row.deviation_reason = cell_text(cell.get("偏差原因分析及改进措施"))
    if len(row.deviation_reason) > text.DEVIATION_REASON_LIMIT:
        where("偏差原因分析及改进措施", f"最多 {text.DEVIATION_REASON_LIMIT} 字，现为 {len(row.deviation_reason)} 字，请精简。")
        problems_before.append("偏差原因分析及改进措施")
    return not problems_before


def _numeric_text(text):
    """Text that Excel would show as a number: "400", "1,200.5", " 95 "; not "95%" or "约400"."""
    cleaned = text.replace(",", "").replace("，", "").strip()
    return bool(cleaned) and scoring.parse_decimal(cleaned) is not None


def _read_budget(rows, problems, sheet):
    labels = {label: item for item, label in BudgetItem.choices}
    budget, in_table = {}, False
    for number, row in enumerate(rows, start=1):
        first = cell_text(row[0] if row else None)
        if first == BUDGET_HEADERS[0]:
            in_table = True
            continue
        if not in_table or first not in labels:
            continue
        values = []
        for offset, column in enumerate(BUDGET_HEADERS[1:4]):
            raw = row[3 + offset] if len(row) > 3 + offset else None
            try:
                values.append(widgets.NumberWidget(column, max_value=Decimal("999999999999")).clean(raw) or Decimal(0))
            except ValueError as e:
                problems.append(f"工作表“{sheet}”第 {number} 行“{column}”（{get_column_letter(4 + offset)}{number}）：{e}")
                values.append(Decimal(0))
        budget[labels[first]] = values
    return budget


def _read_budget_note(rows):
    for row in rows:
        if row and cell_text(row[0]) == BUDGET_NOTE_LABEL:
            return cell_text(row[3] if len(row) > 3 else "")
    return ""


# What the file decides for a row already there (rule scores and budget-derived values are decided by the rules).
ROW_FIELDS = ("comparison", "target_value", "target_text", "unit_of_measure", "actual_value", "actual_text", "weight",
              "rule", "deduction_per_point", "band", "score", "deviation_reason")


def _row_edit(existing, row):
    """Set the file's values on the stored row; returns {field: old value} of what changes."""
    old = {}
    for name in ROW_FIELDS:
        if name == "score" and scoring.is_rule_scored(row.rule):
            continue
        if name == "actual_value" and row.actual_source:
            continue
        new, current = getattr(row, name), getattr(existing, name)
        if editing.as_text(new) != editing.as_text(current):
            old[name] = current
            setattr(existing, name, new)
    return old


def _write(result, framework, evaluation, parsed, budget, budget_note, by):
    """Through editing.save_content, like every content change: rows updated in place (their ids stay, so review
    comments and evidence keep their target), the unit's rows not in the file removed, new ones created, the
    field history marked 正式自评表导入."""
    if evaluation is None:
        evaluation = Evaluation.objects.start(unit=result.unit, framework=framework, by=by)
        result.created = True
    evaluation = Evaluation.objects.with_scoring_data().select_related("unit").get(pk=evaluation.pk)
    if not result.created:
        before = evaluation.scorecard()
        result.total_before, result.grade_before = before.total, before.grade
    stored = list(evaluation.results.all())
    framework_rows = {r.indicator_id: r for r in stored if r.indicator_id}
    unit_rows = {(r.category_id, r.name): r for r in stored if not r.indicator_id}
    edits, created = [], []
    for row in parsed:
        existing = framework_rows.get(row.indicator_id) if row.indicator_id else unit_rows.pop((row.category_id, row.name), None)
        if existing is None:
            row.evaluation = evaluation
            created.append(row)
        else:
            edits.append((existing, _row_edit(existing, row)))
    for line in evaluation.budget_lines.all():
        if line.item in budget:
            old = {}
            for name, value in zip(("initial_budget", "adjusted_budget", "executed"), budget[line.item], strict=True):
                if editing.as_text(value) != editing.as_text(getattr(line, name)):
                    old[name] = getattr(line, name)
                    setattr(line, name, value)
            edits.append((line, old))
    if editing.as_text(budget_note) != editing.as_text(evaluation.budget_note):
        edits.append((evaluation, {"budget_note": evaluation.budget_note}))
        evaluation.budget_note = budget_note
    saved = editing.save_content(
        evaluation, by=by, channel=editing.CHANNEL.OFFICIAL_IMPORT, edits=edits, created=created,
        deleted=list(unit_rows.values()),
    )
    result.evaluation = Evaluation.objects.with_document_data().get(pk=evaluation.pk)
    result.changes = saved.changes
    result.row_count = len(parsed)
    result.unit_row_count = sum(1 for r in parsed if r.indicator_id is None)
    result.total, result.grade = saved.scorecard.total, saved.scorecard.grade
