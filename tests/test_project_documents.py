"""Each project's 项目支出绩效自评表 printed on the national layout: render_document --projects writes one file per
project, with the national headings in order and a 总分 that is the sum of its rows, in HTML, PDF and Word alike."""

import io
import re
from decimal import Decimal as D
from html.parser import HTMLParser

import docx
import pypdf
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from evaluations.documents import html_pdf
from evaluations.models import Project
from tests.seed import normalise
from tests.test_pdf import needs_weasyprint

NATIONAL_HEADINGS = [
    "项目名称", "主管部门", "实施单位", "项目资金", "年初预算数", "全年预算数", "全年执行数", "执行率", "年度总体目标",
    "预期目标", "实际完成情况", "一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分",
    "偏差原因分析及改进措施", "总分",
]


def render(*args):
    stderr = io.StringIO()
    call_command("render_document", *args, stderr=stderr)
    return stderr.getvalue()


def render_projects(tmp_path, format):
    render("--unit", "440113-HLZ", "--year", "2024", "--projects", "--format", format, "-o", str(tmp_path))
    return sorted(tmp_path.iterdir())


def assert_in_order(text, headings=NATIONAL_HEADINGS):
    """Each heading found after the one before it."""
    position = 0
    for heading in headings:
        found = text.find(heading, position)
        assert found >= 0, f"“{heading}”不在“{headings[headings.index(heading) - 1]}”之后"
        position = found + len(heading)


class GridReader(HTMLParser):
    """The table as a grid of cell texts, spans expanded (what a reader of the printed sheet sees)."""

    def __init__(self):
        super().__init__()
        self.grid, self.taken, self.row, self.cell, self.span = [], {}, -1, None, (1, 1)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr":
            self.row += 1
            self.grid.append([])
        elif tag in ("td", "th"):
            self.cell, self.span = [], (int(attrs.get("rowspan", 1)), int(attrs.get("colspan", 1)))

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            text = "".join(self.cell).strip()
            col = 0
            while (self.row, col) in self.taken:
                col += 1
            rowspan, colspan = self.span
            for dr in range(rowspan):
                for dc in range(colspan):
                    self.taken[(self.row + dr, col + dc)] = text
            self.cell = None

    def rows(self):
        width = max(c for _, c in self.taken) + 1
        return [[self.taken.get((r, c), "") for c in range(width)] for r in range(self.row + 1)]


def grid_of(html):
    reader = GridReader()
    reader.feed(html)
    return reader.rows()


def scores_of(grid):
    """(总分, execution score + every indicator row's 得分) read off the printed grid."""
    funds_header = next(r for r in grid if "年初预算数" in r)
    total_funds = next(r for r in grid if r[1] == "年度资金总额")
    execution = D(total_funds[funds_header.index("得分")])
    header_at = next(i for i, r in enumerate(grid) if "三级指标" in r)
    score_col = grid[header_at].index("得分")
    total_at = next(i for i, r in enumerate(grid) if r[1] == "总分")
    rows = [D(r[score_col]) for r in grid[header_at + 1 : total_at]]
    return D(grid[total_at][score_col]), execution + sum(rows), len(rows)


def test_one_html_file_per_project_with_the_national_headings_in_order(demo, tmp_path):
    files = render_projects(tmp_path, "html")
    assert len(files) == 3 == Project.objects.filter(evaluation=demo).count()
    for path in files:
        html = path.read_text(encoding="utf-8")
        text = normalise(re.sub(r"<[^>]+>", " ", html.split("<body", 1)[1]))
        assert "项目支出绩效自评表(2024年度)" in text
        assert_in_order(text)


def test_each_total_is_the_sum_of_its_rows(demo, tmp_path):
    cards = {p.name: p.scorecard() for p in Project.objects.with_table_data().filter(evaluation=demo)}
    for path in render_projects(tmp_path, "html"):
        grid = grid_of(path.read_text(encoding="utf-8"))
        name = next(r for r in grid if r[0] == "项目名称")[1]
        total, summed, count = scores_of(grid)
        assert total == summed == cards[name].total
        assert count == len(cards[name].rows) == 7


def test_the_missed_targets_print_their_scores_and_reasons(demo, tmp_path):
    river = next(p for p in render_projects(tmp_path, "html") if "河涌" in p.name)
    grid = grid_of(river.read_text(encoding="utf-8"))
    dredging = next(r for r in grid if r[3] == "河涌清淤长度")
    assert dredging[2:10] == ["数量指标", "河涌清淤长度", "≥", "8", "公里", "6.8", "15", "12.75"]
    assert dredging[1].startswith("产出指标") and "汛期" in dredging[10]
    assert next(r for r in grid if r[1] == "总分")[8:] == ["100", "96.08", "自评结果：优"]


def test_a_capped_total_says_which_cap_applied(demo):
    pf = demo.framework.project_framework
    pf.execution_caps_enabled = True
    pf.save()
    project = Project.objects.with_table_data().get(name="化龙镇老旧小区微改造项目")
    project.evaluation.framework.project_framework.execution_caps = [[90, 95]]
    html = html_pdf.render_project_html(project)
    assert "执行率 85.00%，低于 90%，总分最高 95 分（各项得分合计 98.5 分）" in html
    total, summed, _ = scores_of(grid_of(html))
    assert (total, summed) == (D("95.00"), D("98.50"))


def test_word_has_the_same_grid(demo, tmp_path):
    files = render_projects(tmp_path, "docx")
    assert len(files) == 3
    for path in files:
        table = docx.Document(path).tables[0]
        seen, cells = set(), []
        for row in table.rows:
            for cell in row.cells:
                if cell._tc not in seen:  # a merged cell is returned once per grid place
                    seen.add(cell._tc)
                    cells.append(cell.text)
        assert_in_order(normalise("".join(cells)))


@needs_weasyprint
def test_pdf_reads_back_the_same_headings_and_total(demo, tmp_path):
    files = render_projects(tmp_path, "pdf")
    assert len(files) == 3
    for path in files:
        reader = pypdf.PdfReader(path)
        assert len(reader.pages) == 1
        assert reader.pages[0].mediabox.width > reader.pages[0].mediabox.height  # landscape A4
        text = normalise("".join(page.extract_text() for page in reader.pages))
        assert_in_order(text)
        html = html_pdf.render_project_html(
            Project.objects.with_table_data().get(code=path.name.split("_")[2])
        )
        for row in grid_of(html):
            for cell in row:
                assert normalise(cell) in text


def test_projects_need_an_output_directory_and_existing_projects(demo, tmp_path):
    with pytest.raises(CommandError, match="请用 -o 指定输出目录"):
        render("--unit", "440113-HLZ", "--year", "2024", "--projects")
    with pytest.raises(CommandError, match="2023年没有任何项目支出绩效自评表"):
        render("--unit", "440113-HLZ", "--year", "2023", "--projects", "-o", str(tmp_path))
    with pytest.raises(CommandError, match="xlsx 格式只用于项目支出绩效自评表"):
        render("--unit", "440113-HLZ", "--year", "2024", "--format", "xlsx", "-o", str(tmp_path / "a.xlsx"))


@pytest.mark.archive
@needs_weasyprint
def test_approval_archives_each_project_and_verify_finds_it(demo, settings, tmp_path):
    from django.test import Client

    from evaluations import access, workflow
    from evaluations.models import ArchivedProjectDocument
    from tests.factories import make_user

    settings.MEDIA_ROOT = tmp_path / "media"
    filler = make_user(access.FILLER, units=[demo.unit])
    reviewer = make_user(access.REVIEWER, charge=demo.unit)
    workflow.submit(demo, by=filler)
    workflow.approve(demo, by=reviewer)
    archives = list(ArchivedProjectDocument.objects.filter(evaluation=demo).select_related("project"))
    assert len(archives) == 3
    river = next(a for a in archives if a.project.code == "HLZ-2024-003")
    client = Client()
    client.login(username="filler", password="demo-filler-2024")
    page = client.get(f"/evaluations/projects/{river.project_id}/").content.decode()
    assert river.sha256 in page
    response = client.get(f"/evaluations/projects/{river.project_id}/archive/{river.pk}.pdf")
    downloaded = tmp_path / "项目.pdf"
    downloaded.write_bytes(b"".join(response.streaming_content))
    out = io.StringIO()
    call_command("verify_document", str(downloaded), stdout=out)
    assert "项目“化龙镇河涌水环境综合整治项目”的项目支出绩效自评表" in out.getvalue()
    downloaded.write_bytes(downloaded.read_bytes()[:-10])
    with pytest.raises(CommandError, match="不一致"):
        call_command("verify_document", str(downloaded))


def test_all_with_projects_writes_every_project_of_the_year(demo, tmp_path):
    from tests.factories import make_evaluation, make_project

    make_project(make_evaluation(), name="另一单位的项目")
    render("--all", "--year", "2024", "--projects", "--format", "docx", "-o", str(tmp_path))
    assert len(list(tmp_path.iterdir())) == 4
