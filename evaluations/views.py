import functools
import re
from collections import Counter

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Max, Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.template.backends.utils import csrf_input
from django.urls import reverse
from django.views.decorators.http import require_POST

from evaluations import access, checklist, editing, evidence, rechecks, scoring, text, workflow
from evaluations.documents import html_pdf
from evaluations.documents.outline import build_document
from evaluations.forms import (
    AnswerForm,
    CommentForm,
    EditPageForm,
    EvaluationContentForm,
    EvidenceForm,
    ReasonForm,
    StartForm,
    comments_by_target,
    error_text,
    new_row_view,
    row_form,
)
from evaluations.models import (
    EDITABLE_STATUSES,
    Evaluation,
    EvaluationStatus,
    Event,
    EventAction,
    Evidence,
    FieldChange,
    Framework,
    IndicatorResult,
    Recheck,
    Unit,
)
from evaluations.models.evaluations import PERSON_NAME, known_to_have_none, meta_order
from evaluations.templatetags.indicator_table import CommentPlaces

S = EvaluationStatus
# The limits the pages print beside their text boxes ("不超过 N 字").
TEXT_LIMITS = {"reason": text.REASON_LIMIT, "comment": text.COMMENT_LIMIT,
               "deviation_reason": text.DEVIATION_REASON_LIMIT, "document": text.DOCUMENT_TEXT_LIMIT}


def _visible(request):
    return Evaluation.objects.visible_to(request.user)


def load_evaluation(request, pk, *, contents=True, lists=False, checklist=True):
    """The one scoped way to load an evaluation: 404 when not visible. With its contents (rows, budget, sections,
    comments: everything the 自评表, 填写 and 审核 pages read), or, for a view that only checks permissions and names
    the evaluation, with just its unit and framework (a workflow step that needs more, such as the submission
    checklist, loads it itself). With its contents, in the same query: whether it has projects, for the checklist
    (which then reads none when there are none; `checklist=False` for an answer that seldom shows it, the save),
    and, with `lists`, for a page that lists its files and timeline (_evidence_list, _events_list), whether it has
    any."""
    # With whether the user fills its unit in, in the same query.
    queryset = Evaluation.objects.visible_to(request.user, with_membership=True)
    if contents:
        relations = (("projects",) if checklist else ()) + (("evidence", "events") if lists else ())
        queryset = queryset.with_document_data().with_presence_of(*relations)
    else:
        queryset = queryset.select_related("unit", "framework")
    evaluation = get_object_or_404(queryset, pk=pk)
    if hasattr(evaluation, "viewer_is_member"):
        access.remember_membership(request.user, evaluation.unit, evaluation.viewer_is_member)
    return evaluation


MARKER_PK = 987654321987654321  # url_by_pk's: past any pk in use (a bigint's largest is 9223372036854775807)


def url_by_pk(name):
    """pk → reverse(name, args=[pk]), for a page linking each of its rows to the same view (a URL whose only
    argument is an <int:pk>), reversed once a page instead of once a row: the URL reversed with a pk no row has,
    that pk's digits replaced by each row's (reversed again for each row where they do not stand in it once)."""
    marker = str(MARKER_PK)
    head, found, tail = reverse(name, args=[MARKER_PK]).partition(marker)
    if not found or marker in tail or marker in head:
        return lambda pk: reverse(name, args=[pk])
    return lambda pk: f"{head}{int(pk)}{tail}"


def _year(request, years):
    year = request.GET.get("year", "")
    return int(year) if year.isdigit() and int(year) in years else (years[0] if years else None)


def _require_reviewer_or_admin(user):
    if not access.can_review_pages(user):
        raise PermissionDenied("只有审核人和管理员可以查看此页面。")


@login_required
def evaluation_list(request):
    frameworks = {f.year: f for f in Framework.objects.order_by("-year")}
    years = list(frameworks)
    year = _year(request, years)
    # One year's list shares one framework: its grade thresholds and 执行率 caps are read once, not joined into
    # every row. The totals are the ones stored with the rows (EvaluationTotals), capped as the scorecard caps.
    thresholds = frameworks[year].grade_thresholds if year else scoring.GradeThresholds()
    pack = frameworks[year].rule_pack() if year else None
    rows = []
    detail_url, document_url = url_by_pk("evaluations:detail"), url_by_pk("evaluations:document")
    for e in (_visible(request).for_year(year).with_stored_totals().select_related("unit")
              .only("pk", "status", "updated_at", "unit__name").order_by("unit__code")):
        total = None if e.stored_score is None else scoring.cap_by_budget(
            e.stored_score, e.stored_adjusted_budget, e.stored_executed, pack).total
        rows.append((e, total, scoring.grade(total or 0, thresholds), detail_url(e.pk), document_url(e.pk)))
    counts = Counter(e.status for e, *_ in rows)
    startable = []
    if access.is_filler(request.user) and year:
        startable = list(
            Unit.objects.filter(members=request.user).exclude(evaluations__framework__year=year)
            .annotate(previous_year=Max("evaluations__framework__year", filter=Q(evaluations__framework__year__lt=year)))
            .order_by("code")
        )
    return render(request, "evaluations/evaluation_list.html", {
        "rows": rows, "years": years, "year": year, "startable": startable,
        "status_counts": [(label, counts.get(value, 0)) for value, label in S.choices],
    })


@login_required
@require_POST
def evaluation_start(request):
    form = StartForm(request.POST)
    if not form.is_valid():
        messages.error(request, error_text(form))
        return redirect("evaluations:list")
    unit = get_object_or_404(Unit.objects.filter(members=request.user), pk=form.cleaned_data["unit"])
    framework = get_object_or_404(Framework, year=form.cleaned_data["year"])
    if not access.is_filler(request.user):
        raise PermissionDenied("只有填报人可以开始填报。")
    existing = Evaluation.objects.filter(unit=unit, framework=framework).first()
    if existing:
        messages.info(request, f"{existing}已存在。")
        return redirect("evaluations:detail", existing.pk)
    previous = (
        Evaluation.objects.filter(unit=unit, framework__year__lt=framework.year).order_by("-framework__year").first()
        if form.cleaned_data["from_previous"] else None
    )
    evaluation = None
    if previous:
        try:
            evaluation = editing.start_from_previous(unit=unit, framework=framework, previous=previous, by=request.user)
            messages.success(request, f"已创建{evaluation}，并沿用了{previous.year}年的自设指标、目标和说明文字（已标注“沿用上年”），请逐项核实、修改。")
        except editing.TooLong as refused:  # last year's, stored before the whole-document bound, is over it
            messages.warning(request, f"未能沿用{previous.year}年的内容：{refused.message}")
    if evaluation is None:
        evaluation = Evaluation.objects.start(unit=unit, framework=framework, by=request.user)
        messages.success(request, f"已创建{evaluation}，请逐项填写。")
    return redirect("evaluations:edit", evaluation.pk)


def _shown_context(request, evaluation, *, events=None):
    """What the 自评表 and the 审核页 both print of an evaluation (its scorecard, timeline, comments, evidence), with
    the user's side forms; each page adds its own."""
    user = request.user
    scorecard = evaluation.scorecard()
    return {
        "evaluation": evaluation,
        "scorecard": scorecard,
        "events": _events_list(evaluation) if events is None else events,
        "comments": evaluation.comments.all(),
        "can_edit": workflow.can_edit(user, evaluation),
        "can_comment": workflow.can_comment(user, evaluation),
        "evidence": _evidence_list(evaluation),
        "text_limits": TEXT_LIMITS,
    } | _side_forms(evaluation, user, scorecard)


def _page_context(request, evaluation):
    user = request.user
    context = _shown_context(request, evaluation)
    return context | {
        "actions": workflow.available_actions(user, evaluation),
        "can_see_history": access.can_review_pages(user),
        "problems": checklist.problems(evaluation, context["scorecard"], projects=_projects_if_any(evaluation))
        if context["can_edit"] else [],
        "archive": evaluation.approved_archive(),  # the approval in force's, never an earlier one's
        "can_publish": access.is_admin(user) and evaluation.status == S.APPROVED,
        "recheck": _recheck_of(user, evaluation),
    }


def _projects_if_any(evaluation):
    """No projects, when load_evaluation found none: the checklist then does not look for them (None: it loads
    them itself)."""
    return [] if known_to_have_none(evaluation, "projects") else None


def _evidence_list(evaluation):
    """The evaluation's files as _evidence.html lists them, in upload order: of what each supports and of who
    uploaded it, only the names printed (not every column of the project and of the user). Sorted here, as the
    load sorts an evaluation's rows (models.evaluations.meta_order): a few files, one ORDER BY less to compile.
    None asked for when the load found none (load_evaluation's `lists`)."""
    if known_to_have_none(evaluation, "evidence"):
        return []
    files = evaluation.evidence.select_related("result", "project", "project_row", "uploaded_by").only(
        *(f.name for f in Evidence._meta.concrete_fields), "result__name", "project__name", "project_row__name",
        *(f"uploaded_by__{name}" for name in PERSON_NAME),
    ).order_by()
    return sorted(files, key=meta_order(Evidence))


def _events_list(evaluation):
    """The evaluation's timeline (_timeline.html), oldest first: of each actor, only the name printed (sorted
    here, as _evidence_list is, and likewise not asked for when the load found none)."""
    if known_to_have_none(evaluation, "events"):
        return []
    events = evaluation.events.select_related("actor").only(
        *(f.name for f in Event._meta.concrete_fields), *(f"actor__{name}" for name in PERSON_NAME)).order_by()
    return sorted(events, key=meta_order(Event))


def _recheck_of(user, evaluation):
    """The 复核 the user may see (only an approved evaluation can have one)."""
    if evaluation.status != S.APPROVED:
        return None
    recheck = Recheck.objects.filter(evaluation=evaluation).first()
    return recheck if recheck is not None and rechecks.may_see(user, recheck) else None


def _side_forms(evaluation, user, scorecard):
    forms = {}
    if workflow.can_edit(user, evaluation):
        forms["evidence_form"] = EvidenceForm(
            evaluation=evaluation, rows=[scored.row for scored in scorecard.rows], types="、".join(evidence.ALLOWED.values())
        )
    return forms


@login_required
def evaluation_detail(request, pk):
    evaluation = load_evaluation(request, pk, lists=True)
    return render(request, "evaluations/evaluation_detail.html", _page_context(request, evaluation) | {
        "pdf_unavailable": html_pdf.pdf_unavailable_reason() is not None,  # the button says so (issue 14)
    })


def _editable(request, pk, *, contents=True, checklist=True):
    evaluation = load_evaluation(request, pk, contents=contents, checklist=checklist)
    if not workflow.can_edit(request.user, evaluation):
        raise PermissionDenied(f"当前状态为“{evaluation.get_status_display()}”，或您不是本单位填报人，不能修改。")
    return evaluation


@login_required
def evaluation_edit(request, pk):
    """The edit page, and saving it. Saved from the page with JavaScript (htmx), the answer is only what a save
    changes in the page (its version and token, the outcome, the conflict box, the totals: the live preview has
    already brought the rows' scores and the 说明 up to date); without JavaScript, when rows were added or
    removed, or when someone else's changes were merged in, the browser is sent to the page again."""
    # A save's answer shows the checklist only when the save is refused (it then finds the projects itself).
    evaluation = _editable(request, pk, checklist=request.method != "POST")
    form = EvaluationContentForm(evaluation, request.POST if request.method == "POST" else None)
    status, conflict, saved = 200, None, None
    # The page carries what it was opened with (editing.page_token): kept as it is until a save succeeds, so a
    # refused save, saved again, is merged again and never overwrites (issue 13, item 3).
    page = EditPageForm(request.POST if request.method == "POST" else None)
    token = page.token()
    if request.method == "POST":
        if form.is_valid():
            loaded_version = evaluation.version
            rows = form.created_and_deleted()
            try:
                saved = editing.save_page(
                    evaluation, by=request.user, token=token, proposals=form.proposals(),
                    choices=page.conflict_choices(), **rows,
                )
            except editing.StaleEdit as stale:
                status, conflict = 409, stale
            except editing.TooLong as refused:  # the whole 说明 too large: what was typed stays on the page
                status = 400
                form.refuse(refused.message)
                if not request.htmx:
                    messages.error(request, refused.message)
            except workflow.WorkflowError as refused:
                messages.error(request, refused.message)
                return _navigate(request, reverse("evaluations:detail", args=[evaluation.pk]))
            else:
                # Rows added, removed or redefined change the page's inputs; others' changes merged in change
                # its values: it is loaded again.
                merged = editing.read_token(token)[0] != loaded_version
                reshaped = rows["created"] or rows["deleted"] or form.rows.redefined()
                if reshaped or merged or not request.htmx:
                    messages.success(request, "已保存。" + ("打开页面后其他人保存的修改也已保留。" if merged else ""))
                    return _navigate(request, reverse("evaluations:edit", args=[evaluation.pk]), saved=True)
                token = editing.page_token(saved.evaluation, form.token_fields())
        else:
            status = 400
            if not request.htmx:
                messages.error(request, "有内容需要修改，请查看标红的字段。已填写的内容都保留在页面上，尚未保存。")
        form.preview()
    else:
        token = editing.page_token(evaluation, form.token_fields())
    outcome = {
        "conflict": conflict, "saved": bool(saved), "base_token": token,
        "version": saved.evaluation.version if saved else evaluation.version,
    }
    if request.htmx and request.method == "POST" and status != 400:
        # Saved, or refused for a conflict: the answer is what that changes in the page (_edit_saved.html).
        response = render(request, "evaluations/_edit_saved.html", outcome | {
            "evaluation": evaluation, "scorecard": saved.scorecard if saved else None, "saving": True,
        }, status=status)
        if saved:
            response["HX-Trigger"] = SAVED_EVENT
        return response
    context = _edit_context(request, evaluation, form) | outcome
    if request.htmx and request.method == "POST":
        # Errors can be anywhere in the form: its content comes back whole, with what was typed and the errors.
        response = render(request, "evaluations/evaluation_edit.html", context | {"saving": True}, status=status)
        response["HX-Retarget"], response["HX-Reswap"], response["HX-Reselect"] = (
            "#edit-form", "innerHTML", "#edit-form > *"
        )
        return response
    return render(request, "evaluations/evaluation_edit.html", context, status=status)


SAVED_EVENT = "evaluation-saved"  # static/js/edit.js listens: the page holds nothing unsaved any more


def _navigate(request, url, saved=False):
    """A redirect; for htmx, the whole page goes there (after the page has been told it holds nothing unsaved)."""
    if not request.htmx:
        return redirect(url)
    response = HttpResponse(status=204)
    response["HX-Redirect"] = url
    if saved:
        response["HX-Trigger"] = SAVED_EVENT
    return response


@login_required
@require_POST
def evaluation_preview(request, pk):
    """What the edit page shows as values are typed: scores, subtotals, total, grade, 执行率, the 说明.
    Nothing is saved; the fragments replace their counterparts in the page (htmx out-of-band swaps)."""
    evaluation = _editable(request, pk)
    form = EvaluationContentForm(evaluation, request.POST)
    form.is_valid()
    form.preview()
    return render(request, "evaluations/_edit_live.html", _edit_context(request, evaluation, form))


def _edit_context(request, evaluation, form):
    """The edit page's context. Typed content is checked as the save checks it (the same form, whose rows ask
    scoring.row_errors): the checklist lists first what the save would refuse, so the live check is the save's.
    Only what the edit page and its live answer show (not the 自评表's actions, history or evidence form)."""
    scorecard = evaluation.scorecard()
    problems = checklist.problems(evaluation, scorecard, projects=_projects_if_any(evaluation))  # _editable: may edit
    if form.is_bound:
        problems = [*form.problems(), *problems]
    comments = comments_by_target(evaluation)
    return {
        "evaluation": evaluation, "scorecard": scorecard, "can_edit": True, "problems": problems,
        "text_limits": TEXT_LIMITS,
        "form": form, "document": build_document(evaluation, scorecard),
        "whole_comments": comments.get(("whole", None), []),
        "section_comments": comments,
        # Read only where a row's detail is inline (a new row, one being redefined): not for a page being opened.
        "evidence_by_row": functools.cache(lambda: _evidence_by_row(_evidence_list(evaluation))),
        # The row the page copies for “增加自设指标”: built only where it is drawn (not for the live answer).
        "new_row": functools.cache(lambda: [new_row_view(form)]),
        "document_length": form.document_length(),  # 已用 M / N 字 (text.DOCUMENT_TEXT_LIMIT)
    }


def _evidence_by_row(items):
    by_row = {}
    for item in items:
        by_row.setdefault(item.result_id, []).append(item)
    return by_row


def _row_prefix(request):
    prefix = request.GET.get("prefix", "")
    if not re.fullmatch(r"rows-\d{1,4}", prefix):
        raise Http404("页面地址不完整。")
    return prefix


@login_required
def row_detail(request, pk, row_pk):
    """A row's detail, asked for when the filler opens it: the page does not carry forty of them unread."""
    evaluation = _editable(request, pk)
    row = next((r for r in evaluation.results.all() if r.pk == row_pk), None)
    if row is None:
        raise Http404("没有这个指标。")
    scored = next(s for s in evaluation.scorecard().rows if s.row is row)
    form = row_form(instance=row, prefix=_row_prefix(request))
    if row.is_unit_row:  # the formset gives a unit row's form its delete box
        form.fields["DELETE"] = forms.BooleanField(label="删除", required=False)
    return render(request, "evaluations/_row_detail.html", {
        "f": form, "scored": scored, "evaluation": evaluation, "evidence": evaluation.evidence.filter(result=row),
    })


@login_required
def row_definition(request, pk, row_pk):
    """The inputs of a unit row's definition (name, target, weight, rule), asked for from the row's detail: the
    page shows them only where the filler changes them. `prefix` is the row's place in the page's form."""
    evaluation = _editable(request, pk, contents=False)
    row = get_object_or_404(IndicatorResult.objects.select_related("category"), pk=row_pk, evaluation=evaluation,
                            indicator__isnull=True)
    prefix = _row_prefix(request)
    form = row_form(instance=row, prefix=prefix, define=True)
    return render(request, "evaluations/_row_definition.html", {"f": form, "prefix": prefix})


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


@login_required
@require_POST
def evaluation_transition(request, pk, action):
    evaluation = load_evaluation(request, pk, contents=False)
    if action not in workflow.TRANSITIONS:
        raise PermissionDenied("未知的操作。")
    refused = workflow.refusal(request.user, evaluation, action)
    if refused:
        raise PermissionDenied(refused)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, error_text(form))
        return redirect("evaluations:detail", evaluation.pk)
    try:
        workflow.perform(
            action, evaluation, by=request.user, reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["version"],
        )
    except workflow.WorkflowError as error:
        messages.error(request, error.message)
        for problem in error.problems:
            messages.warning(request, problem.message)
    else:
        messages.success(request, f"已{workflow.TRANSITIONS[action].label}：{evaluation}。")
    return redirect("evaluations:detail", evaluation.pk)


RETURNS = (EventAction.RETURN_FOR_CHANGES, EventAction.REOPEN)  # the review page lists the changes since the latest


@login_required
def evaluation_review(request, pk):
    """The table, the budget and the 说明 side by side; a comment is made on the row or section it is about, and
    the decision bar stays in view. Lists the net change per field since the most recent return or reopen.

    Its context is what its templates print (not the 自评表's: no archive, 复核 or checklist), and the most recent
    return is found among the events the timeline lists."""
    evaluation = load_evaluation(request, pk, lists=True)
    user = request.user
    _require_reviewer_or_admin(user)
    events = _events_list(evaluation)
    last_return = max((e for e in events if e.action in RETURNS), key=lambda e: e.pk, default=None)
    context = _shown_context(request, evaluation, events=events)
    can_edit, can_comment = context["can_edit"], context["can_comment"]
    comment = loader.get_template("evaluations/_comment.html")
    return render(request, "evaluations/evaluation_review.html", context | {
        "document": build_document(evaluation, context["scorecard"]),
        "last_return": last_return,
        "changes_since_return": editing.net_changes_since(evaluation, last_return.version) if last_return else [],
        "places": CommentPlaces(
            comments_by_target(evaluation), can_comment=can_comment,
            add_url=reverse("evaluations:comment_add", args=[evaluation.pk]),
            csrf_input=csrf_input(request) if can_comment else "", limit=TEXT_LIMITS["comment"],
            comment_html=lambda c: comment.render({"comment": c, "evaluation": evaluation, "can_edit": can_edit}),
        ),
        "decisions": [a for a in workflow.available_actions(user, evaluation) if a.action != "submit"],
    })


def _anchor(result, section):
    return f"row-{result.pk}" if result else (f"doc-section-{section.pk}" if section else "decision-bar")


@login_required
@require_POST
def comment_add(request, pk):
    """A comment from the row or section it is about. From the page with JavaScript the answer is the comment
    alone, put in place; without, the review page again at the same place."""
    evaluation = load_evaluation(request, pk, contents=False)
    if not workflow.can_comment(request.user, evaluation):
        raise PermissionDenied("只有负责当前审核环节的审核人可以提出审核意见。")
    form = CommentForm(request.POST, evaluation=evaluation)
    comment, result, section = None, None, None
    error = "" if form.is_valid() else error_text(form)
    if not error:
        result, section = form.cleaned_data["result"], form.cleaned_data["section"]
        try:
            comment = workflow.add_comment(evaluation, by=request.user, text=form.cleaned_data["text"],
                                           result=result, section=section)
        except workflow.WorkflowError as refused:
            error = refused.message
    if request.htmx:
        response = render(request, "evaluations/_comment.html", {
            "comment": comment, "error": error, "evaluation": evaluation, "can_edit": False,
        }, status=200 if comment else 400)
        if not comment:  # the reason goes under the form, which keeps the text
            response["HX-Retarget"], response["HX-Reswap"] = f"#comment-error-{form.place()}", "innerHTML"
        return response
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "已记录审核意见，退回时将一并发给单位。")
    return redirect(f"{reverse('evaluations:review', args=[evaluation.pk])}#{_anchor(result, section)}")


@login_required
@require_POST
def comment_answer(request, pk, comment_pk):
    """An answer from the comment, where it stands on the edit page (with JavaScript, the comment alone comes
    back, answered: the page keeps what is typed and not yet saved)."""
    evaluation = load_evaluation(request, pk, contents=False)
    comment = get_object_or_404(evaluation.comments.select_related("author", "result", "section__indicator"),
                                pk=comment_pk)  # the comment keeps the evaluation loaded here
    if not workflow.can_edit(request.user, evaluation):
        raise PermissionDenied("只有本单位填报人在退回后可以答复审核意见。")
    form = AnswerForm(request.POST)
    error = "" if form.is_valid() else error_text(form)
    if not error:
        try:
            workflow.answer_comment(comment, by=request.user, answer=form.cleaned_data["answer"])
        except workflow.WorkflowError as refused:
            error = refused.message
    if request.htmx:
        return render(request, "evaluations/_comment.html", {
            "comment": comment, "error": error, "evaluation": evaluation, "can_edit": True, "answer_form": form,
        }, status=400 if error else 200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "已答复。")
    return redirect(f"{reverse('evaluations:edit', args=[evaluation.pk])}#comment-{comment.pk}")


@login_required
@require_POST
def evidence_upload(request, pk):
    evaluation = _editable(request, pk, contents=False)
    form = EvidenceForm(request.POST, request.FILES, evaluation=evaluation,
                        rows=IndicatorResult.objects.filter(evaluation=evaluation).only("pk", "name"))
    if not form.is_valid():
        messages.error(request, error_text(form))
        return redirect(f"{reverse('evaluations:detail', args=[evaluation.pk])}#evidence")
    try:
        attached = evidence.attach(evaluation, form.cleaned_data["file"], by=request.user,
                                   result=form.cleaned_data["result"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"已上传佐证材料“{attached.original_name}”。")
    return redirect(f"{reverse('evaluations:detail', args=[evaluation.pk])}#evidence")


@login_required
def evidence_download(request, pk, evidence_pk):
    evaluation = load_evaluation(request, pk, contents=False)
    item = get_object_or_404(Evidence, pk=evidence_pk, evaluation=evaluation)
    return FileResponse(item.file.open("rb"), as_attachment=True, filename=item.original_name)


@login_required
@require_POST
def evidence_delete(request, pk, evidence_pk):
    evaluation = _editable(request, pk, contents=False)
    item = get_object_or_404(Evidence, pk=evidence_pk, evaluation=evaluation)
    item.file.delete(save=False)
    item.delete()
    messages.success(request, f"已删除佐证材料“{item.original_name}”。")
    return redirect(f"{reverse('evaluations:detail', args=[evaluation.pk])}#evidence")


@login_required
@require_POST
def evaluation_publish(request, pk, unpublish=False):
    evaluation = load_evaluation(request, pk, contents=False)
    if not access.is_admin(request.user):
        raise PermissionDenied("只有管理员可以公开或撤回公开。")
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, error_text(form))
        return redirect("evaluations:detail", evaluation.pk)
    try:
        workflow.publish(evaluation, by=request.user, unpublish=unpublish, reason=form.cleaned_data["reason"])
    except workflow.WorkflowError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"已撤回公开：{evaluation}。" if unpublish else f"已公开：{evaluation}，公众可在“信息公开”页面查看。")
    return redirect("evaluations:detail", evaluation.pk)


@login_required
def evaluation_history(request, pk):
    evaluation = load_evaluation(request, pk, contents=False)
    _require_reviewer_or_admin(request.user)
    changes = FieldChange.objects.filter(evaluation=evaluation).select_related("changed_by").order_by("-pk")
    return render(request, "evaluations/evaluation_history.html", {"evaluation": evaluation, "changes": changes})


@login_required
def review_queue(request):
    _require_reviewer_or_admin(request.user)
    # Only the columns the queue prints, and each row's link from one reverse (url_by_pk).
    tasks = list(Evaluation.objects.awaiting(request.user).exclude(status__in=EDITABLE_STATUSES)
                 .only("pk", "status", "submitted_at", "unit__name", "framework__year"))
    review_url = url_by_pk("evaluations:review")
    by_year = {}
    for evaluation in tasks:
        by_year.setdefault(evaluation.framework.year, []).append((evaluation, review_url(evaluation.pk)))
    return render(request, "evaluations/review_queue.html", {"by_year": sorted(by_year.items(), reverse=True), "count": len(tasks)})


@login_required
def task_list(request):
    return render(request, "evaluations/task_list.html", {"tasks": Evaluation.objects.awaiting(request.user)})

