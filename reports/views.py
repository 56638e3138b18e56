import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from evaluations import access, exports, workbooks
from evaluations.models import Evaluation, Framework
from reports.models import ExportJob
from reports.tasks import run_export

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@login_required
def export_list(request):
    jobs = ExportJob.objects.of(request.user)[:20]
    years = list(Framework.objects.order_by("-year").values_list("year", flat=True))
    return render(request, "reports/export_list.html", {"jobs": jobs, "years": years, "link_hours": settings.EXPORT_LINK_HOURS})


def _start(request, kind, started):
    year = request.POST.get("year", "")
    if not (year.isdigit() and Framework.objects.filter(year=int(year)).exists()):
        messages.error(request, "请选择有指标体系的年度。")
        return redirect("reports:export_list")
    job = ExportJob.objects.create(kind=kind, year=int(year), requested_by=request.user)
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
    if not access.is_admin(request.user):
        raise PermissionDenied("只有管理员可以打包下载说明。")
    return _start(request, ExportJob.Kind.DOCUMENTS, "已开始打包 {year} 年已通过审核的说明，完成后可在本页下载。")


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
    if job.kind == ExportJob.Kind.DOCUMENTS:
        return FileResponse(job.path.open("rb"), as_attachment=True, filename=f"{job.year}年已通过的自评表说明.zip",
                            content_type="application/zip")
    return FileResponse(job.path.open("rb"), as_attachment=True, filename=exports.summary_filename(job.year),
                        content_type=XLSX)


@login_required
def official_workbook(request, pk):
    evaluation = get_object_or_404(Evaluation.objects.visible_to(request.user).with_document_data(), pk=pk)
    response = HttpResponse(content_type=XLSX)
    exports.official_workbook(evaluation).save(response)
    response["Content-Disposition"] = _attachment(exports.official_filename(evaluation))
    return response


def _attachment(filename):
    from django.utils.http import content_disposition_header

    return content_disposition_header(True, filename)


# --- Importing a filled 自评表: preview, then confirm ---------------------------------------------------


def _upload_dir() -> Path:
    path = Path(settings.IMPORT_TMP_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


@login_required
def import_official(request):
    if not access.is_admin(request.user):
        raise PermissionDenied("只有管理员可以导入自评表。")
    years = list(Framework.objects.order_by("-year").values_list("year", flat=True))
    context = {"years": years}
    if request.method == "POST" and request.POST.get("token"):
        return _confirm_official(request)
    if request.method == "POST":
        upload = request.FILES.get("file")
        year = request.POST.get("year") or None
        if upload is None:
            context["problems"] = ["请选择要导入的文件。"]
        else:
            result = workbooks.import_official(upload, year=year, by=request.user, dry_run=True)
            context.update(result=result, year=year, problems=result.problems)
            if result.ok:
                token = uuid.uuid4().hex
                with open(_upload_dir() / token, "wb") as f:
                    for chunk in upload.chunks():
                        f.write(chunk)
                request.session.setdefault("official_imports", []).append(token)
                request.session.modified = True
                context["token"] = token
    return render(request, "reports/import_official.html", context)


def _confirm_official(request):
    token = request.POST["token"]
    if token not in request.session.get("official_imports", []) or not token.isalnum():
        messages.error(request, "导入已失效，请重新上传文件。")
        return redirect("reports:import_official")
    path = _upload_dir() / token
    result = workbooks.import_official(path.read_bytes(), year=request.POST.get("year") or None,
                                       by=request.user, dry_run=False)
    path.unlink(missing_ok=True)
    request.session["official_imports"].remove(token)
    request.session.modified = True
    if not result.ok:
        return render(request, "reports/import_official.html", {"problems": result.problems})
    messages.success(request, f"已导入 {result.unit.name} {result.year} 年自评表：{result.row_count} 个三级指标，"
                              f"综合得分 {result.total} 分，自评结果“{result.grade}”。")
    return redirect("evaluations:detail", pk=result.evaluation.pk)
