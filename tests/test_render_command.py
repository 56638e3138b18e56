"""render_document writes the 说明 as HTML, PDF or Word, for one unit or for every evaluation of a year."""

import io
import os

import docx
import pypdf
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import make_evaluation, make_framework, make_unit
from tests.seed import normalise
from tests.test_documents import SCORE_SENTENCE
from tests.test_pdf import needs_weasyprint

DEMO_FILE = "440113-HLZ_2024年广州市番禺区化龙镇人民政府自评表说明"


def render(*args):
    stderr = io.StringIO()
    call_command("render_document", *args, stderr=stderr)
    return stderr.getvalue()


def test_docx_to_a_file(demo, tmp_path):
    out = tmp_path / "说明.docx"
    assert f"已写入 {out}" in render("--unit", "440113-HLZ", "--year", "2024", "--format", "docx", "-o", str(out))
    assert SCORE_SENTENCE in [p.text for p in docx.Document(out).paragraphs][5]


@needs_weasyprint
def test_pdf_to_a_file(demo, tmp_path):
    out = tmp_path / "说明.pdf"
    render("--unit", "广州市番禺区化龙镇人民政府", "--year", "2024", "--format", "pdf", "-o", str(out))
    assert out.read_bytes().startswith(b"%PDF-")
    assert normalise(SCORE_SENTENCE) in normalise(pypdf.PdfReader(out).pages[0].extract_text())


def test_binary_format_without_output_is_named_after_the_unit(demo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    render("--unit", "440113-HLZ", "--year", "2024", "--format", "docx")
    assert os.listdir(tmp_path) == [f"{DEMO_FILE}.docx"]


def test_pdf_without_weasyprint_says_how_to_install(demo, monkeypatch):
    monkeypatch.setattr(
        "evaluations.documents.html_pdf.pdf_unavailable_reason", lambda: "无法生成 PDF：系统未安装中文字体。请按 README 运行 make deps-debian。"
    )
    with pytest.raises(CommandError, match="make deps-debian"):
        render("--unit", "440113-HLZ", "--year", "2024", "--format", "pdf", "-o", "x.pdf")


@pytest.fixture
def year_of_three(demo):
    """The demo, a unit whose name would be unsafe as a file name, and an evaluation of another year."""
    make_evaluation(unit=make_unit(name="测试/单位:甲*乙?", code="T/1"), framework=make_framework(2024))
    make_evaluation(unit=make_unit(name="去年的单位"), framework=make_framework(2023))
    return demo


def test_all_writes_one_file_per_evaluation_of_the_year(year_of_three, tmp_path):
    out = tmp_path / "2024年说明"
    log = render("--year", "2024", "--all", "--format", "docx", "-o", str(out))
    assert sorted(os.listdir(out)) == [f"{DEMO_FILE}.docx", "T_1_2024年测试_单位_甲_乙自评表说明.docx"]
    assert "共写入 2 份说明" in log
    titles = sorted(docx.Document(out / name).paragraphs[0].text for name in os.listdir(out))
    assert titles == [
        "2024年广州市番禺区化龙镇人民政府部门整体支出绩效自评表说明",
        "2024年测试/单位:甲*乙?部门整体支出绩效自评表说明",
    ]


@needs_weasyprint
def test_all_as_pdf(year_of_three, tmp_path):
    render("--year", "2024", "--all", "--format", "pdf", "-o", str(tmp_path))
    files = sorted(tmp_path.iterdir())
    assert [f.suffix for f in files] == [".pdf", ".pdf"]
    first_pages = sorted(normalise(pypdf.PdfReader(f).pages[0].extract_text()) for f in files)
    assert first_pages[0].startswith("2024年广州市番禺区化龙镇人民政府")
    assert first_pages[1].startswith(normalise("2024年测试/单位:甲*乙?"))


def test_all_needs_an_output_directory(demo):
    with pytest.raises(CommandError, match="请用 -o 指定输出目录"):
        render("--year", "2024", "--all", "--format", "docx")


def test_all_refuses_a_file_as_the_directory(demo, tmp_path):
    file = tmp_path / "file.txt"
    file.write_text("x")
    with pytest.raises(CommandError, match="不是目录"):
        render("--year", "2024", "--all", "--format", "docx", "-o", str(file))


def test_all_for_a_year_without_evaluations_says_so(demo, tmp_path):
    with pytest.raises(CommandError, match="2019年没有任何自评"):
        render("--year", "2019", "--all", "--format", "docx", "-o", str(tmp_path))


def test_unit_and_all_are_exclusive(demo, tmp_path):
    with pytest.raises(CommandError, match="not allowed with"):
        render("--unit", "440113-HLZ", "--year", "2024", "--all", "-o", str(tmp_path))
