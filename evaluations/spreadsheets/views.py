"""The official 自评表 of one evaluation as a download, and a filled one imported back: preview, then confirm."""

import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header

from evaluations import access, workflow
from evaluations.documents.project_table import project_filename
from evaluations.forms import ImportForm
from evaluations.models import Evaluation, Framework, Project
from evaluations.project_views import load_project
from evaluations.spreadsheets import official, project_official
from evaluations.spreadsheets.cells import XLSX_TYPE


@login_required
def official_workbook(request, pk):
    evaluation = get_object_or_404(Evaluation.objects.visible_to(request.user).with_document_data(), pk=pk)
    response = HttpResponse(content_type=XLSX_TYPE)
    official.official_workbook(evaluation).save(response)
    response["Content-Disposition"] = _attachment(official.official_filename(evaluation))
    return response


def _attachment(filename):
    return content_disposition_header(True, filename)


# --- Importing a filled 自评表: preview, then confirm ---------------------------------------------------


def _upload_dir() -> Path:
    path = Path(settings.IMPORT_TMP_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


@login_required
def import_official(request):
    if not access.can_import_official(request.user):
        raise PermissionDenied("只有管理员可以导入自评表。")
    years = list(Framework.objects.order_by("-year").values_list("year", flat=True))
    context = {"years": years}
    form = ImportForm(request.POST, request.FILES) if request.method == "POST" else None
    if form is not None and form.confirming:
        return _confirm_official(request, form)
    if form is not None:
        problems = form.problems("file", "year")
        upload, year = form.cleaned_data.get("file"), form.cleaned_data.get("year")
        if problems:
            context["problems"] = problems
        elif upload is None:
            context["problems"] = ["请选择要导入的文件。"]
        else:
            result = official.import_official(upload, year=year, by=request.user, dry_run=True)
            context.update(result=result, year=year, problems=result.problems)
            if result.ok:
                token = uuid.uuid4().hex
                with open(_upload_dir() / token, "wb") as f:
                    for chunk in upload.chunks():
                        f.write(chunk)
                request.session.setdefault("official_imports", []).append(token)
                request.session.modified = True
                context["token"] = token
    return render(request, "evaluations/import_official.html", context)


def _confirm_official(request, form):
    token = form.known_token(request.session.get("official_imports", []))
    if token is None:
        messages.error(request, "导入已失效，请重新上传文件。")
        return redirect("reports:import_official")
    if problems := form.problems("year"):
        return render(request, "evaluations/import_official.html", {"problems": problems})
    path = _upload_dir() / token
    result = official.import_official(path.read_bytes(), year=form.cleaned_data["year"], by=request.user, dry_run=False)
    path.unlink(missing_ok=True)
    request.session["official_imports"].remove(token)
    request.session.modified = True
    if not result.ok:
        return render(request, "evaluations/import_official.html", {"problems": result.problems})
    messages.success(request, f"已导入 {result.unit.name} {result.year} 年自评表：{result.row_count} 个三级指标，"
                              f"综合得分 {result.total} 分，自评结果“{result.grade}”。")
    return redirect("evaluations:detail", pk=result.evaluation.pk)


# --- Projects (issue 16): the official workbook of one project or of the package, and the import ---------------


@login_required
def project_workbook(request, project_pk):
    project = load_project(request, project_pk)
    return _xlsx(project_official.write_project_workbook(project), project_filename(project, "xlsx"))


@login_required
def projects_workbook(request, pk):
    evaluation = get_object_or_404(Evaluation.objects.visible_to(request.user).select_related("unit", "framework"), pk=pk)
    projects = Project.objects.with_table_data().filter(evaluation=evaluation).order_by("order", "pk")
    return _xlsx(project_official.write_projects_workbook(projects), project_official.projects_filename(evaluation))


def _xlsx(content, filename):
    response = HttpResponse(content, content_type=XLSX_TYPE)
    response["Content-Disposition"] = _attachment(filename)
    return response


@login_required
def import_projects(request, pk):
    """A 绩效目标申报表 (or the official project workbook) into the package's projects: preview, then confirm."""
    evaluation = get_object_or_404(Evaluation.objects.visible_to(request.user).select_related("unit", "framework"), pk=pk)
    if not workflow.can_edit(request.user, evaluation):
        raise PermissionDenied(f"当前状态为“{evaluation.get_status_display()}”，或您不是本单位填报人，不能导入项目。")
    context = {"evaluation": evaluation}
    form = ImportForm(request.POST, request.FILES) if request.method == "POST" else None
    if form is not None and form.confirming:
        token = form.known_token(request.session.get("project_imports", []))
        if token is None:
            messages.error(request, "导入已失效，请重新上传文件。")
            return redirect("evaluations:projects_import", evaluation.pk)
        path = _upload_dir() / token
        result = project_official.import_projects(evaluation, path.read_bytes(), by=request.user, dry_run=False)
        path.unlink(missing_ok=True)
        request.session["project_imports"].remove(token)
        request.session.modified = True
        if not result.ok:
            return render(request, "evaluations/import_projects.html", context | {"problems": result.problems})
        messages.success(request, f"已导入 {len(result.parsed)} 个项目（新增 {result.created} 个，更新 {result.updated} 个），"
                                  f"共 {result.row_count} 个三级指标。")
        return redirect("evaluations:projects", evaluation.pk)
    if form is not None:
        problems = form.problems("file")
        upload = form.cleaned_data.get("file")
        if problems or upload is None:
            context["problems"] = problems or ["请选择要导入的文件。"]
        else:
            result = project_official.import_projects(evaluation, upload, by=request.user, dry_run=True)
            context.update(result=result, problems=result.problems)
            if result.ok:
                token = uuid.uuid4().hex
                with open(_upload_dir() / token, "wb") as f:
                    for chunk in upload.chunks():
                        f.write(chunk)
                request.session.setdefault("project_imports", []).append(token)
                request.session.modified = True
                context["token"] = token
    return render(request, "evaluations/import_projects.html", context)
