"""The .docx 说明 and the official .xlsx opened as an office suite opens them (issue 14). LibreOffice, headless, is
the stand-in for WPS and Word here: each file is turned into a PDF, whose text is read back with pypdf, and saved
again in its own format, whose tables and merged cells are compared with ours. Widths are explicit, never autofit.

Where LibreOffice is not installed these tests skip, saying so; CI installs it (.ci/run) and there they must run.
"""

import os
import re
import shutil
import subprocess

import docx
import pypdf
import pytest
from docx.oxml.ns import qn
from openpyxl import load_workbook

from evaluations.documents.html_pdf import render_html
from evaluations.documents.outline import build_document
from evaluations.documents.word import render_docx
from evaluations.models import Evaluation
from evaluations.spreadsheets.official import official_workbook
from tests.seed import html_paragraphs, normalise

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
_absent = pytest.mark.skipif(
    SOFFICE is None and not os.environ.get("CI"),
    reason="未安装 LibreOffice（apt-get install libreoffice-writer-nogui libreoffice-calc-nogui），"
           "无法检查 Word/Excel 文件在办公软件中打开的效果；CI 会安装并运行",
)


def needs_libreoffice(test):
    """Runs soffice (another process, several seconds): skipped where absent, left out of `make test-fast`."""
    return pytest.mark.multiprocess(_absent(test))
PAGE_NUMBER = re.compile(r"—\d+—|第\d+页，共\d+页")


def loaded(evaluation):
    return Evaluation.objects.with_document_data().get(pk=evaluation.pk)


def libreoffice(path, to, tmp_path):
    """`soffice --convert-to` in a profile of its own (two runs at once would share and lock the default one)."""
    assert SOFFICE, "未找到 soffice：CI 须安装 LibreOffice（.ci/run）"
    out = tmp_path / f"out-{to.split(':')[0]}"
    out.mkdir(exist_ok=True)
    done = subprocess.run(
        [SOFFICE, f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}", "--headless", "--norestore",
         "--convert-to", to, "--outdir", str(out), str(path)],
        capture_output=True, text=True, timeout=240, check=False,
    )
    converted = out / f"{path.stem}.{to.split(':')[0]}"
    assert converted.exists(), f"LibreOffice 未能转换 {path.name}：{done.stdout}{done.stderr}"
    return converted


def pdf_text(path):
    return PAGE_NUMBER.sub("", "".join(normalise(page.extract_text()) for page in pypdf.PdfReader(path).pages))


@pytest.fixture
def word_file(demo, tmp_path):
    path = tmp_path / "说明.docx"
    path.write_bytes(render_docx(loaded(demo)))
    return path


@pytest.fixture
def workbook_file(demo, tmp_path):
    path = tmp_path / "自评表.xlsx"
    official_workbook(loaded(demo)).save(path)
    return path


# --- The .docx ------------------------------------------------------------------------------------------------


@needs_libreoffice
def test_word_document_reads_in_libreoffice_as_the_html_page(demo, word_file, tmp_path):
    text = pdf_text(libreoffice(word_file, "pdf", tmp_path))
    body, appendix = text.split("附件", 1)
    paragraphs = [normalise(p) for p in html_paragraphs(render_html(loaded(demo)))]
    # LibreOffice sets the quotation marks in a face of their own where the document's Chinese faces are missing,
    # and pypdf reads such runs out of place: the text is compared without them, and the marks counted.
    expected = "".join(paragraphs)
    assert body.count('"') == expected.count('"')
    body, expected = body.replace('"', ""), expected.replace('"', "")
    if body != expected:
        i = next((n for n, (a, b) in enumerate(zip(body, expected, strict=False)) if a != b), min(len(body), len(expected)))
        raise AssertionError(f"第 {i} 字起不同：\nLibreOffice：{body[i - 20:i + 40]}\n网页：{expected[i - 20:i + 40]}")
    # The appendix: every cell of both tables, in the order of the page, nothing lost or cut.
    position = 0
    for table in build_document(loaded(demo)).tables:
        for cell in [*table.columns, *(c.text for row in table.rows for c in row.cells)]:
            found = appendix.find(normalise(cell), position)
            assert found >= 0, f"LibreOffice 打开的 Word 附件中缺少或顺序不对：{cell!r}"
            position = found + len(normalise(cell))


@needs_libreoffice
def test_word_page_numbers_sit_at_the_outside_edge_in_libreoffice(word_file, tmp_path):
    """GB/T 9704 as in the PDF: odd pages numbered at the right, even pages at the left (odd and even footers)."""
    pages = pypdf.PdfReader(libreoffice(word_file, "pdf", tmp_path)).pages
    assert len(pages) >= 4
    for n, page in enumerate(pages, start=1):
        found = []

        def visit(text, cm, tm, font, size, found=found, n=n):
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            if text.strip() == str(n) and y < 120:  # in the footer, not a figure of the text
                found.append(tm[4] * cm[0] + tm[5] * cm[2] + cm[4])

        page.extract_text(visitor_text=visit)
        assert found, f"第 {n} 页没有页码"
        width = float(page.mediabox.width)
        if n % 2:
            assert found[-1] > width * 0.6, f"第 {n} 页（单页）页码应在右侧"
        else:
            assert found[-1] < width * 0.4, f"第 {n} 页（双页）页码应在左侧"


def merge_pattern(table):
    """Each row as (text, columns spanned, vertical merge) per cell, as the file states it."""
    rows = []
    for tr in table._tbl.tr_lst:
        cells = []
        for tc in tr.tc_lst:
            v_merge = tc.tcPr.find(qn("w:vMerge")) if tc.tcPr is not None else None
            state = None if v_merge is None else (v_merge.get(qn("w:val")) or "continue")
            cells.append((normalise("".join(t.text or "" for t in tc.iter(qn("w:t")))), tc.grid_span, state))
        rows.append(cells)
    return rows


def grid_widths(table):
    return [int(col.get(qn("w:w"))) for col in table._tbl.tblGrid.findall(qn("w:gridCol"))]


@needs_libreoffice
def test_word_tables_keep_their_merged_cells_and_column_widths_in_libreoffice(word_file, tmp_path):
    ours = docx.Document(str(word_file)).tables
    saved = docx.Document(str(libreoffice(word_file, "docx:MS Word 2007 XML", tmp_path))).tables
    assert len(saved) == len(ours) == 2
    for mine, theirs in zip(ours, saved, strict=True):
        assert merge_pattern(theirs) == merge_pattern(mine)
        for want, got in zip(grid_widths(mine), grid_widths(theirs), strict=True):
            assert abs(got - want) <= max(2, want * 0.01), (grid_widths(mine), grid_widths(theirs))


def test_word_tables_state_their_widths_and_never_autofit(word_file):
    """WPS and LibreOffice size a table by its content unless the file fixes the layout and every width."""
    tables = docx.Document(str(word_file)).tables
    for table in tables:
        properties = table._tbl.tblPr
        assert properties.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
        width = properties.find(qn("w:tblW"))
        assert width.get(qn("w:type")) == "dxa"
        assert int(width.get(qn("w:w"))) == sum(grid_widths(table))
        for tr in table._tbl.tr_lst:
            for tc in tr.tc_lst:
                assert tc.tcPr.find(qn("w:tcW")).get(qn("w:type")) == "dxa"


# --- The official .xlsx ---------------------------------------------------------------------------------------


@needs_libreoffice
def test_official_workbook_shows_every_text_in_libreoffice(demo, workbook_file, tmp_path):
    """Every text the workbook holds is printed whole (rows tall enough for wrapped text), and the scores."""
    text = pdf_text(libreoffice(workbook_file, "pdf", tmp_path))
    sheet = load_workbook(workbook_file).active
    missing = [f"{cell.coordinate}：{cell.value}" for row in sheet.iter_rows() for cell in row
               if isinstance(cell.value, str) and normalise(cell.value) not in text]
    assert not missing, "LibreOffice 打开的自评表中看不到（被截断或遮住）：\n" + "\n".join(missing)
    for figure in ("50,000.00", "96.60%", "94.96", "44.96"):
        assert figure in text


@needs_libreoffice
def test_official_workbook_keeps_its_merged_cells_in_libreoffice(workbook_file, tmp_path):
    ours = load_workbook(workbook_file).active
    saved = load_workbook(libreoffice(workbook_file, "xlsx:Calc MS Excel 2007 XML", tmp_path)).active
    assert {str(r) for r in saved.merged_cells.ranges} == {str(r) for r in ours.merged_cells.ranges}
    values = [[c.value for c in row] for row in ours.iter_rows()]
    assert [[c.value for c in row] for row in saved.iter_rows(max_row=len(values))] == values


def test_official_workbook_rows_are_tall_enough_for_their_text(demo):
    sheet = official_workbook(loaded(demo)).active
    row = next(r for r in sheet.iter_rows() if r[2].value == "预算调整率")[0].row
    assert sheet.row_dimensions[row].height >= 3 * 15  # its 偏差原因 wraps to three lines or more

