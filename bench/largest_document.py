"""The largest 说明 the text limits allow (issue 13): every section, 偏差原因, 定性完成情况, 指标名称 and the budget
note filled to its limit, with paragraphs and points as people write them. Used by pdf_load_bench.py.

The limits are read from evaluations/text.py where it exists (branch trust-data); the figures below are that
branch's, for a checkout without it.
"""

try:
    from evaluations import text as limits
except ImportError:  # before the text limits are merged
    class limits:  # noqa: N801
        SECTION_LIMIT = 6000
        DEVIATION_REASON_LIMIT = 500
        BUDGET_NOTE_LIMIT = 2000

SENTENCE = "本年度单位严格落实预算绩效管理要求，围绕年度绩效目标推进各项重点工作，资金使用规范，项目实施进度总体符合预期。"


def chinese_text(length, paragraph=300):
    """`length` characters of Chinese prose, a line break every `paragraph` characters."""
    out, size = [], 0
    while size < length:
        piece = (SENTENCE * (paragraph // len(SENTENCE) + 1))[: min(paragraph, length - size)]
        out.append(piece)
        size += len(piece) + 1
    return "\n".join(out)[:length]


def fill_to_limits(evaluation, extra_rows=0):
    """Fill `evaluation` (saved; rows and sections already there) to every limit; `extra_rows` more unit rows
    copied from its last row. Written with update(): this is data for a benchmark, not a user's edit."""
    from evaluations.models import Evaluation, IndicatorResult, NarrativeSection

    section_limit = limits.SECTION_LIMIT
    for section in evaluation.sections.all():
        points = [chinese_text(100, 100) for _ in range(10)]  # 10 points of 100, the body takes the rest
        body = chinese_text(section_limit - sum(len(p) for p in points))
        NarrativeSection.objects.filter(pk=section.pk).update(body=body, points=points)
    rows = list(evaluation.results.order_by("order", "pk"))
    if extra_rows and rows:
        template = rows[-1]
        copies = []
        for n in range(extra_rows):
            copy = IndicatorResult.objects.get(pk=template.pk)
            copy.pk, copy.order = None, template.order + n + 1
            copy.name = f"单位自设指标{n + 1}"
            copies.append(copy)
        IndicatorResult.objects.bulk_create(copies)
    IndicatorResult.objects.filter(evaluation=evaluation).update(
        deviation_reason=chinese_text(limits.DEVIATION_REASON_LIMIT, 250)
    )
    Evaluation.objects.filter(pk=evaluation.pk).update(budget_note=chinese_text(limits.BUDGET_NOTE_LIMIT))
    return Evaluation.objects.with_document_data().get(pk=evaluation.pk)
