"""Downloads of the 说明 as PDF and Word: the same scoped loading as every evaluation page (404 when not visible)."""

from django.contrib.auth.decorators import login_required
from django.core.files.base import ContentFile
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404

from evaluations import rendering
from evaluations.models import Evaluation


def _load(request, pk):
    return get_object_or_404(Evaluation.objects.visible_to(request.user).with_document_data(), pk=pk)


def _download(content, filename, content_type):
    return FileResponse(ContentFile(content), as_attachment=True, filename=filename, content_type=content_type)


@login_required
def evaluation_pdf(request, pk):
    evaluation = _load(request, pk)
    if reason := rendering.pdf_unavailable_reason():
        return HttpResponse(reason, status=503, content_type="text/plain; charset=utf-8")
    pdf = rendering.render_pdf(evaluation)
    return _download(pdf, rendering.document_filename(evaluation, "pdf"), rendering.PDF_TYPE)


@login_required
def evaluation_docx(request, pk):
    evaluation = _load(request, pk)
    docx = rendering.render_docx(evaluation)
    return _download(docx, rendering.document_filename(evaluation, "docx"), rendering.DOCX_TYPE)
