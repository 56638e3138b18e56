"""The year's 自评结果汇总分析报告, built from the data (issue 17): every number is computed here, from the same
lines as the 总览 (evaluations/dashboard.py), and the bureau's own words come from ReportNarrative.

    {year}年度部门整体支出绩效自评结果汇总分析报告
    一、基本情况        units and funds covered
    二、自评结果        distribution, average, charts
    三、预算执行情况    totals, units below 90%, chart
    四、复核情况        how many, 自评 vs 复核 per unit and in total, how many inflated and by how much
    五、存在的主要问题  the indicators losing most points (computed), then the bureau's analysis
    六、结果应用        the units per tier, the 整改 items; 下一步工作
    附件  every unit's 自评 and 复核 score and grade

The outline is Blocks (as the 说明's) plus "figure" blocks naming a chart and "table" blocks naming a table;
the Word and PDF writers draw the same outline.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from decimal import Decimal

from evaluations import charts, dashboard, scoring
from evaluations.documents.outline import Block, Cell, Row, Table, chinese_numeral
from evaluations.models import (
    GRADES,
    Framework,
    Rectification,
    ReportNarrative,
    ReportPart,
    consequences_for,
)

plain = scoring.plain


@dataclass
class SummaryReport:
    year: int
    blocks: list = field(default_factory=list)
    charts: dict = field(default_factory=dict)  # key → charts.Chart
    tables: list = field(default_factory=list)
    figures: dict = field(default_factory=dict)  # the headline numbers, for tests and the page
    name: str = ""  # another document printed through the same writers (the 复核意见书)

    @property
    def title(self):
        return self.name or f"{self.year}年度部门整体支出绩效自评结果汇总分析报告"


class Outline:
    def __init__(self, report):
        self.report = report
        self.headings = 0
        self.figure_count = 0

    def heading(self, text):
        self.headings += 1
        self.report.blocks.append(Block("heading", f"{chinese_numeral(self.headings)}、{text}"))

    def paragraph(self, text):
        if text:
            self.report.blocks.append(Block("paragraph", text))

    def points(self, texts):
        self.report.blocks.extend(Block("point", t, number=n) for n, t in enumerate(texts, start=1))

    def figure(self, key, chart):
        self.figure_count += 1
        self.report.charts[key] = chart
        self.report.blocks.append(Block("figure", f"图{self.figure_count}　{chart.title}", anchor=key))

    def table(self, table):
        self.report.tables.append(table)
        self.report.blocks.append(Block("table", table.caption, anchor=str(len(self.report.tables) - 1)))


def _names(lines, limit=10):
    names = [line.display_name for line in lines[:limit]]
    return "、".join(names) + (f"等 {len(lines)} 个单位" if len(lines) > limit else "")


def _percent(part, whole):
    return plain(scoring.quantize(Decimal(part) * 100 / whole)) if whole else "0"


def build_summary(units, year, link=None):
    """The report for the units in `units` (scoped by the caller) and a year. `link` as for the dashboard's
    charts (the report's images carry none)."""
    framework = Framework.objects.filter(year=year).prefetch_related("consequences").first()
    lines = dashboard.unit_lines(units, year, framework)
    losses = dashboard.indicator_losses(units, year)
    desk = dashboard.build(lines, losses, year)
    chart_set = dashboard.chart_definitions(desk, link or (lambda **_: ""))
    counted = [line for line in lines if line.is_counted]
    narrative = {n.part: n for n in ReportNarrative.objects.filter(year=year)}
    report = SummaryReport(year)
    out = Outline(report)
    report.blocks.append(Block("title", report.title))

    # 一、基本情况
    started = [line for line in lines if line.evaluation_id is not None]
    approved = [line for line in lines if line.status == "approved"]
    adjusted = sum((line.adjusted or 0 for line in counted), Decimal("0"))
    executed = sum((line.executed or 0 for line in counted), Decimal("0"))
    rate = scoring.execution_rate(adjusted, executed)
    out.heading("基本情况")
    out.paragraph(
        f"{year}年度纳入部门整体支出绩效自评范围的单位共 {len(lines)} 个，已开展自评 {len(started)} 个，"
        f"已提交自评 {len(counted)} 个（其中审核通过 {len(approved)} 个），未提交 {len(lines) - len(counted)} 个。"
    )
    out.paragraph(
        f"已提交自评的单位年度资金全年预算数合计 {scoring.money(adjusted)} 万元，全年执行数 {scoring.money(executed)} 万元，"
        f"总体预算执行率 {plain(rate) if rate is not None else '—'}%。"
    )
    if ReportPart.OVERVIEW in narrative:
        for text in narrative[ReportPart.OVERVIEW].paragraphs:
            out.paragraph(text)

    # 二、自评结果
    out.heading("自评结果")
    scores = [line.final_score for line in counted]
    if scores:
        best = max(counted, key=lambda line: (line.final_score, line.code))
        worst = min(counted, key=lambda line: (line.final_score, line.code))
        grades = "，".join(f"“{g}” {n} 个" for g, n in desk.grade_counts.items())
        out.paragraph(
            f"已提交自评的 {len(counted)} 个单位综合得分（经复核的以复核结果为准）平均 {plain(desk.average)} 分，"
            f"最高 {plain(best.final_score)} 分（{best.display_name}），最低 {plain(worst.final_score)} 分（{worst.display_name}）。"
            f"其中{grades}。"
        )
    else:
        out.paragraph("本年度尚无已提交的自评。")
    out.figure("grades", chart_set["grades"])
    out.figure("histogram", chart_set["histogram"])

    # 三、预算执行情况
    out.heading("预算执行情况")
    low = sorted((line for line in counted if line.execution_rate is not None
                  and line.execution_rate < scoring.LOW_EXECUTION_RATE), key=lambda line: line.execution_rate)
    out.paragraph(
        f"预算执行率低于 {plain(scoring.LOW_EXECUTION_RATE)}% 的单位 {len(low)} 个"
        + (f"：{'、'.join(f'{line.display_name}（{plain(line.execution_rate)}%）' for line in low[:10])}"
           f"{'等' if len(low) > 10 else ''}。" if low else "。")
    )
    high_low = [line for line in low if line.final_score is not None and line.final_score >= Decimal("90")]
    if high_low:
        out.paragraph(f"其中综合得分仍在 90 分以上的 {len(high_low)} 个：{_names(high_low)}，其自评结果与资金执行情况不相匹配，应予关注。")
    out.figure("scatter", chart_set["scatter"])

    # 四、复核情况
    out.heading("复核情况")
    rechecked = [line for line in counted if line.recheck_score is not None]
    inflated = [line for line in rechecked if line.recheck_score < line.own_score]
    cut = sum((line.own_score - line.recheck_score for line in inflated), Decimal("0"))
    lowered_grade = [line for line in rechecked if line.grade != line.own_grade]
    drawn = sum(1 for line in counted if line.recheck_status)
    out.paragraph(
        f"财政部门对 {drawn} 个单位的自评开展抽查复核（占已提交的 {_percent(drawn, len(counted))}%），"
        f"已确认复核结果 {len(rechecked)} 个。"
    )
    if rechecked:
        own_total = sum((line.own_score for line in rechecked), Decimal("0"))
        check_total = sum((line.recheck_score for line in rechecked), Decimal("0"))
        biggest = max(inflated, key=lambda line: (line.own_score - line.recheck_score, line.code)) if inflated else None
        out.paragraph(
            f"复核单位自评得分合计 {plain(own_total)} 分，复核得分合计 {plain(check_total)} 分，"
            f"平均每个单位相差 {plain(scoring.quantize((check_total - own_total) / len(rechecked)))} 分。"
            f"自评得分高于复核得分（自评虚高）的 {len(inflated)} 个，共核减 {plain(cut)} 分"
            + (f"，最多的是{biggest.display_name}（{plain(biggest.own_score)} 分核减为 {plain(biggest.recheck_score)} 分）"
               if biggest else "")
            + f"；复核后等级发生变化的 {len(lowered_grade)} 个。"
        )
        out.table(Table(
            "复核单位自评与复核结果对比", ["单位", "自评得分", "自评等级", "复核得分", "复核等级", "差异"],
            [36, 13, 11, 13, 11, 16],
            [Row([Cell(line.name), Cell(plain(line.own_score), numeric=True), Cell(line.own_grade),
                  Cell(plain(line.recheck_score), numeric=True), Cell(line.grade),
                  Cell(plain(line.recheck_score - line.own_score), numeric=True)]) for line in rechecked],
        ))

    # 五、存在的主要问题
    out.heading("存在的主要问题")
    if losses:
        out.paragraph("从各单位指标失分情况看，失分较多的指标依次为：")
        out.points([f"{r['name']}（{r['category__name']}），合计失分 {plain(scoring.quantize(r['lost']))} 分，涉及 {r['units']} 个单位。"
                    for r in losses[:5]])
        out.figure("losses", chart_set["losses"])
    else:
        out.paragraph("各单位指标均未失分。")
    if ReportPart.PROBLEMS in narrative:
        for text in narrative[ReportPart.PROBLEMS].paragraphs:
            out.paragraph(text)

    # 六、结果应用
    out.heading("结果应用")
    consequences = consequences_for(framework)
    for grade, _label in GRADES:
        tier, text = consequences[grade]
        of_grade = [line for line in counted if line.grade == grade]
        out.paragraph(f"评价结果为“{grade}”的单位 {len(of_grade)} 个（{tier}）：{text}"
                      + (f"涉及单位：{_names(of_grade)}。" if of_grade else ""))
    items = list(Rectification.objects.filter(evaluation__framework__year=year, evaluation__unit__in=units)
                 .select_related("evaluation__unit").order_by("deadline", "pk"))
    states = {s: sum(1 for i in items if i.state == s) for s in ("open", "answered", "closed")}
    out.paragraph(f"针对自评和复核发现的问题，共提出整改事项 {len(items)} 项，其中待整改 {states['open']} 项、"
                  f"单位已反馈 {states['answered']} 项、已销号 {states['closed']} 项。")
    if items:
        out.table(Table(
            "整改事项", ["单位", "存在问题", "整改期限", "状态"], [28, 44, 14, 14],
            [Row([Cell(i.evaluation.unit.name), Cell(i.problem), Cell(f"{i.deadline:%Y-%m-%d}"),
                  Cell(i.get_state_display())]) for i in items],
        ))
    if ReportPart.NEXT_STEPS in narrative:
        out.report.blocks.append(Block("subheading", "下一步工作"))
        for text in narrative[ReportPart.NEXT_STEPS].paragraphs:
            out.paragraph(text)

    # 附件
    report.blocks.append(Block("appendix", "附件：各单位自评及复核结果"))
    out.table(Table(
        "各单位自评及复核结果", ["序号", "单位", "状态", "自评得分", "自评等级", "复核得分", "复核等级"],
        [7, 37, 14, 11, 9, 11, 11],
        [Row([Cell(str(n)), Cell(line.name), Cell(line.status_label),
              Cell(plain(line.own_score) if line.evaluation_id else "—", numeric=True),
              Cell(line.own_grade if line.is_counted else "—"),
              Cell(plain(line.recheck_score) if line.recheck_score is not None else "—", numeric=True),
              Cell(line.grade if line.recheck_score is not None else "—")])
         for n, line in enumerate(lines, start=1)],
    ))
    report.figures = {
        "units": len(lines), "submitted": len(counted), "approved": len(approved), "average": desk.average,
        "grades": dict(desk.grade_counts), "rechecks_drawn": drawn, "rechecks_confirmed": len(rechecked),
        "inflated": len(inflated), "points_cut": cut, "rectifications": len(items),
    }
    return report


def chart_images(report, dpi=200):
    """key → PNG bytes of the report's charts (for Word and the PDF)."""
    return {key: charts.png(chart, dpi=dpi) for key, chart in report.charts.items()}


# --- Word and PDF ---------------------------------------------------------------------------------


def render_docx(report) -> bytes:
    """The report as an editable .docx in the 说明's 公文 styles, with the charts as inline PNG images."""
    import io

    import docx
    from docx.enum.section import WD_SECTION
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    from evaluations.documents import word as writer

    images = chart_images(report)
    word = docx.Document()
    word.core_properties.title = report.title
    styles = writer._add_styles(word)
    section = word.sections[0]
    writer._page_setup(section)
    writer._add_page_numbers(word, section, styles)
    text_width = section.page_width - section.left_margin - section.right_margin
    streamed = []
    for block in report.blocks:
        if block.kind == "figure":
            picture = word.add_paragraph()
            picture._p.style = styles["表格文字"]
            picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
            picture.add_run().add_picture(io.BytesIO(images[block.anchor]), width=text_width)
            writer._paragraph(word, block.text, "表题", styles)
        elif block.kind == "table":
            table = report.tables[int(block.anchor)]
            writer._paragraph(word, table.caption, "表题", styles)
            if len(table.rows) > STREAMED_ROWS:
                # Drawn with one row of placeholders; the rows are written into the saved file as a stream.
                sentinel = Row([Cell(f"@@{n}@@", numeric=c.numeric) for n, c in enumerate(table.rows[0].cells)])
                writer._table(word, replace(table, rows=[sentinel]), text_width, styles)
                streamed.append(table)
            else:
                writer._table(word, table, text_width, styles)
        elif block.kind == "appendix":
            word.add_section(WD_SECTION.NEW_PAGE)
            writer._paragraph(word, block.text, "附件标记", styles)
        else:
            writer._paragraph(word, block.printed, writer.BLOCK_STYLES.get(block.kind, "Normal"), styles)
    buffer = io.BytesIO()
    word.save(buffer)
    return _stream_rows(buffer.getvalue(), streamed) if streamed else buffer.getvalue()


# python-docx holds the whole document as an XML tree: 10,000 units × 7 cells took minutes and hundreds of MB. A
# table this long is drawn with one row of placeholders, and its rows are streamed into word/document.xml.
STREAMED_ROWS = 300


def _stream_rows(docx_bytes, tables):
    import io
    import zipfile
    from xml.sax.saxutils import escape

    source = zipfile.ZipFile(io.BytesIO(docx_bytes))
    document = source.read("word/document.xml").decode("utf-8")
    pieces, rest = [], document
    for table in tables:
        marker = rest.index("@@0@@")
        start = rest.rindex("<w:tr>", 0, marker) if "<w:tr>" in rest[:marker] else rest.rindex("<w:tr ", 0, marker)
        end = rest.index("</w:tr>", marker) + len("</w:tr>")
        pieces.append((rest[:start], rest[start:end], table))
        rest = rest[end:]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != "word/document.xml":
                target.writestr(info, source.read(info.filename))
                continue
            with target.open("word/document.xml", "w") as stream:
                for before, template, table in pieces:
                    stream.write(before.encode("utf-8"))
                    for row in table.rows:
                        xml = template
                        for n, cell in enumerate(row.cells):
                            xml = xml.replace(f"@@{n}@@", escape(cell.text), 1)
                        stream.write(xml.encode("utf-8"))
                stream.write(rest.encode("utf-8"))
    return out.getvalue()


def render_html(report, *, standalone=True, inline_svg=False, numbered=True) -> str:
    """The report as HTML: standalone (CSS inlined, charts as PNG data: URLs) for the PDF; otherwise the body
    alone with inline SVG charts, for a page of the site. Not `numbered`: without page numbers (a part of a long
    PDF, numbered when the parts are joined: render_pdf)."""
    import base64

    from django.contrib.staticfiles import finders
    from django.template.loader import render_to_string

    css = ""
    if standalone:
        for name in ("css/print.css", "css/report.css"):
            with open(finders.find(name), encoding="utf-8") as f:
                css += f.read()
        if not numbered:
            css += UNNUMBERED_CSS
    images = {} if inline_svg else chart_images(report, dpi=150)
    blocks = []
    for block in report.blocks:
        item = {"kind": block.kind, "text": block.text, "number": block.number}
        if block.kind == "figure":
            chart = report.charts[block.anchor]
            item["summary"] = chart.summary
            if inline_svg:
                item["svg"] = charts.svg(chart)
            else:
                item["image"] = "data:image/png;base64," + base64.b64encode(images[block.anchor]).decode()
        elif block.kind == "table":
            item["table"] = report.tables[int(block.anchor)]
        blocks.append(item)
    template = "evaluations/summary_report.html" if standalone else "evaluations/_summary_report_body.html"
    return render_to_string(template, {"report": report, "blocks": blocks, "inline_css": css})


# WeasyPrint lays a whole document out in memory, and a long table's layout grows faster than its rows: the annex of
# 10,000 units took 219 s and 1.6 GB as one document. A longer table is printed in parts of this many rows, each a
# document of its own (PDF_PROCESSES at a time), and the parts' pages are joined and numbered (pypdf).
PDF_PART_ROWS = 400
PDF_PROCESSES = min(2, os.cpu_count() or 1)
UNNUMBERED_CSS = "@page :right { @bottom-right { content: none } } @page :left { @bottom-left { content: none } }"


def pdf_parts(report, rows=None):
    """The report cut into SummaryReports printed one after the other: a table longer than `rows` ends the part
    it starts in after its first `rows` rows; each further `rows` rows (under the same header, no caption) begin a
    part, and what follows the table goes on in the table's last part."""
    rows = rows or PDF_PART_ROWS
    parts = []

    def new_part():
        parts.append(replace(report, blocks=[], charts={}, tables=[]))
        return parts[-1]

    part = new_part()
    for block in report.blocks:
        if block.kind == "figure":
            part.charts[block.anchor] = report.charts[block.anchor]
            part.blocks.append(block)
        elif block.kind == "table":
            table = report.tables[int(block.anchor)]
            for start in range(0, max(len(table.rows), 1), rows):
                if start:
                    part = new_part()
                piece = replace(table, rows=table.rows[start:start + rows], caption="" if start else table.caption)
                part.tables.append(piece)
                part.blocks.append(replace(block, anchor=str(len(part.tables) - 1)))
        else:
            part.blocks.append(block)
    return parts


def render_pdf(report, progress=None) -> bytes:
    """The report as an A4 PDF. A short one is one WeasyPrint document. A long one is printed part by part
    (pdf_parts) without page numbers, PDF_PROCESSES parts at a time in worker processes, so memory stays that of
    a part however many units the annex lists; the pages are joined, and each gets its number from a document of
    as many empty pages printed with the same page rules (odd numbers at the right, even at the left: GB/T 9704).
    `progress(done, total)` is called after each part (the background build shows it)."""
    import io

    import pypdf

    from evaluations.documents.html_pdf import html_to_pdf

    parts = pdf_parts(report)
    if len(parts) == 1:
        pdf = html_to_pdf(render_html(report))
        if progress:
            progress(1, 1)
        return pdf
    writer = pypdf.PdfWriter()
    total = len(parts) + 1  # the parts, then the numbering
    for done, pdf in enumerate(_in_processes(html_to_pdf, (render_html(part, numbered=False) for part in parts)), 1):
        writer.append(pypdf.PdfReader(io.BytesIO(pdf)))
        if progress:
            progress(done, total)
    numbers = pypdf.PdfReader(io.BytesIO(html_to_pdf(_numbers_html(len(writer.pages)))))
    for page, number in zip(writer.pages, numbers.pages, strict=True):
        page.merge_page(number)
    writer.add_metadata({"/Title": report.title})
    out = io.BytesIO()
    writer.write(out)
    if progress:
        progress(total, total)
    return out.getvalue()


def _numbers_html(pages):
    """`pages` empty pages under the report's page rules: only their numbers print."""
    from django.contrib.staticfiles import finders

    with open(finders.find("css/print.css"), encoding="utf-8") as f:
        css = f.read()
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>{css}</style></head><body>'
            + '<div style="break-after: page"></div>' * (pages - 1) + "<div></div></body></html>")


def _in_processes(function, arguments):
    """function(argument) for each argument, in order, PDF_PROCESSES at a time in forked worker processes (they
    print HTML and never touch the database); in this process when there is one."""
    if PDF_PROCESSES < 2:
        yield from map(function, arguments)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(PDF_PROCESSES, mp_context=multiprocessing.get_context("fork")) as pool:
        yield from pool.map(function, arguments)


def filename(year, extension):
    return f"{year}年度部门整体支出绩效自评结果汇总分析报告.{extension}"
