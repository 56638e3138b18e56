"""The 说明 as PDF: read back with pypdf, it says what the HTML says, in embedded Chinese fonts, on A4 pages with
page numbers, and its renderer fetches nothing but our static files and data: URLs."""

import base64
import io
import re
import socket
import urllib.request
from decimal import Decimal

import pypdf
import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.test import RequestFactory
from PIL import Image

from evaluations.documents import views as document_views
from evaluations.documents.html_pdf import (
    DOCUMENT_BASE_URL,
    PDF_TYPE,
    RefusedURL,
    fetch_document_resource,
    html_to_pdf,
    render_html,
    render_pdf,
)
from evaluations.models import Evaluation
from tests.factories import from_the_demo, make_user
from tests.machine import PDF_UNAVAILABLE
from tests.seed import html_paragraphs, normalise
from tests.test_documents import SCORE_SENTENCE

# A user's fresh machine may lack Pango or Chinese fonts: skip, saying what to install (tests/machine.py).
needs_weasyprint = pytest.mark.skipif(bool(PDF_UNAVAILABLE), reason=f"{PDF_UNAVAILABLE}（CI 会安装，见 .ci/run）")
# Families of Chinese-capable fonts: the Debian ones we install and the Windows / WPS ones named first in print.css.
CJK_FONT = re.compile(
    r"AR-?PL|WenQuanYi|Noto-?S(ans|erif)-?CJK|SourceHan|FangSong|SimSun|SimHei|KaiTi|FZ|STZhongsong|STKaiti|"
    r"仿宋|宋体|黑体|楷体|方正",
    re.IGNORECASE,
)
PAGE_NUMBER = re.compile(r"—\d+—")


def loaded(evaluation):
    return Evaluation.objects.with_document_data().get(pk=evaluation.pk)


def pages_text(pdf):
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def body_text(pdf):
    """The 说明 up to the appendix, normalised as the seed comparison does, without the page numbers."""
    text = "".join(normalise(t) for t in pages_text(pdf))
    return PAGE_NUMBER.sub("", text.split("附件")[0])


def fonts_of(pdf):
    """(name, embedded) for every font the pages use, descending into CID fonts."""
    fonts = set()
    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"].get("/Font", {}).values():
            font = font.get_object()
            for part in [font, *(f.get_object() for f in font.get("/DescendantFonts", []))]:
                descriptor = part.get("/FontDescriptor")
                if descriptor is not None:
                    descriptor = descriptor.get_object()
                    embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
                    fonts.add((str(part["/BaseFont"]).split("+")[-1], embedded))
    return fonts


def images_in(pdf):
    count = 0
    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        for xobject in page["/Resources"].get("/XObject", {}).values():
            count += xobject.get_object()["/Subtype"] == "/Image"
    return count


@pytest.fixture(scope="module")
def demo_pdf(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo's PDF, rendered once for the tests that read it back (the demo is the same in every test)."""
    return from_the_demo(django_db_blocker, tmp_path_factory, render_pdf)


@pytest.fixture
def pdf(db, demo_pdf):
    # `db`: pytest-django runs these with the other database tests, before any transactional test empties the tables.
    return demo_pdf


@needs_weasyprint
def test_pdf_has_the_same_paragraphs_as_the_html(demo, pdf):
    paragraphs = [normalise(p) for p in html_paragraphs(render_html(loaded(demo)))]
    text = body_text(pdf)
    assert text == "".join(paragraphs)
    position = 0
    for paragraph in paragraphs:  # each paragraph whole and in order
        found = text.find(paragraph, position)
        assert found == position, paragraph
        position += len(paragraph)
    assert normalise(SCORE_SENTENCE) in text


@needs_weasyprint
def test_pdf_score_sentence_follows_the_data(demo):
    row = demo.results.get(name="预算编制科学性")
    row.score = Decimal("3")
    row.save()
    text = body_text(render_pdf(loaded(demo)))
    assert normalise("自评综合得分为 93.96分，自评结果为“优”。") in text
    assert normalise(SCORE_SENTENCE) not in text


@needs_weasyprint
def test_pdf_embeds_only_chinese_fonts(pdf):
    fonts = fonts_of(pdf)
    assert fonts, "PDF 中没有字体"
    assert all(embedded for _, embedded in fonts), fonts
    not_cjk = [name for name, _ in fonts if not CJK_FONT.search(name)]
    assert not not_cjk, f"这些字体不是中文字体：{not_cjk}"


@needs_weasyprint
def test_pdf_is_a4_with_page_numbers_and_a_landscape_appendix(pdf):
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    sizes = [(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in reader.pages]
    texts = [normalise(p.extract_text()) for p in reader.pages]
    first_appendix_page = next(n for n, t in enumerate(texts) if t.startswith("附件"))
    assert set(sizes[:first_appendix_page]) == {(595, 842)}  # A4 portrait
    assert set(sizes[first_appendix_page:]) == {(842, 595)}  # the 自评表 turns to landscape
    for n, text in enumerate(texts, start=1):
        assert text.endswith(f"—{n}—")
    assert "附件" not in texts[first_appendix_page - 1]  # the appendix starts on a page of its own
    assert reader.metadata.title == "2024年广州市番禺区化龙镇人民政府部门整体支出绩效自评表说明"


@needs_weasyprint
def test_pdf_appendix_has_budget_subtotals_total_and_grade(pdf):
    appendix = "".join(normalise(t) for t in pages_text(pdf)).split("附件", 1)[1]
    appendix = PAGE_NUMBER.sub("", appendix)
    assert appendix.startswith(normalise("2024年广州市番禺区化龙镇人民政府部门整体支出绩效自评表预算执行情况（单位：万元）"))
    assert "年度资金总额50,000.0058,700.0056,704.2096.60%" in appendix
    assert "小计3030.00" in appendix  # 产出
    assert "管理效率合计5044.96" in appendix
    assert normalise("综合得分10094.96自评结果：优") in appendix


# --- What the renderer may fetch -------------------------------------------------------------------------------


def test_fetcher_serves_our_static_files():
    body, content_type = fetch_document_resource(f"{DOCUMENT_BASE_URL}static/css/print.css")
    assert b"@page" in body and content_type == "text/css"


def test_fetcher_serves_data_urls():
    body, content_type = fetch_document_resource("data:text/plain;base64," + base64.b64encode(b"ok").decode())
    assert (body, content_type) == (b"ok", "text/plain")


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://example.com/evil.css",
        "https://example.com/logo.png",
        "ftp://example.com/x",
        f"{DOCUMENT_BASE_URL}static/../../../../etc/passwd",
        f"{DOCUMENT_BASE_URL}static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        f"{DOCUMENT_BASE_URL}static//etc/passwd",
        f"{DOCUMENT_BASE_URL}media/secret.pdf",
        f"{DOCUMENT_BASE_URL}static/css/missing.css",
    ],
)
def test_fetcher_refuses_everything_else(url):
    with pytest.raises(RefusedURL):
        fetch_document_resource(url)


def png(path=None):
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(path or buffer, "PNG")
    return buffer.getvalue()


@needs_weasyprint
def test_pdf_renderer_reads_no_file_and_opens_no_connection(tmp_path, monkeypatch):
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("此测试中不允许任何网络或文件地址请求")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(urllib.request.OpenerDirector, "open", refuse)
    monkeypatch.setattr(urllib.request.FileHandler, "file_open", refuse)
    local_image = tmp_path / "local.png"
    png(local_image)
    html = f"""<!doctype html><html><head><meta charset="utf-8">
      <link rel="stylesheet" href="static/css/print.css">
      <link rel="stylesheet" href="file:///etc/passwd">
      <style>@import url("http://example.com/evil.css"); body {{ background: url("https://example.com/bg.png"); }}</style>
      </head><body class="document"><p>只应出现一张图片。</p>
      <img src="file://{local_image}"><img src="http://example.com/pixel.png"><img src="file:///etc/passwd">
      <img src="data:image/png;base64,{base64.b64encode(png()).decode()}">
      </body></html>"""
    pdf = html_to_pdf(html)
    assert attempts == []
    assert images_in(pdf) == 1  # the data: image only
    text = normalise(pages_text(pdf)[0])
    assert "只应出现一张图片" in text
    assert text.endswith("—1—")  # the page number comes from print.css: our static file was served


def test_typed_markup_is_printed_as_text(demo):
    section = demo.sections.get(kind="goal")
    section.body = '<img src="file:///etc/passwd"><link rel="stylesheet" href="http://example.com/x.css">'
    section.save()
    html = render_html(loaded(demo))
    assert '<img src="file:///etc/passwd">' not in html
    assert "&lt;img src=&quot;file:///etc/passwd&quot;&gt;" in html


# --- Download view ---------------------------------------------------------------------------------------------


@needs_weasyprint
def test_download_pdf_view(demo):
    request = RequestFactory().get("/")
    request.user = demo.unit.members.get(username="filler")
    response = document_views.evaluation_pdf(request, demo.pk)
    assert response.status_code == 200
    assert response["Content-Type"] == PDF_TYPE
    assert "filename*=utf-8''440113-HLZ_2024" in response["Content-Disposition"]
    assert normalise(SCORE_SENTENCE) in body_text(b"".join(response.streaming_content))


def test_download_pdf_of_another_unit_is_404(demo):
    request = RequestFactory().get("/")
    request.user = make_user("填报人")
    with pytest.raises(Http404):
        document_views.evaluation_pdf(request, demo.pk)


def test_download_pdf_requires_login(demo):
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    assert document_views.evaluation_pdf(request, demo.pk).status_code == 302


def test_download_pdf_says_what_is_missing(demo, monkeypatch):
    monkeypatch.setattr(
        "evaluations.documents.html_pdf.pdf_unavailable_reason", lambda: "无法生成 PDF：系统未安装中文字体。"
    )
    request = RequestFactory().get("/")
    request.user = demo.unit.members.get(username="filler")
    response = document_views.evaluation_pdf(request, demo.pk)
    assert response.status_code == 503
    assert "系统未安装中文字体" in response.content.decode()


def page_number_positions(pdf):
    """(page width, x where its page number starts) for every page, read back from the PDF's text positions."""
    positions = []
    for n, page in enumerate(pypdf.PdfReader(io.BytesIO(pdf)).pages, start=1):
        found = []

        def visit(text, cm, tm, font, size, found=found, n=n):
            if normalise(text) == f"—{n}—":
                found.append(tm[4] * cm[0] + tm[5] * cm[2] + cm[4])  # x on the page, in points

        page.extract_text(visitor_text=visit)
        assert found, f"第 {n} 页没有页码"
        positions.append((float(page.mediabox.width), found[-1]))
    return positions


@needs_weasyprint
def test_pdf_page_numbers_sit_at_the_outside_edge(pdf):
    """GB/T 9704: odd pages carry their number at the right, even pages at the left, one character in from the
    版心's edge: on portrait and landscape pages alike."""
    positions = page_number_positions(pdf)
    assert len(positions) >= 4
    left_margin = {595: 28, 842: 20}  # mm: the 版心's left edge on portrait and landscape pages (print.css)
    for n, (width, x) in enumerate(positions, start=1):
        if n % 2:
            assert x > width * 0.6, f"第 {n} 页（单页）页码应在右侧，x = {x:.0f} / {width:.0f}"
        else:
            assert x < width * 0.4, f"第 {n} 页（双页）页码应在左侧，x = {x:.0f} / {width:.0f}"
            edge = left_margin[round(width)] * 72 / 25.4
            assert edge + 10 < x, f"第 {n} 页页码应在版心左缘内空一字：x = {x:.0f}，版心左缘 {edge:.0f}"


@needs_weasyprint
def test_pdf_title_breaks_between_words(pdf):
    """The title is two lines, broken after the unit's name, never inside a word such as 部门整体 (issue 14)."""
    first_page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text().splitlines()
    assert first_page[:2] == ["2024年广州市番禺区化龙镇人民政府", "部门整体支出绩效自评表说明"]
