from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from evaluations import access
from evaluations.documents.html_pdf import PDF_TYPE, pdf_unavailable_reason
from evaluations.documents.summary import filename as report_filename
from evaluations.documents.word import DOCX_TYPE
from evaluations.models import Framework
from evaluations.spreadsheets import summary
from evaluations.spreadsheets.cells import XLSX_TYPE
from reports.forms import ExportStartForm
from reports.models import ExportJob
from reports.tasks import run_export


@login_required
def export_list(request):
    jobs = ExportJob.objects.of(request.user)[:20]
    years = list(Framework.objects.order_by("-year").values_list("year", flat=True))
    return render(request, "reports/export_list.html", {"jobs": jobs, "years": years, "link_hours": settings.EXPORT_LINK_HOURS})


def _start(request, kind, started, form=None):
    form = form or ExportStartForm(request.POST)
    if not form.is_valid():
        messages.error(request, next(iter(form.errors.values()))[0])
        return redirect("reports:export_list")
    year = form.cleaned_data["year"]
    job = ExportJob.objects.create(kind=kind, year=year, requested_by=request.user)
    run_export.enqueue(str(job.pk))
    messages.success(request, started.format(year=year))
    return redirect("reports:export_detail", pk=job.pk)


@login_required
@require_POST
def start_summary_export(request):
    return _start(request, ExportJob.Kind.SUMMARY, "已开始生成 {year} 年度汇总表，完成后可在本页下载。")


@login_required
@require_POST
def start_documents_export(request):
    """A zip of a year's approved 说明 (admins; built in the background, since a district has many units)."""
    if not access.can_export_documents(request.user):
        raise PermissionDenied("只有管理员可以打包下载说明。")
    return _start(request, ExportJob.Kind.DOCUMENTS, "已开始打包 {year} 年已通过审核的说明，完成后可在本页下载。")


@login_required
@require_POST
def start_report(request):
    """The year's 汇总分析报告 as Word or PDF, built in the background (the reviewer's scope; an admin's: all)."""
    if not (access.is_reviewer(request.user) or access.is_admin(request.user)):
        raise PermissionDenied("只有审核人和管理员可以生成汇总分析报告。")
    form = ExportStartForm(request.POST)
    pdf = form.is_valid() and form.cleaned_data["format"] == "pdf"
    kind = ExportJob.Kind.REPORT_PDF if pdf else ExportJob.Kind.REPORT_DOCX
    if kind == ExportJob.Kind.REPORT_PDF and (reason := pdf_unavailable_reason()):
        messages.error(request, reason)
        return redirect("reports:export_list")
    return _start(request, kind, "已开始生成 {year} 年度自评结果汇总分析报告，完成后可在本页下载。", form)


@login_required
def export_detail(request, pk):
    job = get_object_or_404(ExportJob.objects.of(request.user), pk=pk)
    return render(request, "reports/export_detail.html", {"job": job})


@login_required
def export_download(request, pk):
    job = get_object_or_404(ExportJob.objects.of(request.user), pk=pk)
    if job.is_expired:
        return render(request, "reports/export_detail.html", {"job": job}, status=410)
    if not job.is_downloadable:
        return redirect("reports:export_detail", pk=job.pk)
    if job.kind in (ExportJob.Kind.REPORT_DOCX, ExportJob.Kind.REPORT_PDF):
        pdf = job.kind == ExportJob.Kind.REPORT_PDF
        return FileResponse(job.path.open("rb"), as_attachment=True,
                            filename=report_filename(job.year, "pdf" if pdf else "docx"),
                            content_type=PDF_TYPE if pdf else DOCX_TYPE)
    if job.kind == ExportJob.Kind.DOCUMENTS:
        return FileResponse(job.path.open("rb"), as_attachment=True, filename=f"{job.year}年已通过的自评表说明.zip",
                            content_type="application/zip")
    return FileResponse(job.path.open("rb"), as_attachment=True, filename=summary.summary_filename(job.year),
                        content_type=XLSX_TYPE)
