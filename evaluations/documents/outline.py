"""The printed 说明: its outline, built from the evaluation's data (docs/domain.md §2).

    {year}年{unit}部门整体支出绩效自评表说明
    一、绩效自评情况
      （一）部门整体支出绩效目标
      （二）自评结论      the score sentence, from the scorecard, never typed
      （三）…分析         one per 一级指标 of the year's framework
    二、存在的主要问题
    三、下一步改进措施

    附件  the 自评表: the budget table and the indicator table with subtotals, total and grade

Numbered points are stored as a list and numbered here. HTML, PDF and Word all render this same outline and the
same appendix tables (html_pdf.py, word.py), so the three can never disagree.
"""

import re
from dataclasses import dataclass, field

from evaluations import scoring
from evaluations.models import Comparison, SectionKind

UNSAFE_IN_FILENAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f\s]+')


def document_filename(evaluation, extension: str) -> str:
    """`440113-HLZ_2024年广州市番禺区化龙镇人民政府自评表说明.pdf`: unique per evaluation (the unit code), safe on
    Windows, Linux and inside zip files, and short enough for a 255-byte file name limit."""
    stem = f"{evaluation.unit.code}_{evaluation.year}年{evaluation.unit.name}"
    stem = UNSAFE_IN_FILENAMES.sub("_", stem).strip("._")[:60]
    return f"{stem}自评表说明.{extension}"


NUMERALS = "零一二三四五六七八九"


def chinese_numeral(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十 (enough for any outline)."""
    if n < 10:
        return NUMERALS[n]
    tens, ones = divmod(n, 10)
    return f"{NUMERALS[tens] if tens > 1 else ''}十{NUMERALS[ones] if ones else ''}"


# Place names end a word of a unit's name: 广州市 / 番禺区 / 化龙镇 / 人民政府 (at least two characters before the
# suffix, so 市场监督管理局 is not cut after 市).
PLACE_NAME = re.compile(r"[^省市区县旗镇乡]{2,}?(?:自治区|自治州|自治县|省|市|区|县|旗|镇|乡|街道)")
TITLE_TAIL = ("部门整体支出", "绩效自评表说明")


@dataclass
class Block:
    kind: str  # title | heading | subheading | paragraph | point
    text: str
    number: int | None = None  # for points
    anchor: str = ""

    @property
    def printed(self) -> str:
        return f"{self.number}. {self.text}" if self.kind == "point" else self.text


@dataclass
class Cell:
    text: str = ""
    colspan: int = 1
    rowspan: int = 1
    numeric: bool = False
    header: bool = False  # a heading cell inside the grid (the project table has no single header row)


@dataclass
class Row:
    cells: list[Cell]
    kind: str = ""  # "" | subtotal | total


@dataclass
class Table:
    """An appendix table as a grid of cells with spans: the HTML template and the Word writer both draw it."""

    caption: str
    columns: list[str]
    widths: list[int]  # percent of the text width, one per column
    rows: list[Row]
    css_class: str = ""


@dataclass
class Document:
    evaluation: object
    scorecard: object
    blocks: list[Block] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.blocks[0].text

    @property
    def title_parts(self) -> list[str]:
        """The title in the words it may break between (a title breaks between words, never inside one such as
        部门整体): the year with the first place name, each further place name (…市, …区, …镇), the rest of the
        unit's name, 部门整体支出, 绩效自评表说明. WeasyPrint has no text-wrap: balance, so the page sets each part
        as an unbreakable box; joined they are the title."""
        unit = self.evaluation.unit.name
        lead = f"{self.evaluation.year}年"
        if self.title != f"{lead}{unit}{TITLE_TAIL[0]}{TITLE_TAIL[1]}":
            return [self.title]
        words, position = [], 0
        while match := PLACE_NAME.match(unit, position):  # consecutive place names from the start only
            words.append(match.group())
            position = match.end()
        if position < len(unit):
            words.append(unit[position:])
        return [lead + words[0], *words[1:], *TITLE_TAIL]

    @property
    def appendix_title(self) -> str:
        return f"{self.evaluation.year}年{self.evaluation.unit.name}部门整体支出绩效自评表"

    def paragraphs(self) -> list[str]:
        """Every printed line in order: title, headings and paragraphs (what the seed comparison reads)."""
        return [b.printed for b in self.blocks]


def score_sentence(evaluation, scorecard) -> str:
    return (
        f"{evaluation.year}年{evaluation.unit.name}自评综合得分为 {scorecard.total}分，"
        f"自评结果为“{scorecard.grade}”。"
    )


def section_blocks(section, lead: str = "") -> list[Block]:
    anchor = f"section-{section.pk}"
    paragraphs = section.paragraphs
    if lead:
        paragraphs = [lead + (paragraphs[0] if paragraphs else ""), *paragraphs[1:]]
    blocks = [Block("paragraph", text, anchor=anchor) for text in paragraphs]
    points = [str(p).strip() for p in section.points if str(p).strip()]
    blocks += [Block("point", text, number=n, anchor=anchor) for n, text in enumerate(points, start=1)]
    return blocks


def build_document(evaluation, scorecard=None) -> Document:
    """The 说明 of one evaluation (load it with Evaluation.objects.with_document_data(): no queries here).
    Pages that already scored the evaluation pass their scorecard in."""
    scorecard = scorecard or evaluation.scorecard()
    sections = evaluation.sections_in_order()
    by_kind = {}
    for section in sections:
        by_kind.setdefault(section.kind, []).append(section)
    analyses = sorted(by_kind.get(SectionKind.ANALYSIS, []), key=lambda s: (s.indicator.order, s.order))

    document = Document(evaluation, scorecard, [Block("title", evaluation.title)])
    add = document.blocks.extend
    add([Block("heading", "一、绩效自评情况")])

    subsections = [(s.title, s, "") for s in by_kind.get(SectionKind.GOAL, [])]
    subsections += [
        (s.title, s, score_sentence(evaluation, scorecard)) for s in by_kind.get(SectionKind.CONCLUSION, [])
    ]
    subsections += [(s.title, s, "") for s in analyses]
    for n, (title, section, lead) in enumerate(subsections, start=1):
        add([Block("subheading", f"（{chinese_numeral(n)}）{title}", anchor=f"section-{section.pk}")])
        add(section_blocks(section, lead))

    document.tables = [budget_table(scorecard.budget), indicator_table(scorecard)]

    closing = [s for kind in (SectionKind.PROBLEMS, SectionKind.IMPROVEMENTS) for s in by_kind.get(kind, [])]
    for n, section in enumerate(closing, start=2):
        add([Block("heading", f"{chinese_numeral(n)}、{section.title}", anchor=f"section-{section.pk}")])
        add(section_blocks(section))
    return document


def percent(value) -> str:
    return "—" if value is None else f"{value}%"


def budget_table(budget) -> Table:
    """预算执行情况 (docs/domain.md §5), in 万元 with two decimals."""
    rows = [
        Row(
            [
                Cell(row.label),
                Cell(scoring.money(row.initial_budget), numeric=True),
                Cell(scoring.money(row.adjusted_budget), numeric=True),
                Cell(scoring.money(row.executed), numeric=True),
                Cell(percent(row.rate), numeric=True),
            ],
            kind="total" if row.is_total else "",
        )
        for row in budget.rows
    ]
    return Table(
        "预算执行情况（单位：万元）",
        ["项目", "年初预算数", "全年预算数（A）", "全年执行数（B）", "执行率（B/A）"],
        [28, 18, 18, 18, 18],
        rows,
        css_class="budget-table",
    )


INDICATOR_COLUMNS = [
    "一级指标", "二级指标", "三级指标", "指标性质", "年度指标值", "度量单位", "实际完成值", "分值", "得分",
    "偏差原因分析及改进措施",
]
INDICATOR_WIDTHS = [8, 8, 16, 6, 10, 6, 10, 7, 8, 21]  # 分值 and 得分 hold "100.00" at 10.5pt


def indicator_table(scorecard) -> Table:
    """The 自评表 laid out from the scorecard: each 二级 closes with its 小计, each 一级 with its 合计, then
    综合得分 and the grade. Every number is read from the scorecard, none computed here."""
    rows = []
    for dimension in scorecard.dimensions:
        dimension_span = sum(max(1, len(c.rows)) + 1 for c in dimension.categories)
        for n, category in enumerate(dimension.categories):
            lead = []
            if n == 0:
                lead.append(Cell(f"{dimension.indicator.name}\n（{scoring.plain(dimension.weight)}分）", rowspan=dimension_span))
            lead.append(
                Cell(f"{category.indicator.name}\n（{scoring.plain(category.weight)}分）", rowspan=max(1, len(category.rows)) + 1)
            )
            for scored in category.rows:
                rows.append(Row([*lead, *indicator_cells(scored)]))
                lead = []
            if not category.rows:
                rows.append(Row([*lead, Cell("尚无三级指标", colspan=5), Cell(), Cell(), Cell()]))
            rows.append(
                Row(
                    [
                        Cell("小计", colspan=5),
                        Cell(scoring.plain(category.weight), numeric=True),
                        Cell(str(scoring.quantize(category.score)), numeric=True),
                        Cell(),
                    ],
                    kind="subtotal",
                )
            )
        rows.append(
            Row(
                [
                    Cell(f"{dimension.indicator.name}合计", colspan=7),
                    Cell(scoring.plain(dimension.weight), numeric=True),
                    Cell(str(scoring.quantize(dimension.score)), numeric=True),
                    Cell(),
                ],
                kind="subtotal",
            )
        )
    rows.append(
        Row(
            [
                Cell("综合得分", colspan=7),
                Cell(scoring.plain(scorecard.max_total), numeric=True),
                Cell(str(scorecard.total), numeric=True),
                Cell(f"自评结果：{scorecard.grade}"),
            ],
            kind="total",
        )
    )
    return Table("部门整体支出绩效自评表", INDICATOR_COLUMNS, INDICATOR_WIDTHS, rows, css_class="indicator-table")


def indicator_cells(scored) -> list[Cell]:
    row = scored.row
    qualitative = row.comparison == Comparison.QUALITATIVE or row.target_value is None
    return [
        Cell(row.name),
        Cell(row.get_comparison_display()),
        Cell(row.target_text if qualitative else scoring.plain(row.target_value)),
        Cell(row.unit_of_measure),
        Cell(row.actual_display),
        Cell(scoring.plain(row.weight), numeric=True),
        Cell("—" if scored.score is None else str(scored.score), numeric=True),
        Cell(row.deviation_reason.strip()),
    ]
