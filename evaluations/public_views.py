"""信息公开: the public pages, no login. Only approved and published evaluations are reachable; what is shown is
the 说明 and the 自评表 alone: no review comments, no names of people, no internal links."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render

from evaluations.documents import html_pdf
from evaluations.documents import views as document_views
from evaluations.documents.outline import build_document, document_filename
from evaluations.models import Evaluation, Project


def _published(pk):
    return get_object_or_404(Evaluation.objects.published().with_document_data(), pk=pk)


def public_list(request):
    evaluations = (
        Evaluation.objects.published().select_related("unit", "framework").with_project_count()
        .order_by("-framework__year", "unit__code")
    )
    by_year = {}
    for evaluation in evaluations:
        by_year.setdefault(evaluation.framework.year, []).append(evaluation)
    return render(request, "public/list.html", {"by_year": sorted(by_year.items(), reverse=True)})


def public_document(request, pk):
    evaluation = _published(pk)
    # The archived PDF is served even where none can be made now (public_pdf); otherwise the link says so.
    pdf_unavailable = html_pdf.pdf_unavailable_reason() is not None and evaluation.approved_archive() is None
    return render(request, "public/document.html", {
        "evaluation": evaluation, "document": build_document(evaluation), "pdf_unavailable": pdf_unavailable,
    })


def public_table(request, pk):
    evaluation = _published(pk)
    return render(request, "public/table.html", {"evaluation": evaluation, "scorecard": evaluation.scorecard()})


def public_pdf(request, pk):
    """The archived PDF (the approved bytes) where there is one; otherwise the stored render, as for a user."""
    evaluation = get_object_or_404(Evaluation.objects.published().select_related("unit", "framework"), pk=pk)
    return document_views.pdf_response(request, evaluation, document_filename(evaluation, "pdf"), "public/base.html", inline=True)


def public_projects(request, pk):
    """The projects of a published package: name, 总分, grade, each with its 自评表 (issue 16)."""
    evaluation = get_object_or_404(Evaluation.objects.published().select_related("unit", "framework"), pk=pk)
    projects = Project.objects.with_table_data().filter(evaluation=evaluation).order_by("order", "pk")
    return render(request, "public/projects.html", {"evaluation": evaluation, "projects": projects})


def public_project(request, project_pk):
    project = get_object_or_404(
        Project.objects.with_table_data().filter(evaluation__in=Evaluation.objects.published()), pk=project_pk
    )
    return HttpResponse(html_pdf.render_project_html(project, standalone=False))
