"""Excel in: checking an uploaded file before anything reads its rows, and importing the official 自评表 layout.

A file is refused, with every reason in Chinese and nothing written, when it is too large, is not a spreadsheet,
unpacks to an enormous size (zip bomb), or holds formulas (issue 5). The unpacked size is checked from the zip's
own directory before openpyxl opens it; Python's zipfile never inflates an entry beyond its declared size, so a
lying directory cannot get past this either. `defusedxml` is installed, so openpyxl parses the XML safely.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from evaluations import exports, scoring
from evaluations.models import (
    BudgetItem,
    BudgetLine,
    Evaluation,
    EvaluationStatus,
    Framework,
    IndicatorResult,
    Unit,
)

MB = 1024 * 1024
FORMULA_LIST_LIMIT = 20  # name this many formula cells, then count the rest


def max_file_size():
    return getattr(settings, "IMPORT_MAX_FILE_SIZE", 10 * MB)


def max_unpacked_size():
    return getattr(settings, "IMPORT_MAX_UNPACKED_SIZE", 100 * MB)


def _read_all(upload) -> bytes:
    if isinstance(upload, bytes | bytearray):
        return bytes(upload)
    if hasattr(upload, "seek"):
        upload.seek(0)
    data = upload.read()
    if hasattr(upload, "seek"):
        upload.seek(0)
    return data


def _size(upload) -> int:
    return len(upload) if isinstance(upload, bytes | bytearray) else upload.size


def check_upload(upload, kind="xlsx") -> list[str]:
    """Everything wrong with an uploaded file as a whole; empty when its rows may be read."""
    size = _size(upload)
    if size > max_file_size():
        return [f"文件大小为 {size / MB:.1f} MB，超过上限 {max_file_size() / MB:.0f} MB，请拆分后分批导入。"]
    if size == 0:
        return ["文件是空的。"]
    data = _read_all(upload)
    if kind == "csv":
        return _check_csv(data)
    return _check_xlsx(data)


def _check_xlsx(data: bytes) -> list[str]:
    not_excel = "文件不是 Excel（.xlsx）文件，无法读取。如是 .xls 或 WPS 格式，请另存为 .xlsx 后再导入。"
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return [not_excel]
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            names = {e.filename for e in entries}
            unpacked = sum(e.file_size for e in entries)
    except (zipfile.BadZipFile, OSError, ValueError):
        return [not_excel]
    if "xl/workbook.xml" not in names:
        return [not_excel]
    if unpacked > max_unpacked_size():
        return [
            f"文件解压后约 {unpacked / MB:,.0f} MB，超过上限 {max_unpacked_size() / MB:.0f} MB"
            "（可能是“压缩炸弹”），已拒绝。"
        ]
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds on damaged files; all mean the same to the user
        return ["无法读取该 Excel 文件，文件可能已损坏。"]
    if not _has_formula_element(data):  # the common case, without reading every cell
        workbook.close()
        return []
    formulas = []
    try:
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if getattr(cell, "data_type", None) == "f":
                        formulas.append(f"{sheet.title}!{cell.coordinate}")
    finally:
        workbook.close()
    return _formula_problem(formulas)


FORMULA_ELEMENT = re.compile(rb"<(?:\w+:)?f[ >/]")


def _has_formula_element(data: bytes) -> bool:
    """A formula is an <f> element in a worksheet's XML; stream each sheet (bounded by the unpacked-size check)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for entry in archive.infolist():
            if entry.filename.startswith("xl/worksheets/") and entry.filename.endswith(".xml"):
                tail = b""
                with archive.open(entry) as f:
                    while chunk := f.read(1 << 20):
                        if FORMULA_ELEMENT.search(tail + chunk):
                            return True
                        tail = chunk[-16:]
    return False


def _formula_problem(cells) -> list[str]:
    if not cells:
        return []
    named = "、".join(cells[:FORMULA_LIST_LIMIT]) + (f" 等 {len(cells)} 处" if len(cells) > FORMULA_LIST_LIMIT else "")
    return [f"文件中有公式（单元格 {named}）。为防止公式注入，导入不接受公式，请复制后“选择性粘贴为数值”再导入。"]


def _check_csv(data: bytes) -> list[str]:
    if b"\x00" in data[:4096] or zipfile.is_zipfile(io.BytesIO(data)):
        return ["文件不是 CSV 文本文件，无法读取。"]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return ["CSV 文件不是 UTF-8 编码，请在 Excel 中“另存为 CSV UTF-8（逗号分隔）”后再导入。"]
    import csv

    cells = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        for col, value in enumerate(row, start=1):
            if value.startswith("="):
                cells.append(f"{get_column_letter(col)}{number}")
    return _formula_problem(cells)


# =============================================================================================
# The official 自评表 layout, read back
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

    @property
    def ok(self):
        return not self.problems


class _DryRun(Exception):
    pass


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return exports.unneutralise(str(value).strip())


def _find_header(rows):
    for number, row in enumerate(rows, start=1):
        cells = [_text(v) for v in row]
        if "一级指标" in cells and "三级指标" in cells:
            return number, {h: i for i, h in enumerate(cells) if h}
    return None, None


def import_official(upload, *, year=None, by=None, dry_run=True) -> OfficialImport:
    """Read a 自评表 in the official layout (what `exports.official_workbook` writes) into the unit's evaluation.

    `year` imports into another year's framework (start from last year's file); rows are matched by the names of
    their 二级/三级 indicators. All or nothing: one transaction, rolled back on any problem or on a dry run.
    """
    from evaluations import import_admin as columns  # the same Chinese widgets as the admin import

    result = OfficialImport()
    result.problems = check_upload(upload, "xlsx")
    if result.problems:
        return result
    workbook = load_workbook(io.BytesIO(_read_all(upload)), read_only=True, data_only=False)
    try:
        rows = [tuple(c.value for c in row) for row in workbook.worksheets[0].iter_rows()]
    finally:
        workbook.close()
    problems = result.problems

    # Unit and year, from the labelled cells under the title
    labels = {}
    for row in rows[:4]:
        cells = [_text(v) for v in row]
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
        problems.append("找不到指标表的表头（“一级指标”“二级指标”“三级指标”…所在的行），请使用系统导出的自评表格式。")
        return result
    missing = [h for h in ("二级指标", "三级指标", "分值", "得分") if h not in header]
    if missing:
        problems.append("指标表缺少列：" + "、".join(f"“{h}”" for h in missing) + "。")
        return result
    unknown = [h for h in header if h not in exports.OFFICIAL_HEADERS]
    if unknown:
        problems.append("指标表有无法识别的列：" + "、".join(f"“{h}”" for h in unknown) + "。")

    budget = _read_budget(rows[:header_number], problems, columns)
    budget_note = _read_budget_note(rows[:header_number])

    if framework is None or result.unit is None:
        return result
    categories = {i.name: i for i in framework.indicators.all() if i.level == 2}
    leaves = {(i.parent_id, i.name): i for i in framework.indicators.all() if i.level == 3}

    parsed, seen, current_category = [], {}, ""
    for number, row in enumerate(rows[header_number:], start=header_number + 1):
        cell = {h: (row[i] if i < len(row) else None) for h, i in header.items()}
        first = _text(cell.get("一级指标"))
        if first.startswith(exports.TOTAL_LABEL) or first.startswith(exports.GRADE_LABEL):
            break
        if _text(cell.get("二级指标")):
            current_category = _text(cell.get("二级指标"))
        leaf_name = _text(cell.get("三级指标"))
        if not leaf_name:
            continue  # subtotal rows and blank lines

        def where(column, message, number=number):
            letter = get_column_letter(header[column] + 1) if column in header else ""
            problems.append(f"第 {number} 行“{column}”（{letter}{number}）：{message}")

        category = categories.get(current_category)
        if category is None:
            where("二级指标", f"二级指标“{current_category or '（空）'}”不在 {result.year} 年度指标体系中。")
            continue
        key = (category.pk, leaf_name)
        if key in seen:
            where("三级指标", f"与第 {seen[key]} 行重复（同一二级指标下的三级指标“{leaf_name}”出现两次）。")
            continue
        seen[key] = number
        kind = _text(cell.get("指标类型"))
        indicator = leaves.get(key) if kind != exports.UNIT_ROW else None
        if indicator is None and kind == exports.FRAMEWORK_ROW:
            where("三级指标", f"三级指标“{leaf_name}”不在 {result.year} 年度指标体系“{category.name}”下。")
            continue
        if indicator is None and not category.accepts_unit_rows:
            where("三级指标", f"三级指标“{leaf_name}”不在 {result.year} 年度指标体系“{category.name}”下，且该二级指标不允许单位自设指标。")
            continue
        row_obj = IndicatorResult(category=category, indicator=indicator, name=leaf_name, order=len(parsed) + 1)
        if indicator is not None:
            for attr in ("rule", "comparison", "actual_source", "deduction_per_point", "target_value", "weight",
                         "unit_of_measure"):
                setattr(row_obj, attr, getattr(indicator, attr))
        ok = _read_row(row_obj, cell, where, columns)
        if ok:
            for attr, message in scoring.row_errors(row_obj).items():
                column = {"score": "得分", "band": "定性评价", "weight": "分值", "comparison": "指标性质",
                          "deduction_per_point": "每超1个百分点扣分", "actual_value": "实际完成值",
                          "target_value": "年度指标值"}.get(attr, "三级指标")
                where(column, message)
            if scoring.is_rule_scored(row_obj.rule) and row_obj.score is not None and row_obj.score > row_obj.weight:
                where("得分", f"得分 {scoring.plain(row_obj.score)} 分超过本指标分值 {scoring.plain(row_obj.weight)} 分。")
            parsed.append(row_obj)
    if not parsed and not problems:
        problems.append("指标表中没有三级指标行。")

    evaluation = Evaluation.objects.filter(unit=result.unit, framework=framework).first()
    if evaluation is not None and evaluation.status not in (EvaluationStatus.DRAFT, EvaluationStatus.RETURNED):
        problems.append(f"{result.unit.name} {result.year} 年的自评状态为“{evaluation.get_status_display()}”，不能通过导入修改。")
    if problems:
        return result

    try:
        with transaction.atomic():
            _write(result, framework, evaluation, parsed, budget, budget_note, by)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return result


def _read_row(row, cell, where, columns) -> bool:
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

    value, present = parse("指标性质", columns.ChoiceWidget("指标性质", exports.COMPARISON_LABELS.items(),
                                                        aliases=columns.COMPARISON_ALIASES))
    if present and value:
        row.comparison = value
    value, present = parse("计分方法", columns.ChoiceWidget("计分方法", exports.RULE_LABELS.items()))
    if present and value:
        row.rule = value
    elif row.indicator_id is None and not value:
        row.rule = "manual" if row.comparison == "qualitative" else "proportional"
    value, present = parse("定性评价", columns.ChoiceWidget("定性评价", exports.BAND_LABELS.items()))
    row.band = value or ""
    for column, attr, max_value in (("分值", "weight", Decimal(100)), ("得分", "score", Decimal(100)),
                                    ("每超1个百分点扣分", "deduction_per_point", Decimal(100))):
        value, present = parse(column, columns.NumberWidget(column, max_value=max_value))
        if present and (value is not None or attr != "weight"):
            setattr(row, attr, value)
    if row.weight is None and "分值" not in problems_before:
        where("分值", "请填写“分值”。")
        problems_before.append("分值")
    row.unit_of_measure = _text(cell.get("度量单位"))[:20]
    for column, number_attr, text_attr in (("年度指标值", "target_value", "target_text"),
                                           ("实际完成值", "actual_value", "actual_text")):
        raw = cell.get(column)
        setattr(row, number_attr, None)
        setattr(row, text_attr, "")
        if isinstance(raw, int | float | Decimal) and not isinstance(raw, bool):
            value, _ = parse(column, columns.NumberWidget(column, max_value=Decimal("999999999999")))
            setattr(row, number_attr, value)
        else:
            number = scoring.parse_decimal(_text(raw)) if row.comparison != "qualitative" else None
            if number is not None and column == "年度指标值":
                setattr(row, number_attr, number)
            else:
                setattr(row, text_attr, _text(raw))
    row.deviation_reason = _text(cell.get("偏差原因分析及改进措施"))
    return not problems_before


def _read_budget(rows, problems, columns):
    labels = {label: item for item, label in BudgetItem.choices}
    budget, in_table = {}, False
    for number, row in enumerate(rows, start=1):
        first = _text(row[0] if row else None)
        if first == exports.BUDGET_HEADERS[0]:
            in_table = True
            continue
        if not in_table or first not in labels:
            continue
        values = []
        for offset, column in enumerate(exports.BUDGET_HEADERS[1:4]):
            raw = row[3 + offset] if len(row) > 3 + offset else None
            try:
                values.append(columns.NumberWidget(column, max_value=Decimal("999999999999")).clean(raw) or Decimal(0))
            except ValueError as e:
                problems.append(f"第 {number} 行“{column}”（{get_column_letter(4 + offset)}{number}）：{e}")
                values.append(Decimal(0))
        budget[labels[first]] = values
    return budget


def _read_budget_note(rows):
    for row in rows:
        if row and _text(row[0]) == exports.BUDGET_NOTE_LABEL:
            return _text(row[3] if len(row) > 3 else "")
    return ""


def _write(result, framework, evaluation, parsed, budget, budget_note, by):
    if evaluation is None:
        evaluation = Evaluation.objects.start(unit=result.unit, framework=framework, by=by)
        result.created = True
    existing = {r.indicator_id: r for r in evaluation.results.filter(indicator__isnull=False)}
    evaluation.results.filter(indicator__isnull=True).delete()
    to_create, to_update = [], []
    for row in parsed:
        row.evaluation = evaluation
        if row.indicator_id in existing:
            row.pk = existing[row.indicator_id].pk
            to_update.append(row)
        else:
            to_create.append(row)
    IndicatorResult.objects.bulk_create(to_create)
    IndicatorResult.objects.bulk_update(to_update, [
        "name", "comparison", "target_value", "target_text", "unit_of_measure", "actual_value", "actual_text",
        "weight", "rule", "deduction_per_point", "band", "score", "deviation_reason", "order", "category",
    ])
    for line in BudgetLine.objects.filter(evaluation=evaluation, item__in=budget):
        line.initial_budget, line.adjusted_budget, line.executed = budget[line.item]
        line.save(update_fields=["initial_budget", "adjusted_budget", "executed"])
    Evaluation.objects.filter(pk=evaluation.pk).update(
        budget_note=budget_note, version=F("version") + 1, updated_by=by
    )
    evaluation = Evaluation.objects.with_document_data().get(pk=evaluation.pk)
    card = evaluation.refresh_computed_scores()
    result.evaluation = evaluation
    result.row_count = len(parsed)
    result.unit_row_count = sum(1 for r in parsed if r.indicator_id is None)
    result.total, result.grade = card.total, card.grade

