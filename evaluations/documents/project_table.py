"""A project's 项目支出绩效自评表 on the national layout (财预〔2020〕10号 附1; domain.md §8), as one grid of cells.

    项目支出绩效自评表（YYYY年度）
    项目名称 | 主管部门 | 实施单位
    项目资金（万元）: 年初预算数, 全年预算数, 全年执行数, 分值, 执行率, 得分 × 年度资金总额 / 其中 ...
    年度总体目标: 预期目标 | 实际完成情况
    绩效指标: 一级 (merged) → 二级 (merged) → 三级, 指标性质, 年度指标值, 度量单位, 实际完成值, 分值, 得分, 偏差原因
    总分 and the grade (and the 执行率 cap, where one applied)

HTML, PDF and Word draw this same grid (html_pdf.py, word.py), and every number is read from the scorecard.
"""

from dataclasses import dataclass

from evaluations import scoring
from evaluations.documents.outline import UNSAFE_IN_FILENAMES, Cell, Row, Table, percent
from evaluations.models import Comparison

COLUMNS = 11
WIDTHS = [6, 8, 9, 14, 5, 9, 5, 9, 6, 7, 22]


def project_filename(project, extension: str) -> str:
    """`440113-HLZ_2024年_HLZ-2024-001_化龙镇…工程项目支出绩效自评表.pdf`: unique per project (code, else id)."""
    evaluation = project.evaluation
    stem = f"{evaluation.unit.code}_{evaluation.framework.year}年_{project.code or project.pk}_{project.name}"
    stem = UNSAFE_IN_FILENAMES.sub("_", stem).strip("._")[:80]
    return f"{stem}_项目支出绩效自评表.{extension}"


@dataclass
class ProjectDocument:
    project: object
    scorecard: object
    table: Table

    @property
    def title(self) -> str:
        return "项目支出绩效自评表"

    @property
    def subtitle(self) -> str:
        return f"（{self.project.year}年度）"


def heading(text, colspan=1, rowspan=1):
    return Cell(text, colspan=colspan, rowspan=rowspan, header=True)


def money(value):
    return Cell(scoring.money(value), numeric=True)


def build_project_document(project, card=None) -> ProjectDocument:
    """Load the project with Project.objects.with_table_data(): no queries here."""
    card = card or project.scorecard()
    rows = [
        Row([heading("项目名称"), Cell(project.name, colspan=10)]),
        Row([heading("主管部门"), Cell(project.supervising_department, colspan=4),
             heading("实施单位", colspan=2), Cell(project.implementing_unit, colspan=4)]),
    ]
    rows += funds_rows(card)
    rows += [
        Row([heading("年度总体目标", rowspan=2), heading("预期目标", colspan=5), heading("实际完成情况", colspan=5)]),
        Row([Cell(project.goal_expected.strip(), colspan=5), Cell(project.goal_actual.strip(), colspan=5)]),
    ]
    rows += indicator_rows(card)
    capped = card.capped
    rows.append(Row([
        heading("总分", colspan=8), Cell(scoring.plain(card.max_total), numeric=True),
        Cell(str(card.total), numeric=True), Cell(f"自评结果：{card.grade}"),
    ], kind="total"))
    if capped.capped:
        rows.append(Row([Cell(f"说明：{capped.explanation}。", colspan=COLUMNS)]))
    if project.execution_note.strip():
        rows.append(Row([Cell(f"执行率偏低原因：{project.execution_note.strip()}", colspan=COLUMNS)]))
    table = Table(f"{project.title}", [], WIDTHS, rows, css_class="project-table")
    return ProjectDocument(project, card, table)


def funds_rows(card) -> list[Row]:
    """The funds block on the same 11-column grid: label, 年初预算数 and 全年执行数 take two columns each."""
    execution = card.execution
    rows = [Row([
        heading("项目资金（万元）", rowspan=1 + len(card.funds)), heading("", colspan=2), heading("年初预算数", colspan=2),
        heading("全年预算数"), heading("全年执行数", colspan=2), heading("分值"), heading("执行率"), heading("得分"),
    ])]
    for fund in card.funds:
        if fund.is_total:
            points = [Cell(scoring.plain(card.execution_weight), numeric=True), Cell(percent(fund.rate), numeric=True),
                      Cell("—" if execution.score is None else str(execution.score), numeric=True)]
        else:
            points = [Cell("—", numeric=True), Cell(percent(fund.rate), numeric=True), Cell("—", numeric=True)]
        rows.append(Row([
            Cell(fund.label, colspan=2), Cell(scoring.money(fund.initial_budget), colspan=2, numeric=True),
            money(fund.adjusted_budget), Cell(scoring.money(fund.executed), colspan=2, numeric=True), *points,
        ], kind="total" if fund.is_total else ""))
    return rows


INDICATOR_HEADINGS = [
    "一级指标", "二级指标", "三级指标", "指标性质", "年度指标值", "度量单位", "实际完成值", "分值", "得分", "偏差原因分析及改进措施",
]


def indicator_rows(card) -> list[Row]:
    body = []
    for dimension in card.dimensions:
        categories = [c for c in dimension.categories if c.rows]
        span = sum(len(c.rows) for c in categories)
        if not span:
            body.append(Row([Cell(f"{dimension.indicator.name}（{scoring.plain(dimension.weight)}分）"),
                             Cell("尚无指标", colspan=9)]))
            continue
        lead = [Cell(f"{dimension.indicator.name}\n（{scoring.plain(dimension.weight)}分）", rowspan=span)]
        for category in categories:
            lead.append(Cell(category.indicator.name, rowspan=len(category.rows)))
            for scored in category.rows:
                body.append(Row([*lead, *row_cells(scored)]))
                lead = []
    header = Row([heading("绩效指标", rowspan=1 + len(body)), *(heading(h) for h in INDICATOR_HEADINGS)])
    return [header, *body]


def row_cells(scored) -> list[Cell]:
    row = scored.row
    qualitative = row.comparison == Comparison.QUALITATIVE or row.target_value is None
    actual = row.actual_text if row.actual_value is None else scoring.plain(row.actual_value)
    return [
        Cell(row.name),
        Cell(row.get_comparison_display()),
        Cell(row.target_text if qualitative else scoring.plain(row.target_value)),
        Cell(row.unit_of_measure),
        Cell(actual or (row.get_band_display() if row.band else "")),
        Cell(scoring.plain(row.weight), numeric=True),
        Cell("—" if scored.score is None else str(scored.score), numeric=True),
        Cell(row.deviation_reason.strip()),
    ]
