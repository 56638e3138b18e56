"""The project pages of a unit's package (issue 16): the list, a project's table, its edit page and comments.

A project is loaded the one scoped way (`Project.objects.visible_to(user)`: 404 when not visible); what it may do
follows its package, the unit's evaluation (workflow.can_edit / can_comment: 403 otherwise). Views fetch, check,
call editing.py or workflow.py, and redirect with a message.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from evaluations import checklist, editing, evidence, project_scoring, text, workflow
from evaluations.documents.project_table import build_project_document
from evaluations.forms import error_text
from evaluations.models import EvaluationStatus, Evidence, Project, ProjectFramework
from evaluations.project_forms import (
    HEADER_FIELDS,
    LoadedChoiceField,
    NewProjectForm,
    ProjectContentForm,
    ProjectDeleteForm,
    ProjectEvidenceForm,
    ProjectPageForm,
)
from evaluations.views import load_evaluation


def load_project(request, project_pk):
    """The one scoped way to load a project, with everything its table reads."""
    queryset = Project.objects.visible_to(request.user).with_table_data().select_related("updated_by")
    return get_object_or_404(queryset, pk=project_pk)


def _editable_project(request, project_pk):
    project = load_project(request, project_pk)
    if not workflow.can_edit(request.user, project.evaluation):
        raise PermissionDenied(
            f"当前状态为“{project.evaluation.get_status_display()}”，或您不是本单位填报人，不能修改项目。"
        )
    return project


def _scorecard(project):
    """The project's table scored, or None (with the reason shown) when the year has no project framework."""
    try:
        return project.scorecard()
    except ValidationError:
        return None


@login_required
def project_list(request, pk):
    """The package's projects with their 执行率, 总分, grade and what is left to fill, in a fixed number of queries."""
    evaluation = load_evaluation(request, pk, contents=False)
    can_edit = workflow.can_edit(request.user, evaluation)
    project_framework = ProjectFramework.objects.filter(framework_id=evaluation.framework_id).first()
    rows = []
    projects = Project.objects.with_table_data().filter(evaluation=evaluation).order_by("order", "pk")
    for project in projects:
        card = _scorecard(project)
        rows.append({
            "project": project, "card": card,
            "problems": checklist.project_problems(project, card) if can_edit and card else [],
        })
    return render(request, "evaluations/project_list.html", {
        "evaluation": evaluation, "rows": rows, "can_edit": can_edit and project_framework is not None,
        "project_framework": project_framework,
        "new_form": NewProjectForm(evaluation=evaluation) if can_edit and project_framework else None,
    })


@login_required
@require_POST
def project_add(request, pk):
    evaluation = load_evaluation(request, pk, contents=False)
    if not workflow.can_edit(request.user, evaluation):
        raise PermissionDenied(f"当前状态为“{evaluation.get_status_display()}”，或您不是本单位填报人，不能添加项目。")
    if not ProjectFramework.objects.filter(framework_id=evaluation.framework_id).exists():
        messages.error(request, f"{evaluation.year}年度尚未设置项目支出指标体系，请联系管理员。")
        return redirect("evaluations:projects", evaluation.pk)
    form = NewProjectForm(request.POST, evaluation=evaluation)
    if not form.is_valid():
        messages.error(request, error_text(form))
        return redirect("evaluations:projects", evaluation.pk)
    try:
        project, _card = editing.add_project(evaluation, by=request.user, project=form.save(commit=False))
    except workflow.WorkflowError as error:
        messages.error(request, error.message)
        return redirect("evaluations:projects", evaluation.pk)
    messages.success(request, f"已添加项目“{project.name}”，请填写项目资金、年度总体目标和绩效指标。")
    return redirect("evaluations:project_edit", project.pk)


class ProjectCommentForm(forms.Form):
    row = LoadedChoiceField(label="针对指标", queryset=Project.objects.none())
    text = text.TextField(label="意见", widget=forms.Textarea(attrs={"rows": 3}), max_length=text.COMMENT_LIMIT)

    def __init__(self, *args, card, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["row"].set_objects([s.row for s in card.rows])


def _detail_context(request, project, card):
    evaluation = project.evaluation
    user = request.user
    can_comment = workflow.can_comment(user, evaluation)
    comments = evaluation.comments.filter(project_row__project=project).select_related(
        "author", "answered_by", "project_row__project"
    )
    return {
        "project": project, "evaluation": evaluation, "card": card,
        "document": _document(project, card),
        "can_edit": workflow.can_edit(user, evaluation), "can_comment": can_comment,
        "comment_form": ProjectCommentForm(card=card) if can_comment and card else None,
        "comments": comments,
        "archive": project.archives.order_by("-pk").first() if evaluation.status == EvaluationStatus.APPROVED else None,
        "problems": checklist.project_problems(project, card) if card and workflow.can_edit(user, evaluation) else [],
    } | _evidence_context(project, card, can_edit=workflow.can_edit(user, evaluation))


def _document(project, card):
    return build_project_document(project, card) if card else None


@login_required
def project_detail(request, project_pk):
    project = load_project(request, project_pk)
    return render(request, "evaluations/project_detail.html", _detail_context(request, project, _scorecard(project)))


@login_required
@require_POST
def project_comment_add(request, project_pk):
    project = load_project(request, project_pk)
    card = _scorecard(project)
    if not workflow.can_comment(request.user, project.evaluation) or card is None:
        raise PermissionDenied("只有负责当前审核环节的审核人可以提出审核意见。")
    form = ProjectCommentForm(request.POST, card=card)
    if not form.is_valid():
        messages.error(request, error_text(form))
        return redirect("evaluations:project", project.pk)
    try:
        workflow.add_comment(project.evaluation, by=request.user, text=form.cleaned_data["text"],
                             project_row=form.cleaned_data["row"])
    except workflow.WorkflowError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "已记录审核意见，退回时将随本单位的自评一并发给单位。")
    return redirect("evaluations:project", project.pk)


def _live_card(project, form):
    """The table as the page now reads (saved or not): nothing is written."""
    project_framework = project.project_framework
    return project_scoring.build_scorecard(
        form.header.instance, project_framework.template.all(), form.kept_rows(),
        pack=project_framework.rule_pack(), execution_weight=project_framework.execution_weight,
        thresholds=project.evaluation.framework.grade_thresholds,
    )


@login_required
def project_edit(request, project_pk):
    project = _editable_project(request, project_pk)
    if project.project_framework is None:
        messages.error(request, f"{project.year}年度尚未设置项目支出指标体系，请联系管理员。")
        return redirect("evaluations:projects", project.evaluation_id)
    template = project.project_framework.linked_template()
    form = ProjectContentForm(project, template, request.POST if request.method == "POST" else None)
    status, conflict = 200, None
    # Merged as the evaluation's edit page is (editing.save_project_page): the token stays until a save succeeds.
    page = ProjectPageForm(request.POST if request.method == "POST" else None)
    token = page.token() if page.is_bound else editing.project_page_token(project, form.token_fields())
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = editing.save_project_page(
                    project, by=request.user, token=token, proposals=form.proposals(),
                    choices=page.conflict_choices(), **form.created_and_deleted(),
                )
            except editing.StaleEdit as stale:
                status, conflict = 409, stale
            except workflow.WorkflowError as refused:
                messages.error(request, refused.message)
                return redirect("evaluations:project", project.pk)
            else:
                merged = "打开页面后其他人保存的修改也已保留。" if saved.merged else ""
                messages.success(request, f"已保存项目“{saved.project.name}”：总分 {saved.project.total_score} 分。{merged}")
                return redirect("evaluations:project_edit", project.pk)
        else:
            status = 400
            messages.error(request, "有内容需要修改，请查看标红的字段。已填写的内容都保留在页面上，尚未保存。")
    card = _live_card(project, form)
    return render(request, "evaluations/project_edit.html", {
        "project": project, "evaluation": project.evaluation, "form": form, "card": card,
        "base_token": token, "conflict": conflict,
        "problems": checklist.project_problems(form.header.instance, card),
        "rows": _row_forms(form, card), **_form_parts(form, card),
    }, status=status)


def _form_parts(form, card):
    """The header's fields and the funds table's rows (label, fields, scored fund row) as the page lays them out."""
    header = form.header
    fund_rows = [
        (source, label, [header[f"{source}_{column}"] for column in ("initial", "adjusted", "executed")], fund)
        for (source, label), fund in zip(project_scoring.FUND_SOURCES, card.funds[1:], strict=True)
    ]
    return {"header_fields": [header[name] for name in HEADER_FIELDS], "fund_rows": fund_rows}


def _row_forms(form, card):
    """Each row form with its live score (matched by the instance it edits)."""
    scored = {id(s.row): s for s in card.rows}
    return [(f, scored.get(id(f.instance))) for f in form.rows.forms]


@login_required
@require_POST
def project_preview(request, project_pk):
    """Scores, total, grade and checklist as the values are typed; nothing is saved (htmx out-of-band swaps)."""
    project = _editable_project(request, project_pk)
    form = ProjectContentForm(project, project.project_framework.linked_template(), request.POST)
    form.is_valid()
    card = _live_card(project, form)
    return render(request, "evaluations/_project_live.html", {
        "project": project, "card": card, "rows": _row_forms(form, card), **_form_parts(form, card),
        "problems": checklist.project_problems(form.header.instance, card),
    })


@login_required
@require_POST
def project_delete(request, project_pk):
    project = _editable_project(request, project_pk)
    form = ProjectDeleteForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["confirm"]))
        return redirect("evaluations:project_edit", project.pk)
    evaluation_pk, name = project.evaluation_id, project.name
    try:
        editing.delete_project(project, by=request.user)
    except workflow.WorkflowError as error:
        messages.error(request, error.message)
        return redirect("evaluations:project", project.pk)
    messages.success(request, f"已删除项目“{name}”。")
    return redirect(reverse("evaluations:projects", args=[evaluation_pk]))


# --- 佐证材料 of a project and its rows: evaluations/evidence.py's checks and storage, the package's access rules ---


def _evidence_context(project, card, *, can_edit):
    """The project's files (each under its row in the 得分说明 table, the rest under the project) and the upload form."""
    items = list(project.evidence.select_related("project", "project_row", "uploaded_by"))
    by_row = {}
    for item in items:
        by_row.setdefault(item.project_row_id, []).append(item)
    form = None
    if can_edit and card is not None:
        form = ProjectEvidenceForm(project=project, rows=[s.row for s in card.rows],
                                   types="、".join(evidence.ALLOWED.values()))
    return {"evidence": items, "evidence_by_row": by_row, "evidence_form": form}


def _evidence_anchor(project):
    return f"{reverse('evaluations:project', args=[project.pk])}#evidence"


@login_required
@require_POST
def project_evidence_upload(request, project_pk):
    """A file for the project or one of its rows, by a filler of the unit while the package is editable."""
    project = _editable_project(request, project_pk)
    form = ProjectEvidenceForm(request.POST, request.FILES, project=project, rows=project.indicators.all())
    if not form.is_valid():
        messages.error(request, error_text(form))
        return redirect(_evidence_anchor(project))
    try:
        attached = evidence.attach(project.evaluation, form.cleaned_data["file"], by=request.user, project=project,
                                   project_row=form.cleaned_data["row"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"已上传佐证材料“{attached.original_name}”（{attached.target_label}）。")
    return redirect(_evidence_anchor(project))


@login_required
@require_POST
def project_evidence_delete(request, project_pk, evidence_pk):
    project = _editable_project(request, project_pk)
    item = get_object_or_404(Evidence, pk=evidence_pk, project=project)
    item.delete()  # the stored file goes with it once the deletion commits (models.records)
    messages.success(request, f"已删除佐证材料“{item.original_name}”。")
    return redirect(_evidence_anchor(project))
