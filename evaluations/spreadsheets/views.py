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

from evaluations import access
from evaluations.models import Evaluation, Framework
from evaluations.spreadsheets import official
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
    if request.method == "POST" and request.POST.get("token"):
        return _confirm_official(request)
    if request.method == "POST":
        upload = request.FILES.get("file")
        year = request.POST.get("year") or None
        if upload is None:
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


def _confirm_official(request):
    token = request.POST["token"]
    if token not in request.session.get("official_imports", []) or not token.isalnum():
        messages.error(request, "导入已失效，请重新上传文件。")
        return redirect("reports:import_official")
    path = _upload_dir() / token
    result = official.import_official(path.read_bytes(), year=request.POST.get("year") or None,
                                       by=request.user, dry_run=False)
    path.unlink(missing_ok=True)
    request.session["official_imports"].remove(token)
    request.session.modified = True
    if not result.ok:
        return render(request, "evaluations/import_official.html", {"problems": result.problems})
    messages.success(request, f"已导入 {result.unit.name} {result.year} 年自评表：{result.row_count} 个三级指标，"
                              f"综合得分 {result.total} 分，自评结果“{result.grade}”。")
    return redirect("evaluations:detail", pk=result.evaluation.pk)
