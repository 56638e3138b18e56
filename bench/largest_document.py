"""The largest 说明 the text limits allow (issue 13), and how long its PDF takes.

`fill_to_limits` fills an evaluation to the per-field limits: every section, 偏差原因 and the budget note, with
paragraphs and points as people write them (used by pdf_load_bench.py). `fill_worst_case` builds the worst case
the whole-document limits allow: the most unit rows an evaluation may have (text.UNIT_ROW_LIMIT), every row's
指标名称, 定性目标, 定性完成情况 and 偏差原因 at their limits, and the rest of the document's text budget
(text.DOCUMENT_TEXT_LIMIT) in the sections — the rows' narrow table cells cost the PDF more per character than
the sections' paragraphs, so this is the slowest document a unit can save.

Run it to measure (a scratch SQLite database in /tmp, the demo loaded; CPU and wall-clock of each render):

    /work/main/.venv/bin/python bench/largest_document.py [--runs 3] [--extra-rows 100]
"""

import io
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from evaluations import text as limits  # noqa: E402

SENTENCE = "本年度单位严格落实预算绩效管理要求，围绕年度绩效目标推进各项重点工作，资金使用规范，项目实施进度总体符合预期。"


def chinese_text(length, paragraph=300):
    """`length` characters of Chinese prose, a line break every `paragraph` characters."""
    out, size = [], 0
    while size < length:
        piece = (SENTENCE * (paragraph // len(SENTENCE) + 1))[: min(paragraph, length - size)]
        out.append(piece)
        size += len(piece) + 1
    return "\n".join(out)[:length]


def _fill_sections(evaluation, section_limit):
    from evaluations.models import NarrativeSection

    for section in evaluation.sections.all():
        points = [chinese_text(min(100, section_limit // 20), 100) for _ in range(10)]  # 10 points, the body the rest
        body = chinese_text(section_limit - sum(len(p) for p in points))
        NarrativeSection.objects.filter(pk=section.pk).update(body=body, points=points)


def _add_unit_rows(evaluation, count):
    from evaluations.models import IndicatorResult

    rows = list(evaluation.results.order_by("order", "pk"))
    units = [r for r in rows if r.indicator_id is None]
    template = (units or rows)[-1]
    copies = []
    for n in range(count):
        copy = IndicatorResult.objects.get(pk=template.pk)
        copy.pk, copy.order, copy.indicator = None, template.order + n + 1, None
        copy.name = f"单位自设指标{n + 1}"
        copies.append(copy)
    IndicatorResult.objects.bulk_create(copies)


def fill_to_limits(evaluation, extra_rows=0):
    """Fill `evaluation` (saved; rows and sections already there) to every per-field limit; `extra_rows` more
    unit rows copied from its last row. Written with update(): this is data for a benchmark, not a user's edit."""
    from evaluations.models import Evaluation, IndicatorResult

    _fill_sections(evaluation, limits.SECTION_LIMIT)
    if extra_rows:
        _add_unit_rows(evaluation, extra_rows)
    IndicatorResult.objects.filter(evaluation=evaluation).update(
        deviation_reason=chinese_text(limits.DEVIATION_REASON_LIMIT, 250)
    )
    Evaluation.objects.filter(pk=evaluation.pk).update(budget_note=chinese_text(limits.BUDGET_NOTE_LIMIT))
    return Evaluation.objects.with_document_data().get(pk=evaluation.pk)


def _fill_rows(evaluation, chars):
    """Give each row up to `chars` characters: its 偏差原因 first, then 定性完成情况, then (a unit row) its 定性目标
    and 指标名称, each to its limit."""
    from evaluations.models import IndicatorResult

    field = IndicatorResult._meta.get_field
    for row in IndicatorResult.objects.filter(evaluation=evaluation):
        names = ["deviation_reason", "actual_text"] + (["target_text", "name"] if row.indicator_id is None else [])
        left, values = chars - (0 if row.indicator_id is None else len(row.name)), {}
        for name in names:
            limit = limits.DEVIATION_REASON_LIMIT if name == "deviation_reason" else field(name).max_length
            if name == "name":
                size = max(len(row.name), min(limit, left))
                values[name] = (row.name + "·" + chinese_text(limit))[:size]
            else:
                values[name] = chinese_text(max(0, min(limit, left)), 250)
            left -= len(values[name])
        if row.indicator_id is None:
            values.update(comparison="qualitative", rule="qualitative")
        IndicatorResult.objects.filter(pk=row.pk).update(**values)


def fill_worst_case(evaluation, rows_first=True):
    """The largest 说明 the whole-document limits allow (see the module's docstring), checked against them: the most
    unit rows, the budget note at its limit, and the rest of DOCUMENT_TEXT_LIMIT given to the rows first (each to
    its fields' limits, then the sections) or to the sections first (each to SECTION_LIMIT, then the rows)."""
    from evaluations import editing
    from evaluations.models import Evaluation

    unit_rows = evaluation.results.filter(indicator__isnull=True).count()
    _add_unit_rows(evaluation, limits.UNIT_ROW_LIMIT - unit_rows)
    Evaluation.objects.filter(pk=evaluation.pk).update(budget_note=chinese_text(limits.BUDGET_NOTE_LIMIT))
    _fill_sections(evaluation, 0)
    _fill_rows(evaluation, 0)
    fresh = Evaluation.objects.with_document_data().get(pk=evaluation.pk)
    rows, sections = len(fresh.results.all()), len(fresh.sections.all())
    left = limits.DOCUMENT_TEXT_LIMIT - editing.document_text_length(fresh)  # the framework rows' names, the note
    if rows_first:
        per_row = min(left // rows, 1400)  # 1400: every field of a unit row at its limit
        _fill_rows(fresh, per_row)
        fresh = Evaluation.objects.with_document_data().get(pk=evaluation.pk)
        left = limits.DOCUMENT_TEXT_LIMIT - editing.document_text_length(fresh)
        _fill_sections(fresh, max(0, min(limits.SECTION_LIMIT, left // sections)))
    else:
        per_section = min(limits.SECTION_LIMIT, left // sections)
        _fill_sections(fresh, per_section)
        _fill_rows(fresh, max(0, (left - per_section * sections) // rows))
    fresh = Evaluation.objects.with_document_data().get(pk=evaluation.pk)
    assert editing.document_text_length(fresh) <= limits.DOCUMENT_TEXT_LIMIT, editing.document_text_length(fresh)
    assert sum(1 for r in fresh.results.all() if r.indicator_id is None) <= limits.UNIT_ROW_LIMIT
    return fresh


def _measure(label, build, runs):
    from django.core.management import call_command

    from evaluations import editing
    from evaluations.documents import html_pdf
    from evaluations.models import Evaluation

    call_command("load_demo", "--force", stdout=io.StringIO())
    evaluation = build(Evaluation.objects.get(unit__code="440113-HLZ", framework__year=2024))
    evaluation = Evaluation.objects.with_document_data().get(pk=evaluation.pk)
    html_pdf.render_pdf(evaluation)  # fonts and CSS loaded once, as in a running worker
    cpu, wall = [], []
    for _ in range(runs):
        evaluation = Evaluation.objects.with_document_data().get(pk=evaluation.pk)
        c, w = time.process_time(), time.perf_counter()
        pdf = html_pdf.render_pdf(evaluation)
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    rows = evaluation.results.count()
    units = evaluation.results.filter(indicator__isnull=True).count()
    length = editing.document_text_length(evaluation)
    print(f"| {label} | {rows}（自设 {units}） | {length:,} | {len(pdf) // 1024:,} | {min(cpu):.2f} / {max(cpu):.2f} "
          f"| {min(wall):.2f} / {max(wall):.2f} |", flush=True)


def main():
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--extra-rows", type=int, default=0, help="also the per-field-limits case with this many more unit rows")
    parser.add_argument("--unit-rows", type=int, help="try another UNIT_ROW_LIMIT (calibration)")
    parser.add_argument("--text", type=int, help="try another DOCUMENT_TEXT_LIMIT (calibration)")
    parser.add_argument("--only-worst", action="store_true", help="the rows-first worst case only")
    args = parser.parse_args()
    limits.UNIT_ROW_LIMIT = args.unit_rows or limits.UNIT_ROW_LIMIT
    limits.DOCUMENT_TEXT_LIMIT = args.text or limits.DOCUMENT_TEXT_LIMIT
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/largest_document_bench.sqlite3")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(f"开始 {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}，uptime：{os.popen('TZ=UTC uptime').read().strip()}")
    print(f"上限：每节 {limits.SECTION_LIMIT} 字，偏差原因 {limits.DEVIATION_REASON_LIMIT} 字，"
          f"自设指标 {limits.UNIT_ROW_LIMIT} 行，全部文字 {limits.DOCUMENT_TEXT_LIMIT} 字；每项 {args.runs} 次")
    print("| 说明 | 指标行 | 全部文字（字） | PDF KB | CPU 最短 / 最长 s | 墙钟 最短 / 最长 s |")
    print("|---|---:|---:|---:|---|---|")
    if args.only_worst:
        _measure("新上限允许的最大说明（字数先给指标行）", fill_worst_case, args.runs)
        return
    _measure("基线：演示自评，每节、每行偏差原因填到单项上限", fill_to_limits, args.runs)
    _measure("新上限允许的最大说明（字数先给指标行）：自设指标满额，每行各项文字依次填满，余下给各章节",
             fill_worst_case, args.runs)
    _measure("新上限允许的最大说明（字数先给章节）：自设指标满额，各章节填满，余下平分给各行",
             lambda e: fill_worst_case(e, rows_first=False), args.runs)
    if args.extra_rows:
        _measure(f"对照：单项上限、另加 {args.extra_rows} 行自设指标（新上限不允许）",
                 lambda e: fill_to_limits(e, args.extra_rows), args.runs)
    print(f"结束 {time.strftime('%H:%M:%S UTC', time.gmtime())}，uptime：{os.popen('TZ=UTC uptime').read().strip()}")


if __name__ == "__main__":
    main()
