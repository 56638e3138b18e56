"""The 说明 as Word: read back with python-docx, it says what the HTML says, in the 公文 fonts and layout."""

import io
from decimal import Decimal

import docx
import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.test import RequestFactory
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

from evaluations.documents import views as document_views
from evaluations.documents.html_pdf import render_html
from evaluations.documents.word import DOCX_TYPE, render_docx
from evaluations.models import Evaluation
from tests.factories import from_the_demo, make_user
from tests.seed import html_paragraphs, normalise
from tests.test_documents import SCORE_SENTENCE, assert_same_as_seed


def loaded(evaluation):
    return Evaluation.objects.with_document_data().get(pk=evaluation.pk)


def read(content):
    return docx.Document(io.BytesIO(content))


def body_paragraphs(word):
    """The 说明's paragraphs in order, up to the appendix (as tests/seed.py reads the HTML)."""
    paragraphs = []
    for paragraph in word.paragraphs:
        if paragraph.text == "附件":
            break
        if paragraph.text.strip():
            paragraphs.append(paragraph)
    return paragraphs


def east_asian_font(run):
    return run._r.rPr.rFonts.get(qn("w:eastAsia"))


@pytest.fixture(scope="module")
def demo_word(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo's Word file, rendered once for the tests that read it back (the demo is the same in every test)."""
    return read(from_the_demo(django_db_blocker, tmp_path_factory, render_docx))


@pytest.fixture
def word(db, demo_word):
    # `db`: pytest-django runs these with the other database tests, before any transactional test empties the tables.
    return demo_word


def test_docx_has_the_same_paragraphs_as_the_html(demo, word):
    texts = [p.text for p in body_paragraphs(word)]
    assert [normalise(t) for t in texts] == [normalise(t) for t in html_paragraphs(render_html(loaded(demo)))]
    assert_same_as_seed(texts)
    assert SCORE_SENTENCE in texts[5]


def test_docx_score_sentence_follows_the_data(demo):
    row = demo.results.get(name="预算编制科学性")
    row.score = Decimal("3")
    row.save()
    texts = [p.text for p in body_paragraphs(read(render_docx(loaded(demo))))]
    assert texts[5].startswith("2024年广州市番禺区化龙镇人民政府自评综合得分为 93.96分，自评结果为“优”。")
    assert SCORE_SENTENCE not in "".join(texts)


def test_docx_runs_carry_the_east_asian_font_names(word):
    paragraphs = body_paragraphs(word)
    fonts = {p.text: {east_asian_font(r) for r in p.runs} for p in paragraphs}
    assert fonts[paragraphs[0].text] == {"方正小标宋简体"}
    assert fonts["一、绩效自评情况"] == {"黑体"}
    assert fonts["（一）部门整体支出绩效目标"] == {"楷体_GB2312"}
    assert fonts[paragraphs[3].text] == {"仿宋_GB2312"}
    assert all(east_asian_font(r) for p in paragraphs for r in p.runs), "每个文字块都应指定中文字体"
    normal = word.styles["Normal"].element.rPr.rFonts
    assert normal.get(qn("w:eastAsia")) == "仿宋_GB2312"


def test_docx_is_laid_out_as_an_official_document(word):
    section = word.sections[0]
    mm = [round(length.mm, 1) for length in (section.page_width, section.page_height)]
    assert mm == [210, 297]  # A4
    margins = (section.top_margin, section.bottom_margin, section.left_margin, section.right_margin)
    assert [round(m.mm, 1) for m in margins] == [37, 35, 28, 26]
    normal = word.styles["Normal"].paragraph_format
    assert Pt(28) <= normal.line_spacing <= Pt(29)
    assert normal.first_line_indent == Pt(32)  # two 16 pt characters
    ind = word.styles["Normal"].element.pPr.ind
    assert ind.get(qn("w:firstLineChars")) == "200"
    assert word.styles["公文标题"].element.pPr.ind.get(qn("w:firstLineChars")) == "0"
    assert word.styles["Normal"].font.size == Pt(16)
    # Page numbers at the outside edge (GB/T 9704): odd pages right, even pages left.
    assert word.settings.odd_and_even_pages_header_footer
    for footer, side in ((section.footer, WD_ALIGN_PARAGRAPH.RIGHT), (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)):
        paragraph = footer.paragraphs[0]
        assert "PAGE" in "".join(paragraph._p.itertext())
        assert paragraph.text.startswith("— ") and paragraph.text.endswith(" —")
        assert paragraph.alignment == side


def test_docx_appendix_is_the_scored_table_on_a_landscape_page(demo, word):
    appendix = word.sections[1]
    assert appendix.page_width > appendix.page_height
    texts = [p.text for p in word.paragraphs]
    assert texts[texts.index("附件") + 1] == "2024年广州市番禺区化龙镇人民政府部门整体支出绩效自评表"

    budget, indicators = word.tables
    assert [c.text for c in budget.rows[1].cells] == ["年度资金总额", "50,000.00", "58,700.00", "56,704.20", "96.60%"]

    rows = [[c.text for c in row.cells] for row in indicators.rows]
    assert rows[0][:3] == ["一级指标", "二级指标", "三级指标"]
    assert rows[-1][0] == "综合得分" and rows[-1][-3:] == ["100", "94.96", "自评结果：优"]
    card = loaded(demo).scorecard()
    budget_execution = next(r for r in rows if r[2] == "预算执行率")
    assert budget_execution[8] == str(next(s.score for s in card.rows if s.row.name == "预算执行率"))
    subtotals = [r for r in rows if r[2] == "小计"]
    assert [r[8] for r in subtotals] == [str(c.score) for c in card.categories]
    totals = [r for r in rows if r[0].endswith("合计")]
    assert [(r[0], r[8]) for r in totals] == [("履职效能合计", "50.00"), ("管理效率合计", "44.96")]
    # The 一级 cell spans its rows: merged, not repeated in every row.
    assert indicators.rows[1].cells[0]._tc is indicators.rows[2].cells[0]._tc


def test_download_docx_view(demo):
    request = RequestFactory().get("/")
    request.user = demo.unit.members.get(username="filler")
    response = document_views.evaluation_docx(request, demo.pk)
    assert response.status_code == 200
    assert response["Content-Type"] == DOCX_TYPE
    assert "attachment" in response["Content-Disposition"]
    assert "filename*=utf-8''440113-HLZ_2024" in response["Content-Disposition"]
    word = read(b"".join(response.streaming_content))
    assert SCORE_SENTENCE in word.paragraphs[5].text


def test_download_docx_of_another_unit_is_404(demo):
    request = RequestFactory().get("/")
    request.user = make_user("填报人")
    with pytest.raises(Http404):
        document_views.evaluation_docx(request, demo.pk)


def test_download_docx_requires_login(demo):
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    response = document_views.evaluation_docx(request, demo.pk)
    assert response.status_code == 302 and "login" in response["Location"]
