"""The summary workbook of a year: every unit's status, subtotals, total and grade, and every row, streamed in
bounded memory.

Scores are never computed here: the summary sums the stored `IndicatorResult.score` (kept equal to the scorecard by
`Evaluation.refresh_computed_scores`) and grades the sum with `scoring.grade`. Every text cell is neutralised.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import groupby

import xlsxwriter
from django.db.models import OuterRef, Subquery

from evaluations import scoring
from evaluations.models import Evaluation, Framework, IndicatorResult, Unit
from evaluations.spreadsheets.cells import (
    BAND_LABELS,
    COMPARISON_LABELS,
    FRAMEWORK_ROW,
    NOT_STARTED,
    RESULT_COLUMNS,
    RULE_LABELS,
    STATUS_LABELS,
    UNIT_ROW,
    as_float,
    neutralise,
)

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
    units = Unit.objects.all() if user is None else Unit.objects.visible_to(user)
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
                neutralise(COMPARISON_LABELS.get(r[4], r[4])), as_float(r[5]), neutralise(r[6]), neutralise(r[7]),
                as_float(r[8]), neutralise(r[9]), as_float(r[10]), RULE_LABELS.get(r[11], r[11]), as_float(r[12]),
                BAND_LABELS.get(r[13], ""), as_float(r[14]), neutralise(r[15]), r[16],
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
