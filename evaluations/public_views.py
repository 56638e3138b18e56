"""信息公开: the public pages, no login. Only approved and published evaluations are reachable; what is shown is
the 说明 and the 自评表 alone: no review comments, no names of people, no internal links."""

from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, render

from evaluations.documents import html_pdf
from evaluations.documents.outline import build_document, document_filename
from evaluations.models import Evaluation


def _published(pk):
    return get_object_or_404(Evaluation.objects.published().with_document_data(), pk=pk)


def public_list(request):
    evaluations = Evaluation.objects.published().select_related("unit", "framework").order_by("-framework__year", "unit__code")
    by_year = {}
    for evaluation in evaluations:
        by_year.setdefault(evaluation.framework.year, []).append(evaluation)
    return render(request, "public/list.html", {"by_year": sorted(by_year.items(), reverse=True)})


def public_document(request, pk):
    evaluation = _published(pk)
    return render(request, "public/document.html", {"evaluation": evaluation, "document": build_document(evaluation)})


def public_table(request, pk):
    evaluation = _published(pk)
    return render(request, "public/table.html", {"evaluation": evaluation, "scorecard": evaluation.scorecard()})


def public_pdf(request, pk):
    """The archived PDF (the approved bytes) where there is one; otherwise rendered now."""
    evaluation = _published(pk)
    filename = document_filename(evaluation, "pdf")
    archived = evaluation.latest_archive()
    if archived:
        return FileResponse(archived.file.open("rb"), content_type="application/pdf", filename=filename)
    reason = html_pdf.pdf_unavailable_reason()
    if reason:
        return HttpResponse(reason, status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(html_pdf.render_pdf(evaluation), content_type="application/pdf")
    response["Content-Disposition"] = f"inline; filename*=UTF-8''{filename}"
    return response
