"""Projects' 项目支出绩效自评表 as Excel, written and read back in one module so the layout is declared once.

Written: one sheet per project on the national layout (the grid of documents/project_table.py, with its merged
cells), plus a 项目编码 line and a trailing 计分方式 column so that a filled file imports back unchanged.

Read: a workbook of one sheet per project, either that file or a 绩效目标申报表 (the same header, funds, 年度总体目标
and indicators with their 年度指标值, before anything is completed; 财预〔2020〕10号 第十三条: the targets are the
ones approved at budget time). Cells are found by their labels, not their positions. All or nothing: every problem
of every sheet is listed, and nothing is written while there is one (or on a preview).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import models
from django.db.models import F
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from evaluations import rule_packs, scoring, text, workflow
from evaluations.documents.project_table import COLUMNS, WIDTHS, build_project_document
from evaluations.models import (
    Comparison,
    Evaluation,
    FieldChange,
    Project,
    ProjectFramework,
    ProjectIndicator,
    ProjectScoring,
)
from evaluations.project_forms import GOAL_LIMIT
from evaluations.spreadsheets import widgets
from evaluations.spreadsheets.cells import cell_text, neutralise, print_a4_landscape
from evaluations.spreadsheets.uploads import check_upload, read_all, write_or_preview

CODE_LABEL, METHOD_HEADER = "项目编码", "计分方式"
EXECUTION_NOTE = "执行率偏低原因："  # documents/project_table.py prints the note after this
METHOD_LABELS = dict(ProjectScoring.choices)
SHEET_WIDTH = COLUMNS + 1  # the national grid and the 计分方式 column
THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="center")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
NUMBER = re.compile(r"^-?[\d,]+(\.\d+)?$")

# =============================================================================================
# Written
# =============================================================================================


def _sheet_title(project, used):
    title = re.sub(r"[\[\]:*?/\\]", "_", project.name)[:28] or "项目"
    candidate, n = title, 1
    while candidate in used:
        n += 1
        candidate = f"{title[:26]}({n})"
    used.add(candidate)
    return candidate


def write_project_sheet(ws, project, card=None):
    """One project's table on a worksheet (project loaded with Project.objects.with_table_data())."""
    document = build_project_document(project, card)
    title = ws.cell(row=1, column=1, value=f"{document.title}{document.subtitle}")
    title.font, title.alignment = Font(bold=True, size=16), CENTER
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=SHEET_WIDTH)
    ws.row_dimensions[1].height = 30
    ws.cell(row=2, column=1, value=CODE_LABEL).font = Font(bold=True)
    ws.cell(row=2, column=2, value=neutralise(project.code))
    ws.merge_cells(start_row=2, start_column=2, end_row=2, end_column=4)

    first = 3
    taken = set()
    rows_by_method = {}
    for r, row in enumerate(document.table.rows, start=first):
        c = 1
        for cell in row.cells:
            while (r, c) in taken:
                c += 1
            taken.update((r + dr, c + dc) for dr in range(cell.rowspan) for dc in range(cell.colspan))
            value = _cell_value(cell)
            target = ws.cell(row=r, column=c, value=value)
            target.alignment = CENTER if cell.header or cell.numeric else WRAP
            if cell.header or row.kind == "total":
                target.font = Font(bold=True)
            if isinstance(value, float) and cell.text.endswith("%"):
                target.number_format = "0.00%"
            elif isinstance(value, float):
                target.number_format = "#,##0.00"
            if cell.rowspan > 1 or cell.colspan > 1:
                ws.merge_cells(start_row=r, start_column=c, end_row=r + cell.rowspan - 1, end_column=c + cell.colspan - 1)
            for dr in range(cell.rowspan):
                for dc in range(cell.colspan):
                    ws.cell(row=r + dr, column=c + dc).border = BORDER
            c += cell.colspan
        if "三级指标" in [cell.text for cell in row.cells]:
            header = ws.cell(row=r, column=SHEET_WIDTH, value=METHOD_HEADER)
            header.font, header.alignment, header.border = Font(bold=True), CENTER, BORDER
            rows_by_method = {"header": r}
    # The 计分方式 of each indicator row, in the table's order (rows follow the header one by one).
    if rows_by_method:
        scored_rows = [s for d in document.scorecard.dimensions for c in d.categories for s in c.rows]
        for n, scored in enumerate(scored_rows, start=1):
            cell = ws.cell(row=rows_by_method["header"] + n, column=SHEET_WIDTH, value=METHOD_LABELS[scored.row.method])
            cell.alignment, cell.border = CENTER, BORDER

    for col, width in enumerate([*WIDTHS, 6], start=1):
        ws.column_dimensions[get_column_letter(col)].width = max(6, width * 1.6)
    print_a4_landscape(ws, vertical_margin=0.5)


def _cell_value(cell):
    text = cell.text
    if cell.numeric and text not in ("", "—"):
        plain = text.rstrip("%").replace(",", "")
        if NUMBER.match(plain):
            return float(plain) / 100 if text.endswith("%") else float(plain)
    return neutralise(text)


def write_project_workbook(project) -> bytes:
    """One project's official .xlsx (what `render_document --projects --format xlsx` writes)."""
    return write_projects_workbook([project])


def write_projects_workbook(projects) -> bytes:
    """A workbook of one sheet per project (the package's projects, or one): re-importable by `import_projects`."""
    wb = Workbook()
    wb.remove(wb.active)
    used = set()
    for project in projects:
        write_project_sheet(wb.create_sheet(_sheet_title(project, used)), project)
    if not wb.worksheets:
        wb.create_sheet("项目")
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def projects_filename(evaluation):
    return f"{evaluation.year}年{evaluation.unit.name}项目支出绩效自评表.xlsx"


# =============================================================================================
# Read back
# =============================================================================================

HEADER_ALIASES = {"指标值": "年度指标值", "年度目标值": "年度指标值", "目标值": "年度指标值", "实际值": "实际完成值",
                  "偏差原因分析及改进措施": "偏差原因分析及改进措施", "偏差原因": "偏差原因分析及改进措施",
                  "计量单位": "度量单位", "单位": "度量单位"}
FUND_LABELS = {"当年财政拨款": "fiscal", "财政拨款": "fiscal", "本年财政拨款": "fiscal", "上年结转资金": "carryover",
               "上年结转": "carryover", "其他资金": "other"}
FUND_COLUMNS = {"年初预算数": "initial", "全年预算数": "adjusted", "全年执行数": "executed"}
SIGN_PREFIX = re.compile(r"^\s*(≥|≤|>=|<=|＝|=|＞＝|＜＝)\s*")
SIGNS = {"≥": ">=", ">=": ">=", "＞＝": ">=", "≤": "<=", "<=": "<=", "＜＝": "<=", "=": "=", "＝": "="}
MAX_MONEY = Decimal("999999999999")
WEIGHT_NOTE = re.compile(r"[（(][\d.]+分[）)]")  # "产出指标（50分）" as the printed table writes it


@dataclass
class ParsedProject:
    sheet: str
    project: Project
    rows: list[ProjectIndicator]
    existing: Project | None = None
    weights_spread: bool = False


@dataclass
class ProjectImport:
    """What a file would do (the preview) or did (after the confirm)."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    parsed: list[ParsedProject] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    row_count: int = 0
    totals: list[tuple[str, Decimal, str]] = field(default_factory=list)  # (project, 总分, grade)

    @property
    def ok(self):
        return not self.problems


def _key(name: str) -> str:
    """产出指标 ≡ 产出, 服务对象满意度指标 ≡ 服务对象满意度: the names 申报表 and frameworks write differently."""
    name = WEIGHT_NOTE.sub("", re.sub(r"\s+", "", name)).replace("其中：", "").replace("其中:", "")
    return name[:-2] if name.endswith("指标") and len(name) > 2 else name


def import_projects(evaluation, upload, *, by, dry_run=True) -> ProjectImport:
    """Read every sheet of the workbook into the evaluation's projects: a project is matched by its 项目编码 (or,
    without one, its name) and replaced (header, funds, goals, indicators); others are added; projects not in the
    file are kept. Refused while the package may not be edited."""
    result = ProjectImport()
    problems = result.problems
    if not workflow.can_edit(by, evaluation):
        problems.append(f"当前状态为“{evaluation.get_status_display()}”，或您不是本单位填报人，不能导入项目。")
        return result
    project_framework = ProjectFramework.objects.filter(framework_id=evaluation.framework_id).first()
    if project_framework is None:
        problems.append(f"{evaluation.year}年度尚未设置项目支出指标体系，请联系管理员。")
        return result
    problems += check_upload(upload, "xlsx")
    if problems:
        return result
    workbook = load_workbook(io.BytesIO(read_all(upload)), read_only=True, data_only=False)
    try:
        sheets = [(ws.title, [tuple(c.value for c in row) for row in ws.iter_rows()]) for ws in workbook.worksheets]
    finally:
        workbook.close()

    template = list(project_framework.template.all())
    tops = {_key(t.name): t for t in template if t.level == 1}
    categories = {(t.parent_id, _key(t.name)): t for t in template if t.level == 2}
    existing = list(evaluation.projects.all())
    by_code = {p.code: p for p in existing if p.code}
    by_name = {p.name: p for p in existing}
    seen_names, seen_codes = {}, {}
    for title, rows in sheets:
        if not any(cell_text(v) for row in rows for v in row):
            continue  # an empty sheet
        parsed = _read_sheet(title, rows, evaluation, tops, categories, problems, result.notes)
        if parsed is None:
            continue
        project = parsed.project
        if project.name in seen_names:
            problems.append(f"工作表“{title}”：项目名称“{project.name}”与工作表“{seen_names[project.name]}”重复。")
            continue
        seen_names[project.name] = title
        if project.code:
            if project.code in seen_codes:
                problems.append(f"工作表“{title}”：项目编码“{project.code}”与工作表“{seen_codes[project.code]}”重复。")
                continue
            seen_codes[project.code] = title
        same_name = by_name.get(project.name)
        parsed.existing = by_code.get(project.code) if project.code else None
        if parsed.existing is None and same_name is not None:
            if same_name.code and project.code:
                problems.append(f"工作表“{title}”：本单位已有项目“{project.name}”（项目编码“{same_name.code}”），"
                                f"与文件中的项目编码“{project.code}”不一致，请核对。")
                continue
            parsed.existing = same_name
        elif parsed.existing is not None and same_name is not None and same_name.pk != parsed.existing.pk:
            problems.append(f"工作表“{title}”：项目编码“{project.code}”对应的项目改名为“{project.name}”，"
                            "但本单位已有同名的另一个项目，请核对。")
            continue
        result.parsed.append(parsed)
    if not result.parsed and not problems:
        problems.append("文件中没有可导入的项目（每个工作表应为一个项目，含“项目名称”和“三级指标”表头）。")
    if problems:
        return result

    write_or_preview(lambda: _write(result, evaluation, by), dry_run=dry_run)
    return result


def _labels(rows):
    """{label: (row number, value)} for the header's labelled cells: the first non-empty cell to the right."""
    found = {}
    wanted = ("项目名称", "主管部门", "实施单位", CODE_LABEL)
    for number, row in enumerate(rows[:8], start=1):
        cells = [cell_text(v) for v in row]
        for i, cell in enumerate(cells):
            label = cell.replace("：", "").replace(":", "")
            if label in wanted and label not in found:
                value = next((v for v in cells[i + 1:] if v), "")
                found[label] = (number, "" if value in wanted else value)
    return found


def _read_sheet(title, rows, evaluation, tops, categories, problems, notes) -> ParsedProject | None:
    prefix = f"工作表“{title}”"

    def at(number, col, column, message):
        problems.append(f"{prefix}第 {number} 行“{column}”（{get_column_letter(col + 1)}{number}）：{message}")

    labels = _labels(rows)
    if "项目名称" not in labels:
        problems.append(f"{prefix}：找不到“项目名称”，请使用项目支出绩效自评表或绩效目标申报表的格式（每个工作表一个项目）。")
        return None
    name_row, name = labels["项目名称"]
    if not name:
        problems.append(f"{prefix}第 {name_row} 行：请填写“项目名称”。")
        return None
    project = Project(evaluation=evaluation, name=name, code=labels.get(CODE_LABEL, (0, ""))[1])
    for label, attr in (("主管部门", "supervising_department"), ("实施单位", "implementing_unit")):
        number, value = labels.get(label, (name_row, ""))
        if not value:
            problems.append(f"{prefix}第 {number} 行：请填写“{label}”。")
        setattr(project, attr, value)

    before = len(problems)
    _read_funds(rows, project, at, problems, prefix)
    _read_goals(rows, project)
    _read_execution_note(rows, project)
    for label, length, limit in too_long(project):
        problems.append(f"{prefix}：“{label}”最多 {limit} 字，现有 {length} 字，请精简后再导入。")
    header_number, header = _find_header(rows)
    if header is None:
        problems.append(f"{prefix}：找不到绩效指标的表头（“一级指标”“二级指标”“三级指标”所在的行）。")
        return None
    missing = [h for h in ("一级指标", "二级指标", "三级指标", "年度指标值") if h not in header]
    if missing:
        problems.append(f"{prefix}第 {header_number} 行：绩效指标表缺少列" + "、".join(f"“{h}”" for h in missing) + "。")
        return None
    rows_out = _read_indicators(rows, header_number, header, tops, categories, at)
    if not rows_out and len(problems) == before:
        problems.append(f"{prefix}：绩效指标表中没有三级指标。")
    parsed = ParsedProject(title, project, rows_out)
    if "分值" not in header and rows_out:
        _spread_weights(rows_out, tops)
        parsed.weights_spread = True
        notes.append(f"{prefix}没有“分值”列：各一级指标的分值已在其三级指标间平均分配，请导入后核对。")
    return parsed if len(problems) == before else None


# Limits beyond the columns' own (the pages' forms say the same: project_forms.py, text.py).
TEXT_LIMITS = {"goal_expected": GOAL_LIMIT, "goal_actual": GOAL_LIMIT, "execution_note": GOAL_LIMIT,
               "deviation_reason": text.DEVIATION_REASON_LIMIT}


def too_long(obj):
    """(label, length, limit) of each text longer than its column or the page allows: refused, never cut."""
    found = []
    for column in obj._meta.get_fields():
        if not isinstance(column, models.CharField | models.TextField) or column.choices:
            continue
        limit = TEXT_LIMITS.get(column.name, column.max_length)
        value = getattr(obj, column.name, "") or ""
        if limit and len(value) > limit:
            found.append((str(column.verbose_name), len(value), limit))
    return found


def _find_header(rows):
    for number, row in enumerate(rows, start=1):
        cells = [HEADER_ALIASES.get(cell_text(v), cell_text(v)) for v in row]
        if "三级指标" in cells and ("一级指标" in cells or "二级指标" in cells):
            return number, {h: i for i, h in enumerate(cells) if h}
    return None, None


def _number(raw, column, at, number, col, max_value=MAX_MONEY):
    try:
        return widgets.NumberWidget(column, max_value=max_value).clean(raw), True
    except ValueError as error:
        at(number, col, column, str(error))
        return None, False


def _read_funds(rows, project, at, problems, prefix):
    header_number, columns = None, {}
    for number, row in enumerate(rows, start=1):
        cells = [cell_text(v) for v in row]
        if all(h in cells for h in FUND_COLUMNS):
            header_number, columns = number, {FUND_COLUMNS[h]: cells.index(h) for h in FUND_COLUMNS}
            break
    if header_number is None:
        problems.append(f"{prefix}：找不到项目资金表（“年初预算数”“全年预算数”“全年执行数”所在的行）。")
        return
    sources = set()
    for number, row in enumerate(rows[header_number:header_number + 6], start=header_number + 1):
        cells = [cell_text(v) for v in row]
        source = next((FUND_LABELS[_key(c)] for c in cells[:4] if _key(c) in FUND_LABELS), None)
        if source is None:
            continue
        sources.add(source)
        for attr, col in columns.items():
            raw = row[col] if col < len(row) else None
            value, ok = _number(raw, {"initial": "年初预算数", "adjusted": "全年预算数", "executed": "全年执行数"}[attr],
                                at, number, col)
            setattr(project, f"{source}_{attr}", value if value is not None else Decimal(0))
    if not sources:
        problems.append(f"{prefix}第 {header_number} 行以下：项目资金请按来源填写（当年财政拨款、上年结转资金、其他资金）。")


def _read_goals(rows, project):
    for number, row in enumerate(rows, start=1):
        cells = [cell_text(v) for v in row]
        if "预期目标" in cells and "实际完成情况" in cells and number < len(rows):
            below = rows[number]
            expected, actual = cells.index("预期目标"), cells.index("实际完成情况")
            project.goal_expected = cell_text(below[expected] if expected < len(below) else "")
            project.goal_actual = cell_text(below[actual] if actual < len(below) else "")
            return
        if "年度总体目标" in cells and "预期目标" not in cells:  # a 申报表: the goal beside its label
            i = cells.index("年度总体目标")
            project.goal_expected = next((c for c in cells[i + 1:] if c), "")
            return


def _read_execution_note(rows, project):
    for row in rows:
        for value in row:
            text = cell_text(value)
            if text.startswith(EXECUTION_NOTE):
                project.execution_note = text[len(EXECUTION_NOTE):].strip()
                return


def _read_indicators(rows, header_number, header, tops, categories, at):
    out, seen = [], {}
    top_name = category_name = ""
    for number, row in enumerate(rows[header_number:], start=header_number + 1):
        cell = {h: (row[i] if i < len(row) else None) for h, i in header.items()}
        if any(cell_text(v) == "总分" for v in row):
            break
        top_name = cell_text(cell.get("一级指标")) or top_name
        category_name = cell_text(cell.get("二级指标")) or category_name
        leaf = cell_text(cell.get("三级指标"))
        if not leaf:
            continue

        def where(column, message, number=number):
            at(number, header.get(column, 0), column, message)

        top = tops.get(_key(top_name))
        if top is None:
            where("一级指标", f"一级指标“{top_name or '（空）'}”不在本年度项目支出指标体系中（应为 "
                  + "、".join(f"“{t.name}”" for t in tops.values()) + "）。")
            continue
        category = categories.get((top.pk, _key(category_name)))
        if category is None:
            where("二级指标", f"二级指标“{category_name or '（空）'}”不在一级指标“{top.name}”下。")
            continue
        if (category.pk, leaf) in seen:
            where("三级指标", f"与第 {seen[(category.pk, leaf)]} 行重复（同一二级指标下的三级指标“{leaf}”出现两次）。")
            continue
        seen[(category.pk, leaf)] = number
        row_obj = ProjectIndicator(category=category, name=leaf, order=len(out) + 1)
        if _read_row(row_obj, cell, where):
            out.append(row_obj)
    return out


def _read_row(row, cell, where) -> bool:
    ok = True
    sign_text = cell_text(cell.get("指标性质"))
    target_raw = cell.get("年度指标值")
    target_text = cell_text(target_raw)
    prefix = SIGN_PREFIX.match(target_text)
    if prefix and not sign_text:  # "≥500" in one cell, as many 申报表 write it
        sign_text, target_raw = prefix.group(1), target_text[prefix.end():]
        target_text = cell_text(target_raw)
    if sign_text:
        try:
            row.comparison = widgets.ChoiceWidget("指标性质", Comparison.choices, aliases=SIGNS | widgets.COMPARISON_ALIASES).clean(sign_text)
        except ValueError as error:
            where("指标性质", str(error))
            ok = False
    number = _as_number(target_raw)
    if number is not None and row.comparison != Comparison.QUALITATIVE:
        row.target_value = number
    elif target_text:
        row.target_text = target_text
        if not sign_text:
            row.comparison = Comparison.QUALITATIVE
    if row.comparison != Comparison.QUALITATIVE and row.target_value is None:
        where("年度指标值", f"指标性质为“{row.get_comparison_display()}”的指标需要填写数值型年度指标值，现为“{target_text or '（空）'}”。")
        ok = False
    if not sign_text and row.target_value is not None:
        where("指标性质", "请填写指标性质（=、≥ 或 ≤），或在年度指标值前写明，如“≥500”。")
        ok = False
    row.unit_of_measure = cell_text(cell.get("度量单位"))

    method_text = cell_text(cell.get(METHOD_HEADER))
    if method_text:
        try:
            row.method = widgets.ChoiceWidget(METHOD_HEADER, ProjectScoring.choices).clean(method_text)
        except ValueError as error:
            where(METHOD_HEADER, str(error))
            ok = False
    else:
        row.method = ProjectScoring.QUALITATIVE if row.comparison == Comparison.QUALITATIVE else ProjectScoring.BY_RULE

    if "分值" in cell:
        try:
            row.weight = widgets.NumberWidget("分值", max_value=Decimal(100)).clean(cell["分值"])
        except ValueError as error:
            where("分值", str(error))
            ok = False
        else:
            if row.weight is None:
                where("分值", "请填写“分值”。")
                ok = False
    actual_raw = cell.get("实际完成值")
    actual = _as_number(actual_raw)
    if row.method == ProjectScoring.BY_RULE and actual is not None:
        row.actual_value = actual
    else:
        row.actual_text = cell_text(actual_raw)
    if row.method != ProjectScoring.BY_RULE:
        try:
            row.score = widgets.NumberWidget("得分", max_value=Decimal(100)).clean(cell.get("得分"))
        except ValueError as error:
            where("得分", str(error))
            ok = False
        if row.method == ProjectScoring.QUALITATIVE and row.score is not None and row.weight:
            row.band = _tier_of(row.score, row.weight)
    row.deviation_reason = cell_text(cell.get("偏差原因分析及改进措施"))
    for label, length, limit in too_long(row):
        column = {"三级指标": "三级指标", "年度指标值（定性）": "年度指标值", "实际完成值（定性）": "实际完成值"}.get(label, label)
        where(column, f"“{label}”最多 {limit} 字，现有 {length} 字，请精简后再导入。")
        ok = False
    if ok and row.weight is not None:
        for attr, messages in _row_errors(row).items():
            where({"score": "得分", "comparison": "指标性质", "band": "得分"}.get(attr, "三级指标"), messages)
            ok = False
    return ok


def _row_errors(row):
    from django.core.exceptions import ValidationError

    try:
        row.clean()
    except ValidationError as error:
        return {k: "".join(v) for k, v in error.message_dict.items() if k != "category"}
    return {}


def _as_number(raw):
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float | Decimal):
        return scoring.parse_decimal(raw)
    text = cell_text(raw).replace(",", "")
    return scoring.parse_decimal(text) if NUMBER.match(text) else None


def _tier_of(score, weight):
    """The qualitative tier a score lies in (the higher one at a shared boundary)."""
    for tier in ("achieved", "partly", "not_achieved"):
        low, high = rule_packs.tier_range(tier, weight)
        if low <= score <= high:
            return tier
    return ""


def _spread_weights(rows, tops):
    """Without a 分值 column: each 一级's weight shared equally by its rows, the remainder on the last."""
    by_top = {}
    for row in rows:
        by_top.setdefault(row.category.parent_id, []).append(row)
    top_weights = {t.pk: t.weight for t in tops.values()}
    for top_id, members in by_top.items():
        share = (Decimal(top_weights[top_id]) / len(members)).quantize(Decimal("0.01"))
        for row in members:
            row.weight = share
        members[-1].weight = Decimal(top_weights[top_id]) - share * (len(members) - 1)


def _write(result, evaluation, by):
    Evaluation.objects.filter(pk=evaluation.pk).update(version=F("version") + 1, updated_by=by)
    version = Evaluation.objects.values_list("version", flat=True).get(pk=evaluation.pk)
    history, to_create, fields = [], [], [
        "name", "code", "supervising_department", "implementing_unit", "goal_expected", "goal_actual", "execution_note",
        *(f"{s}_{c}" for s in ("fiscal", "carryover", "other") for c in ("initial", "adjusted", "executed")),
    ]
    next_order = (max((p.order for p in evaluation.projects.all()), default=0)) + 1
    replaced = []
    for parsed in result.parsed:
        project = parsed.project
        if parsed.existing is not None:
            target = parsed.existing
            for name in fields:
                setattr(target, name, getattr(project, name))
            target.version += 1
            target.updated_by = by
            replaced.append(target)
            parsed.project = target
            result.updated += 1
            history.append(FieldChange(evaluation=evaluation, object_label=f"项目“{target.name}”", field_label="导入",
                                       old_value="", new_value="由 Excel 导入更新", changed_by=by, version=version))
        else:
            project.updated_by, project.order = by, next_order
            next_order += 1
            to_create.append(project)
            result.created += 1
            history.append(FieldChange(evaluation=evaluation, object_label=f"项目“{project.name}”", field_label="导入",
                                       old_value="", new_value="由 Excel 导入新增", changed_by=by, version=version))
    if replaced:
        Project.objects.bulk_update(replaced, [*fields, "version", "updated_by"], batch_size=200)
        ProjectIndicator.objects.filter(project__in=replaced).delete()
    Project.objects.bulk_create(to_create, batch_size=200)
    rows = []
    for parsed in result.parsed:
        for row in parsed.rows:
            row.project = parsed.project
            rows.append(row)
    ProjectIndicator.objects.bulk_create(rows, batch_size=500)
    FieldChange.objects.bulk_create(history)
    result.row_count = len(rows)
    ids = [p.project.pk for p in result.parsed]
    for project in Project.objects.with_table_data().filter(pk__in=ids).order_by("order", "pk"):
        card = project.refresh_scores()
        result.totals.append((project.name, card.total, card.grade))
