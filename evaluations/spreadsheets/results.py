"""The results workbook for the budget department (结果应用, 财预〔2020〕10号 第二十七条): each unit's 自评 and
复核 score, the final grade, its tier and measure for next year's budget, and the 整改 items; from the 总览's lines
(evaluations/dashboard.py), so the workbook, the dashboard and the 汇总分析报告 agree. Every text is neutralised."""

import xlsxwriter

from evaluations import dashboard
from evaluations.models import Framework, Rectification, consequences_for
from evaluations.spreadsheets.cells import as_float, neutralise

UNIT_COLUMNS = ("单位编码", "单位名称", "状态", "自评得分", "自评等级", "复核得分", "复核状态", "最终得分", "最终等级",
                "应用档次", "应用措施", "待整改事项")
RECTIFICATION_COLUMNS = ("单位编码", "单位名称", "存在问题", "整改要求", "整改期限", "状态", "整改情况")


def results_filename(year):
    return f"{year}年度绩效自评结果应用表.xlsx"


def write_results(target, year, units) -> int:
    """Write the workbook of `year` for the units in `units` (scoped by the caller); returns the number of units."""
    framework = Framework.objects.prefetch_related("consequences").get(year=year)
    lines = dashboard.unit_lines(units, year, framework)
    consequences = consequences_for(framework)
    items = list(Rectification.objects.filter(evaluation__framework=framework, evaluation__unit__in=units)
                 .select_related("evaluation__unit").order_by("evaluation__unit__code", "deadline", "pk"))
    open_items = {}
    for item in items:
        if item.state != "closed":
            open_items[item.evaluation.unit_id] = open_items.get(item.evaluation.unit_id, 0) + 1
    book = xlsxwriter.Workbook(target, {"constant_memory": True, "in_memory": False})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet("结果应用")
    sheet.write_row(0, 0, UNIT_COLUMNS, bold)
    sheet.set_column(1, 1, 36)
    sheet.set_column(10, 10, 40)
    for n, line in enumerate(lines, start=1):
        counted = line.is_counted
        tier, measure = consequences[line.grade] if counted else ("", "")
        sheet.write_row(n, 0, [
            neutralise(line.code), neutralise(line.name), line.status_label,
            as_float(line.own_score) if line.evaluation_id else None, line.own_grade if counted else "",
            as_float(line.recheck_score), "已确认" if line.recheck_score is not None else ("复核中" if line.recheck_status else ""),
            as_float(line.final_score) if counted else None, line.grade if counted else "",
            neutralise(tier), neutralise(measure), open_items.get(line.unit_id, 0),
        ])
    detail = book.add_worksheet("整改事项")
    detail.write_row(0, 0, RECTIFICATION_COLUMNS, bold)
    for n, item in enumerate(items, start=1):
        detail.write_row(n, 0, [
            neutralise(item.evaluation.unit.code), neutralise(item.evaluation.unit.name), neutralise(item.problem),
            neutralise(item.requirement), item.deadline.isoformat(), item.get_state_display(), neutralise(item.answer),
        ])
    book.close()
    return len(lines)
