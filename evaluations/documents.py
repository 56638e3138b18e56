"""The printed 说明: its outline, built from the evaluation's data (domain.md §2).

    {year}年{unit}部门整体支出绩效自评表说明
    一、绩效自评情况
      （一）部门整体支出绩效目标
      （二）自评结论      the score sentence, from the scorecard, never typed
      （三）…分析         one per 一级指标 of the year's framework
    二、存在的主要问题
    三、下一步改进措施

Numbered points are stored as a list and numbered here. HTML, PDF and Word all render this same outline.
"""

from dataclasses import dataclass, field

from evaluations.models import SectionKind

NUMERALS = "零一二三四五六七八九"


def chinese_numeral(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十 (enough for any outline)."""
    if n < 10:
        return NUMERALS[n]
    tens, ones = divmod(n, 10)
    return f"{NUMERALS[tens] if tens > 1 else ''}十{NUMERALS[ones] if ones else ''}"


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
class Document:
    evaluation: object
    scorecard: object
    blocks: list[Block] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.blocks[0].text

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


def build_document(evaluation) -> Document:
    """The 说明 of one evaluation (load it with Evaluation.objects.with_document_data(): no queries here)."""
    scorecard = evaluation.scorecard()
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

    closing = [s for kind in (SectionKind.PROBLEMS, SectionKind.IMPROVEMENTS) for s in by_kind.get(kind, [])]
    for n, section in enumerate(closing, start=2):
        add([Block("heading", f"{chinese_numeral(n)}、{section.title}", anchor=f"section-{section.pk}")])
        add(section_blocks(section))
    return document
