"""The 复核意见书: what the bureau tells a unit after a confirmed 复核 (财预〔2020〕10号 第十九条), from the data:
both totals and grades, every re-scored row with its reason, the opinion, the 申辩 deadline and, once answered or
closed, the answer and the conclusion. Printed through the summary report's writers (documents/summary.py)."""

from evaluations import scoring
from evaluations.documents.outline import Block, Cell, Row, Table
from evaluations.documents.summary import SummaryReport, render_docx, render_pdf

plain = scoring.plain


def build_letter(recheck):
    """The outline of the letter; `recheck` loaded with its evaluation (unit, framework, results) and scores."""
    evaluation = recheck.evaluation
    unit = evaluation.unit
    own, bureau = recheck.totals()
    thresholds = evaluation.framework.grade_thresholds
    final = recheck.total_score if recheck.total_score is not None else bureau
    letter = SummaryReport(evaluation.year, name=f"关于{unit.name}{evaluation.year}年度部门整体支出绩效自评的复核意见书")
    add = letter.blocks.append
    add(Block("title", letter.title))
    add(Block("paragraph", f"{unit.name}："))
    add(Block("paragraph", f"根据《项目支出绩效评价管理办法》（财预〔2020〕10号）第十九条等规定，我局对你单位{evaluation.year}年度"
                           "部门整体支出绩效自评进行了抽查复核。现将复核意见告知如下。"))
    add(Block("heading", "一、复核结果"))
    add(Block("paragraph", f"你单位自评综合得分为 {own}分，自评结果为“{scoring.grade(own, thresholds)}”；经复核，综合得分为 "
                           f"{scoring.quantize(final)}分，复核结果为“{recheck.grade or scoring.grade(final, thresholds)}”，"
                           f"较自评{'减少' if final < own else '增加'} {plain(abs(final - own))} 分。复核结果为本年度绩效评价的最终结果。"))
    add(Block("heading", "二、复核调整情况"))
    changed = [r for r in recheck.compared_rows() if r.rescored is not None]
    if changed:
        add(Block("paragraph", f"经复核，共调整 {len(changed)} 项指标的得分，具体如下："))
        letter.tables.append(Table(
            "复核调整明细", ["指标", "分值", "自评得分", "复核得分", "差异", "复核理由"], [24, 9, 11, 11, 9, 36],
            [Row([Cell(r.row.name), Cell(plain(r.row.weight), numeric=True), Cell(str(r.own), numeric=True),
                  Cell(str(r.bureau), numeric=True), Cell(plain(r.difference), numeric=True), Cell(r.rescored.reason_text)])
             for r in changed],
        ))
        add(Block("table", "复核调整明细", anchor="0"))
    else:
        add(Block("paragraph", "经复核，各项指标得分与自评一致。"))
    add(Block("heading", "三、复核意见"))
    for text in [p.strip() for p in recheck.opinion.splitlines() if p.strip()] or ["无。"]:
        add(Block("paragraph", text))
    add(Block("heading", "四、申辩"))
    if recheck.answer:
        add(Block("paragraph", f"你单位于 {recheck.answered_at:%Y年%m月%d日} 提出申辩：{recheck.answer}"))
        if recheck.closing_note:
            add(Block("paragraph", f"经研究，{recheck.closing_note}"))
    elif recheck.answer_deadline:
        add(Block("paragraph", f"如对复核结果有异议，请于 {recheck.answer_deadline:%Y年%m月%d日} 前通过绩效自评系统提交申辩意见及依据；"
                               "逾期未提交的，视为无异议。"))
    if recheck.confirmed_at:
        add(Block("paragraph", f"财政部门　{recheck.confirmed_at:%Y年%m月%d日}"))
    return letter


def letter_docx(recheck) -> bytes:
    return render_docx(build_letter(recheck))


def letter_pdf(recheck) -> bytes:
    return render_pdf(build_letter(recheck))


def letter_filename(recheck, extension):
    evaluation = recheck.evaluation
    return f"{evaluation.unit.code}_{evaluation.year}年复核意见书.{extension}"
