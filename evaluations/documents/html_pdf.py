"""The 说明 as HTML (the print page) and as PDF (WeasyPrint), from the outline in outline.py.

Each renderer takes an evaluation loaded with Evaluation.objects.with_document_data() and returns the finished
file, so the download views, the render_document command and the archive at approval share one code path.
WeasyPrint needs Pango and CJK fonts from the system (README, `make deps-debian`); it is imported only when a PDF
is asked for, so the rest of the application runs without them.
"""

import mimetypes
import shutil
import subprocess
from functools import cache
from urllib.parse import unquote, urljoin, urlsplit
from urllib.request import DataHandler, Request

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation
from django.template.loader import render_to_string

from evaluations.documents.outline import build_document

TEMPLATE = "evaluations/document.html"
# Every template the 说明 reads (its key in rendered.py): a change in one renders every PDF again.
TEMPLATES = (TEMPLATE, "evaluations/_document_blocks.html", "evaluations/_document_appendix.html")
PDF_TYPE = "application/pdf"

# ---------------------------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------------------------


def render_html(evaluation, standalone: bool = True) -> str:
    """The 说明 as HTML. Standalone: one self-contained file with the print CSS inlined (the command's output and
    the PDF); otherwise it links the static print.css, as the browser page does."""
    css = ""
    if standalone:
        with open(finders.find("css/print.css"), encoding="utf-8") as f:
            css = f.read()
    return render_to_string(TEMPLATE, {"document": build_document(evaluation), "inline_css": css})


PROJECT_TEMPLATE = "evaluations/project_document.html"


def render_project_html(project, standalone: bool = True) -> str:
    """A project's 项目支出绩效自评表 on the national layout (project_table.py); load it with
    Project.objects.with_table_data()."""
    from evaluations.documents.project_table import build_project_document

    css = ""
    if standalone:
        with open(finders.find("css/print.css"), encoding="utf-8") as f:
            css = f.read()
    return render_to_string(PROJECT_TEMPLATE, {"document": build_project_document(project), "inline_css": css})


# ---------------------------------------------------------------------------------------------------------------
# PDF
# ---------------------------------------------------------------------------------------------------------------

# Relative URLs in the template resolve against this origin, which fetch_document_resource() maps onto the
# staticfiles finders. ".invalid" never resolves (RFC 2606), and no request is ever made for it.
DOCUMENT_BASE_URL = "https://document.invalid/"


class RefusedURL(ValueError):
    pass


def fetch_document_resource(url: str) -> tuple[bytes, str]:
    """What a PDF may load: our own static files and data: URLs. Anything else (file://, the network) is refused
    before any I/O, so a document can neither read the server's files nor reach another host (issue 6)."""
    if url.startswith("data:"):
        with DataHandler().data_open(Request(url)) as response:
            return response.read(), response.headers.get_content_type()
    static = urlsplit(urljoin(DOCUMENT_BASE_URL, settings.STATIC_URL))
    parts = urlsplit(url)
    if (parts.scheme, parts.netloc) == (static.scheme, static.netloc) and parts.path.startswith(static.path):
        relative = unquote(parts.path[len(static.path) :])
        try:
            path = finders.find(relative) if relative else None
        except SuspiciousFileOperation:
            path = None
        if not path:
            raise RefusedURL(f"没有这个静态文件：{relative}")
        with open(path, "rb") as f:
            return f.read(), mimetypes.guess_type(path)[0] or "application/octet-stream"
    raise RefusedURL(f"说明只能引用本系统的静态文件和 data: 地址，已拒绝：{url}")


@cache
def _weasyprint():
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticFilesFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            body, content_type = fetch_document_resource(url)
            return URLFetcherResponse(url, body, {"Content-Type": content_type})

    return HTML, StaticFilesFetcher


def html_to_pdf(html: str) -> bytes:
    HTML, StaticFilesFetcher = _weasyprint()
    return HTML(string=html, base_url=DOCUMENT_BASE_URL, url_fetcher=StaticFilesFetcher()).write_pdf()


def render_pdf(evaluation) -> bytes:
    """The 说明 and its 自评表 appendix as an A4 PDF, from the same template as the HTML page. The print CSS is
    inlined (read through the finders), so a hashed static file name in production cannot lose it."""
    return html_to_pdf(render_html(evaluation))


def render_project_pdf(project) -> bytes:
    """The project's 自评表 as a landscape A4 PDF, from the same template as its HTML."""
    return html_to_pdf(render_project_html(project))


@cache
def pdf_unavailable_reason() -> str | None:
    """Why this machine cannot make the PDF (no Pango, no Chinese font), in words for the user; None when it can."""
    try:
        _weasyprint()
    except (ImportError, OSError) as error:
        return f"无法生成 PDF：WeasyPrint 所需的系统库（Pango）未安装（{error}）。请按 README 运行 make deps-debian。"
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return "无法生成 PDF：找不到 fontconfig 的 fc-list，无法确认已安装中文字体。请按 README 运行 make deps-debian。"
    families = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True, check=False).stdout
    if not families.strip():
        return "无法生成 PDF：系统未安装中文字体（如 fonts-arphic-uming）。请按 README 运行 make deps-debian。"
    return None
