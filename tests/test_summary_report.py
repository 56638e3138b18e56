"""The 汇总分析报告: built from the data; the figures read back from the Word and PDF files equal the database's."""

import datetime
import io
import re
import zipfile
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum
from django.utils import timezone

from evaluations import rechecks, scoring
from evaluations.models import Evaluation, IndicatorResult, Recheck, ReportNarrative, Unit
from tests.factories import load_demo
from tests.machine import PDF_UNAVAILABLE

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk_demo(settings):
    """The demo with its peers, one 复核 confirmed (石楼镇: two rows cut) and the bureau's own text."""
    from django.contrib.auth import get_user_model

    settings.DEBUG = True
    load_demo("--peers")
    User = get_user_model()
    drafter, second = User.objects.get(username="reviewer"), User.objects.get(username="reviewer2")
    evaluation = Evaluation.objects.get(unit__code="440113-SLZ", framework__year=2024)
    recheck = rechecks.draw(evaluation, by=drafter, reasons=["执行率低"])
    for name, score in (("服务对象满意度", "14"), ("巡查涉水污染源", "4")):
        rechecks.rescore(recheck, evaluation.results.get(name=name), by=drafter, score=score, note="佐证不足")
    rechecks.confirm(recheck, by=second, opinion="部分指标佐证不足。",
                     answer_deadline=timezone.localdate() + datetime.timedelta(days=7))
    ReportNarrative.objects.create(year=2024, part="problems", body="部分单位绩效目标设置偏低，偏差原因分析流于形式。")
    return recheck


def database_figures(year=2024):
    """What the database says, computed here independently of the report's code."""
    counted = Evaluation.objects.filter(framework__year=year).exclude(status__in=["draft", "returned"])
    finals = []
    for evaluation in counted.select_related("framework"):
        own = IndicatorResult.objects.filter(evaluation=evaluation).aggregate(t=Sum("score"))["t"] or 0
        recheck = Recheck.objects.filter(evaluation=evaluation, status__in=["confirmed", "answered", "closed"]).first()
        finals.append(recheck.total_score if recheck else scoring.quantize(own))
    grades = [scoring.grade(s) for s in finals]
    return {
        "units": Unit.objects.count(), "submitted": len(finals),
        "average": scoring.quantize(sum(finals) / len(finals)),
        "grades": {g: grades.count(g) for g in "优良中差"},
        "rechecks": Recheck.objects.filter(evaluation__framework__year=year, status="confirmed").count(),
    }


def figures_in(text):
    grades = dict(re.findall(r"“([优良中差])”\s*(\d+)\s*个", text.split("二、自评结果")[1].split("三、")[0]))
    return {
        "units": int(re.search(r"单位共\s*(\d+)\s*个", text).group(1)),
        "submitted": int(re.search(r"已提交自评\s*(\d+)\s*个", text).group(1)),
        "average": D(re.search(r"平均\s*([\d.]+)\s*分", text).group(1)),
        "grades": {g: int(n) for g, n in grades.items()},
        "rechecks": int(re.search(r"已确认复核结果\s*(\d+)\s*个", text).group(1)),
    }


def test_the_word_report_has_charts_and_the_databases_figures(desk_demo, tmp_path):
    path = tmp_path / "report.docx"
    call_command("summary_report", "--year", "2024", "--format", "docx", "-o", str(path), stderr=io.StringIO())
    with zipfile.ZipFile(path) as archive:
        pictures = [n for n in archive.namelist() if n.startswith("word/media/") and n.endswith(".png")]
        assert len(pictures) >= 3
    import docx

    document = docx.Document(str(path))
    assert len(document.inline_shapes) >= 3  # inline, not floating
    text = "\n".join(p.text for p in document.paragraphs)
    assert figures_in(text) == database_figures()
    assert figures_in(text)["rechecks"] == 1 and "自评得分高于复核得分（自评虚高）的 1 个，共核减 8 分" in text
    assert "部分单位绩效目标设置偏低" in text  # the bureau's own words follow the computed problems
    annex = document.tables[-1]
    rows = {r.cells[1].text: [c.text for c in r.cells] for r in annex.rows[1:]}
    assert rows["广州市番禺区石楼镇人民政府"][3:] == ["92.4", "优", "84.4", "良"]
    assert len(rows) == Unit.objects.count()


@pytest.mark.skipif(PDF_UNAVAILABLE, reason=PDF_UNAVAILABLE or "")
def test_the_pdf_report_reads_the_same(desk_demo, tmp_path):
    import pypdf

    path = tmp_path / "report.pdf"
    call_command("summary_report", "--year", "2024", "--format", "pdf", "-o", str(path), stderr=io.StringIO())
    reader = pypdf.PdfReader(str(path))
    text = "".join(page.extract_text() for page in reader.pages)
    text = re.sub(r"\s*\n\s*", "", text).replace("  ", " ")  # lines broken by the layout
    assert figures_in(text) == database_figures()
    assert sum(len(page.images) for page in reader.pages) >= 3


def test_unknown_year_is_refused_in_chinese(desk_demo):
    with pytest.raises(CommandError, match="没有 2019 年的指标体系。已有年度：2024、2023"):
        call_command("summary_report", "--year", "2019", "-o", "/tmp/unused.docx")


def test_a_long_annex_is_streamed_into_the_word_file_with_the_same_rows(desk_demo, tmp_path, monkeypatch):
    import docx

    from evaluations.documents import summary

    monkeypatch.setattr(summary, "STREAMED_ROWS", 2)  # the demo's 9 units then take the streamed path
    report = summary.build_summary(Unit.objects.all(), 2024)
    drawn = [[c.text for c in row.cells] for row in report.tables[-1].rows]
    path = tmp_path / "streamed.docx"
    path.write_bytes(summary.render_docx(report))
    annex = docx.Document(str(path)).tables[-1]
    assert [[c.text for c in r.cells] for r in annex.rows[1:]] == drawn
    assert [c.text for c in annex.rows[0].cells] == report.tables[-1].columns


def page_number_at(page):
    """The page number printed at the foot of a PDF page and the side it is on ("left" / "right")."""
    found = []

    def visit(text, cm, tm, font, size):
        y = cm[5] + tm[5] * cm[3]
        if text.strip() and y < 90:  # below the 版心 (35 mm bottom margin: about 99 points)
            found.append((cm[4] + tm[4] * cm[0], text))

    page.extract_text(visitor_text=visit)
    text = "".join(t for _x, t in found)
    number = int(re.search(r"—\s*(\d+)\s*—", text).group(1))
    width = float(page.mediabox.width)
    return number, "right" if min(x for x, _t in found) > width / 2 else "left"


@pytest.mark.skipif(PDF_UNAVAILABLE, reason=PDF_UNAVAILABLE or "")
def test_a_long_annex_is_printed_in_parts_joined_with_pages_numbered_on(desk_demo, monkeypatch):
    """At 10,000 units the annex is printed 400 rows at a time; here 3 (the demo's 9 units: three parts)."""
    import pypdf

    from evaluations.documents import summary

    report = summary.build_summary(Unit.objects.all(), 2024)
    whole = pypdf.PdfReader(io.BytesIO(summary.render_pdf(report)))
    monkeypatch.setattr(summary, "PDF_PART_ROWS", 3)
    assert len(summary.pdf_parts(report)) == 3
    reader = pypdf.PdfReader(io.BytesIO(summary.render_pdf(report)))
    pages = [page.extract_text() for page in reader.pages]
    text = re.sub(r"\s*\n\s*", "", "".join(pages)).replace("  ", " ")
    assert figures_in(text) == database_figures()
    assert sum(len(page.images) for page in reader.pages) >= 3
    # Every unit of the annex once, in the annex's order, after the annex's heading.
    annex = text[text.index("附件：各单位自评及复核结果"):]
    names = [row.cells[1].text for row in report.tables[-1].rows]
    positions = [annex.index(name) for name in names]
    assert positions == sorted(positions) and all(annex.count(name) == 1 for name in set(names) if name != "广州市番禺区人民政府")
    # Numbered on across the parts, odd pages at the right and even ones at the left (GB/T 9704); no blank page.
    assert [page_number_at(page) for page in reader.pages] == [
        (n, "right" if n % 2 else "left") for n in range(1, len(reader.pages) + 1)]
    assert all(page.strip() for page in pages)
    assert len(reader.pages) >= len(whole.pages)


@pytest.mark.skipif(PDF_UNAVAILABLE, reason=PDF_UNAVAILABLE or "")
def test_the_background_build_records_its_progress_and_the_status_page_shows_it(desk_demo, monkeypatch, tmp_path):
    from django.contrib.auth import get_user_model
    from django.test import Client

    from evaluations.documents import summary
    from reports.models import ExportJob
    from reports.tasks import write_report

    reviewer = get_user_model().objects.get(username="reviewer")
    job = ExportJob.objects.create(kind=ExportJob.Kind.REPORT_PDF, year=2024, requested_by=reviewer,
                                   status=ExportJob.Status.RUNNING)
    seen = []
    monkeypatch.setattr(summary, "PDF_PART_ROWS", 3)  # three parts, then the numbering
    monkeypatch.setattr(ExportJob, "set_progress", lambda self, p, _set=ExportJob.set_progress: (
        seen.append(int(p)), _set(self, p)))
    write_report(job, tmp_path / "report.pdf")
    assert seen == sorted(seen) and len(set(seen)) >= 4 and seen[0] == 10 and seen[-1] == 99
    job.refresh_from_db()
    assert job.progress == 99  # stored as it went: what the status page reads

    ExportJob.objects.filter(pk=job.pk).update(progress=40)
    client = Client()
    client.force_login(reviewer)
    html = client.get(f"/reports/exports/{job.pk}/").content.decode()
    assert "正在生成（已完成 40%）" in html and "下载" not in html.split("export-status")[1].split("</dd>")[0]
    job.refresh_from_db()
    job.mark_done(9)
    html = client.get(f"/reports/exports/{job.pk}/").content.decode()
    assert "已完成 40%" not in html and "已完成" in html
