"""Benchmark of the 说明's PDF and Word renderings (issue 6). Not a test: it prints figures.

    .venv/bin/python bench/document_bench.py            # print the results
    .venv/bin/python bench/document_bench.py --write    # and replace the "说明 PDF / Word" section of docs/benchmarks.md

Works on a throw-away SQLite database: migrates, loads the demo (化龙镇 2024), times the demo's PDF (target ≤ 3 s)
and .docx (target ≤ 1 s), then clones the demo into 100 evaluations of 2024 and runs
`render_document --year 2024 --all` for each format, sampling the process's resident memory after every file.
"""

import argparse
import io
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from datetime import date
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## 说明 PDF / Word"
BATCH = 100


def rss_mib():
    with open("/proc/self/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["VmRSS"].split()[0]) / 1024


def peak_rss_mib():
    with open("/proc/self/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["VmHWM"].split()[0]) / 1024


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def machine():
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    with open("/proc/meminfo") as f:
        memory = int(f.readline().split()[1]) / 1024 / 1024
    return (
        f"{cpu}, {os.cpu_count()} 核, {memory:.0f} GiB 内存; {platform.platform()}; Python {platform.python_version()}, "
        f"WeasyPrint {version('weasyprint')}, python-docx {version('python-docx')}, Django {version('django')}"
    )


def setup_django(database):
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ["DEBUG"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_demo", stdout=io.StringIO())


def clone_demo(count):
    """count − 1 copies of the demo evaluation under new units: realistic documents of the same size."""
    from evaluations.models import BudgetLine, Evaluation, IndicatorResult, NarrativeSection, Unit

    demo = Evaluation.objects.get(unit__code="440113-HLZ", framework__year=2024)
    results, lines, sections = list(demo.results.all()), list(demo.budget_lines.all()), list(demo.sections.all())
    for n in range(1, count):
        unit = Unit.objects.create(name=f"基准测试单位{n:03d}", code=f"BENCH-{n:03d}", parent=demo.unit.parent)
        evaluation = Evaluation.objects.create(unit=unit, framework=demo.framework, status=demo.status)
        for model, rows in ((IndicatorResult, results), (BudgetLine, lines), (NarrativeSection, sections)):
            copies = []
            for row in rows:
                row.pk, row.evaluation = None, evaluation
                copies.append(row)
            model.objects.bulk_create(copies)


def batch(format, directory):
    """Run `render_document --all` while a thread samples the RSS every 50 ms."""
    from django.core.management import call_command

    samples = []  # (files written so far, RSS)
    done = threading.Event()

    def sample():
        while not done.is_set():
            samples.append((len(os.listdir(directory)), rss_mib()))
            time.sleep(0.05)

    def after(count):
        return next((rss for files, rss in samples if files >= count), float("nan"))

    sampler = threading.Thread(target=sample, daemon=True)
    before = rss_mib()
    sampler.start()
    args = ("render_document", "--year", "2024", "--all", "--format", format, "-o", str(directory))
    seconds, _ = timed(lambda: call_command(*args, stderr=io.StringIO()))
    done.set()
    sampler.join()
    files = len(os.listdir(directory))
    return {
        "format": format,
        "files": files,
        "seconds": seconds,
        "before": before,
        "after_10": after(10),
        "after_50": after(50),
        "after_all": rss_mib(),
        "peak": peak_rss_mib(),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the results into docs/benchmarks.md")
    parser.add_argument("--repeat", type=int, default=5, help="warm renders to take the median of")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        setup_django(tmp / "bench.sqlite3")
        from evaluations.documents import html_pdf, word
        from evaluations.models import Evaluation

        if reason := html_pdf.pdf_unavailable_reason():
            sys.exit(reason)
        demo = Evaluation.objects.with_document_data().get(unit__code="440113-HLZ", framework__year=2024)

        pdf_cold, pdf = timed(html_pdf.render_pdf, demo)
        pdf_warm = statistics.median(timed(html_pdf.render_pdf, demo)[0] for _ in range(options.repeat))
        docx_cold, docx = timed(word.render_docx, demo)
        docx_warm = statistics.median(timed(word.render_docx, demo)[0] for _ in range(options.repeat))
        load = statistics.median(
            timed(lambda: Evaluation.objects.with_document_data().get(pk=demo.pk))[0] for _ in range(options.repeat)
        )
        import pypdf

        pages = len(pypdf.PdfReader(io.BytesIO(pdf)).pages)

        clone_demo(BATCH)
        batches = []
        for format in ("pdf", "docx"):
            directory = tmp / format
            directory.mkdir()
            batches.append(batch(format, directory))

    verdict = lambda seconds, limit: "✓" if seconds <= limit else "✗ 超出目标"  # noqa: E731
    lines = [
        SECTION,
        "",
        f"`.venv/bin/python bench/document_bench.py --write`，{date.today():%Y-%m-%d}。",
        f"机器：{machine()}。测量结束时系统 1 分钟平均负载 {os.getloadavg()[0]:.1f}（同机有其他任务时耗时会偏高）。",
        "字体：AR PL UMing（正文、标题、页码）、AR PL UKai（楷体小标题）、WenQuanYi Zen Hei（黑体标题），均为 Debian 软件包。",
        "",
        "| 项目 | 结果 | 目标 |",
        "|---|---|---|",
        f"| 演示说明 PDF（{pages} 页，含附件自评表），首次（含字体加载） | {pdf_cold:.2f} s {verdict(pdf_cold, 3)} | ≤ 3 s |",
        f"| 演示说明 PDF，再次渲染（{options.repeat} 次中位数） | {pdf_warm:.2f} s {verdict(pdf_warm, 3)} | ≤ 3 s |",
        f"| 演示说明 .docx，首次 | {docx_cold:.2f} s {verdict(docx_cold, 1)} | ≤ 1 s |",
        f"| 演示说明 .docx，再次渲染（{options.repeat} 次中位数） | {docx_warm:.3f} s {verdict(docx_warm, 1)} | ≤ 1 s |",
        f"| 读取一份自评（with_document_data） | {load * 1000:.0f} ms | |",
        f"| 文件大小 | PDF {len(pdf) / 1024:.0f} KiB，.docx {len(docx) / 1024:.0f} KiB | |",
        "",
        f"批量 `render_document --year 2024 --all`，{BATCH} 份（演示说明的副本），同一进程内依次运行；"
        "内存为进程常驻内存（RSS），每 50 ms 取样一次：",
        "",
        "| 格式 | 份数 | 总耗时 | 每份 | 开始前 | 第 10 份后 | 第 50 份后 | 全部完成后 | 进程峰值 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for b in batches:
        lines.append(
            f"| {b['format']} | {b['files']} | {b['seconds']:.1f} s | {b['seconds'] / b['files']:.2f} s | "
            f"{b['before']:.0f} MiB | {b['after_10']:.0f} MiB | {b['after_50']:.0f} MiB | {b['after_all']:.0f} MiB | "
            f"{b['peak']:.0f} MiB |"
        )
    lines += [
        "",
        "内存是否平稳：看第 10 份后与全部完成后的差值。命令逐份渲染、写盘后即释放，并以 20 份为一批预取数据"
        "（`iterator(chunk_size=20)`），不会随份数增长。",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if options.write:
        write_section(ROOT / "docs" / "benchmarks.md", report)


def write_section(path, report):
    """Replace our section (up to the next "## " heading) or append it; other sections stay as they are."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# 性能基准\n"
    start = text.find(SECTION)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + report
    else:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + report + (text[end + 1 :] if end != -1 else "")
    path.write_text(text, encoding="utf-8")
    print(f"已写入 {path}")


if __name__ == "__main__":
    main()
