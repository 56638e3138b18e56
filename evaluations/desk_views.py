"""The finance bureau's desk: the 总览 with its charts, 复核 (sample, re-score, confirm, 申辩), 整改, the 汇总分析报告.

A module of its own beside views.py (the units' forms and the review workflow): it is the bureau's side after the
自评 are collected, with its own objects (Recheck, Rectification, ReportNarrative), and keeps views.py short.
Views fetch, check, call the domain (dashboard, sampling, rechecks) and redirect; templates get flags.
"""

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from evaluations import access, charts, dashboard, rechecks, sampling, scoring
from evaluations.forms import (
    RecheckActionForm,
    RecheckDrawForm,
    RecheckScoreForm,
    RectificationAnswerForm,
    RectificationForm,
    RectificationReviewForm,
    SummaryNarrativeForm,
)
from evaluations.models import (
    DeductionReason,
    Evaluation,
    EvaluationStatus,
    EventAction,
    Framework,
    IndicatorResult,
    Recheck,
    RecheckScore,
    Rectification,
    ReportNarrative,
    ReportPart,
    Unit,
)

S = EvaluationStatus
PAGE_SIZE = 100


def _require_reviewer_or_admin(user):
    if not (access.is_reviewer(user) or access.is_admin(user)):
        raise PermissionDenied("只有审核人和管理员可以查看此页面。")


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _year(request, years):
    year = _int(request.GET.get("year"))
    return year if year in years else (years[0] if years else None)


def _scope(request):
    """The units in the user's charge, narrowed by ?unit= (a part of the tree) and ?department= (a 主管部门)."""
    visible = Unit.objects.visible_to(request.user)
    subtree = visible.filter(pk=_int(request.GET.get("unit"))).first() if request.GET.get("unit") else None
    department = (Unit.objects.filter(pk=_int(request.GET.get("department"))).first()
                  if request.GET.get("department") else None)
    return dashboard.scoped_units(request.user, subtree=subtree, department=department), subtree, department


# --- 总览 ------------------------------------------------------------------------------------------


@login_required
def overview(request):
    """The dashboard for the reviewer's scope and a year: progress against the deadline, grades, scores, 执行率
    against score, the indicators losing most points, the largest changes; each chart links to the list below,
    narrowed to what it shows."""
    _require_reviewer_or_admin(request.user)
    frameworks = {f.year: f for f in Framework.objects.order_by("-year")}
    year = _year(request, list(frameworks))
    framework = frameworks.get(year)
    units, subtree, department = _scope(request)
    lines = dashboard.unit_lines(units, year or 0, framework, today=timezone.localdate())
    losses = dashboard.indicator_losses(units, year or 0)
    desk = dashboard.build(lines, losses, year)
    base = {k: v for k, v in (("year", year), ("unit", subtree and subtree.pk),
                              ("department", department and department.pk)) if v}

    detail, listing = reverse("evaluations:detail", args=[0]), reverse("evaluations:overview")

    def link(evaluation=None, **filters):
        if evaluation:  # one per dot: thousands of reverse() calls took seconds
            return detail.replace("/0/", f"/{evaluation}/", 1)
        return f"{listing}?{urlencode(base | filters)}#units"

    chart_set = dashboard.chart_definitions(desk, link)
    filters = {k: request.GET.get(k, "") for k in ("status", "grade", "band", "indicator", "changed")}
    band = None
    if filters["band"]:
        low, _, high = filters["band"].partition("-")
        band = (_int(low), _int(high)) if _int(low) is not None and _int(high) is not None else None
    losing = None
    if filters["indicator"]:
        category, _, name = filters["indicator"].partition("/")
        losing = dashboard.units_losing_on(units, year or 0, category, name)
    shown = dashboard.filter_lines(lines, status=filters["status"], grade=filters["grade"], band=band,
                                   indicator_units=losing, changed=bool(filters["changed"]))
    page = Paginator(shown, PAGE_SIZE).get_page(request.GET.get("page"))
    dashboard.add_details(page.object_list)
    visible = Unit.objects.visible_to(request.user)
    return render(request, "evaluations/overview.html", {
        "desk": desk, "year": year, "years": list(frameworks), "deadline": framework and framework.submission_deadline,
        "charts": {key: charts.svg(chart) for key, chart in chart_set.items()},
        "page": page, "rows": page.object_list, "filters": filters, "filtered": any(filters.values()),
        "counts": desk.status_counts, "total_units": len(lines), "status_filter": filters["status"],
        "grade_filter": filters["grade"], "grades": list(dashboard.GRADES),
        "action_labels": dict(EventAction.choices), "query": urlencode(base | {k: v for k, v in filters.items() if v}),
        "subtree": subtree, "department": department,
        "parents": visible.filter(children__isnull=False).distinct().order_by("code")[:200],
        "departments": Unit.objects.filter(supervised_units__in=visible).distinct().order_by("code")[:200],
        "can_recheck": access.is_reviewer(request.user),
    })


# --- 复核: the sample -----------------------------------------------------------------------------


def _reviewer(request):
    if not access.is_reviewer(request.user):
        raise PermissionDenied("只有财政部门的审核人可以开展复核。")


@login_required
def recheck_list(request):
    """The year's sample: the units suggested by risk with their reasons, those already drawn, and a way to add
    any other unit in the reviewer's charge."""
    _require_reviewer_or_admin(request.user)
    years = list(Framework.objects.order_by("-year").values_list("year", flat=True))
    year = _year(request, years)
    approved = Evaluation.objects.visible_to(request.user).filter(status=S.APPROVED)
    ranked = sampling.rank(sampling.load_facts(approved, year or 0), year or 0)
    drawn = {r.evaluation_id: r for r in Recheck.objects.filter(evaluation__in=Evaluation.objects.visible_to(request.user)).for_year(year or 0)
             .select_related("evaluation__unit", "drafted_by", "confirmed_by")}
    suggested = sampling.suggest([r for r in ranked if r.facts.evaluation_id not in drawn])
    return render(request, "evaluations/recheck_list.html", {
        "year": year, "years": years, "suggested": suggested, "ranked": ranked[:PAGE_SIZE],
        "drawn": sorted(drawn.values(), key=lambda r: r.evaluation.unit.code), "approved_count": len(ranked),
        "can_draw": access.is_reviewer(request.user),
    })


@login_required
@require_POST
def recheck_draw(request):
    _reviewer(request)
    form = RecheckDrawForm(request.POST)
    form.is_valid()
    code, year, picked = form.value("unit") or "", form.value("year"), form.value("evaluation")
    evaluations = Evaluation.objects.visible_to(request.user).select_related("unit", "framework").filter(framework__year=year)
    if picked:
        evaluation = evaluations.filter(pk=picked).first()
    else:
        evaluation = (evaluations.filter(unit__code=code).first() or evaluations.filter(unit__name=code).first()) if code else None
    back = f"{reverse('evaluations:rechecks')}?year={year or ''}"
    if evaluation is None:
        messages.error(request, f"在您负责的单位中找不到“{code}”{year or ''}年的自评，请填写单位编码或全称。" if code
                       else "请选择或填写要复核的单位。")
        return redirect(back)
    # The reasons are worked out again here rather than taken from the form: what is recorded is what the data say.
    [facts] = sampling.load_facts(Evaluation.objects.filter(pk=evaluation.pk), evaluation.year) or [None]
    reasons = [s.reason for s in sampling.signals_of(facts, evaluation.year)] if facts else []
    try:
        recheck = rechecks.draw(evaluation, by=request.user, reasons=reasons)
    except rechecks.RecheckError as error:
        messages.error(request, error.message)
        return redirect(back)
    messages.success(request, f"已将{evaluation}列入复核样本，请逐项复核评分。")
    return redirect("evaluations:recheck", recheck.evaluation_id)


# --- 复核: one evaluation -------------------------------------------------------------------------


def load_recheck(request, pk):
    """The 复核 of an evaluation the user may see. The unit sees it once confirmed; a draft is the bureau's
    working paper (404 for the unit, as for anyone outside its scope)."""
    evaluation = get_object_or_404(Evaluation.objects.visible_to(request.user).select_related("unit", "framework"), pk=pk)
    queryset = Recheck.objects.select_related("drafted_by", "confirmed_by", "answered_by").prefetch_related(
        Prefetch("scores", queryset=RecheckScore.objects.select_related("reason")),
    )
    recheck = queryset.filter(evaluation=evaluation).first()
    if recheck is None:
        raise Http404("该自评没有复核。")
    if not rechecks.may_see(request.user, recheck):
        raise Http404("该自评没有复核。")
    recheck.evaluation = evaluation
    return recheck


@login_required
def recheck_detail(request, pk):
    """自评 and 复核 side by side per row, with the difference and the reason; both totals and grades; the
    forms for whoever may act now."""
    recheck = load_recheck(request, pk)
    evaluation = recheck.evaluation
    evaluation._prefetched_objects_cache = {
        "results": IndicatorResult.objects.filter(evaluation=evaluation).select_related("category")
        .order_by("category__parent__order", "category__order", "order", "pk")
    }
    user = request.user
    compared = recheck.compared_rows()
    own, bureau = recheck.totals()
    thresholds = evaluation.framework.grade_thresholds
    can_score = rechecks.can_rescore(user, recheck)
    is_bureau = access.is_reviewer(user) or access.is_admin(user)
    return render(request, "evaluations/recheck_detail.html", {
        "recheck": recheck, "evaluation": evaluation, "rows": compared,
        "own_total": own, "own_grade": scoring.grade(own, thresholds),
        "bureau_total": bureau, "bureau_grade": scoring.grade(bureau, thresholds), "difference": bureau - own,
        "can_score": can_score, "reasons": DeductionReason.objects.filter(is_active=True) if can_score else [],
        "actions": rechecks.available_actions(user, recheck),
        "events": recheck.events.select_related("actor") if is_bureau else recheck.events.filter(
            action__in=["confirm", "answer", "close"]).select_related("actor"),
        "action_labels": rechecks.ACTION_LABELS, "is_bureau": is_bureau,
        "rectifications": [
            (item, rechecks.can_answer_rectification(user, item), rechecks.can_review_rectification(user, item))
            for item in evaluation.rectifications.order_by("deadline", "pk")
        ],
        "can_rectify": rechecks.may_rectify(user, evaluation),
        "is_member": access.is_member(user, evaluation.unit),
        "today": timezone.localdate(), "default_deadline": timezone.localdate() + datetime.timedelta(days=10),
    })


@login_required
@require_POST
def recheck_score(request, pk):
    recheck = load_recheck(request, pk)
    if not rechecks.can_rescore(request.user, recheck):
        raise PermissionDenied("只有起草该复核的审核人可以在复核确认前评分。")
    form = RecheckScoreForm(request.POST, recheck=recheck)
    valid = form.is_valid()
    result = form.cleaned_data.get("result")
    back = f"{reverse('evaluations:recheck', args=[pk])}" + (f"#row-{result.pk}" if result else "")
    if not valid:
        messages.error(request, form.message())
        return redirect(back)
    data = form.cleaned_data
    try:
        rechecks.rescore(recheck, result, by=request.user, score=data["score"], reason=data["reason"],
                         note=data["note"], expected_version=data["version"])
    except rechecks.RecheckError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"已保存“{result.name}”的复核评分。")
    return redirect(back)


@login_required
@require_POST
def recheck_transition(request, pk, action):
    recheck = load_recheck(request, pk)
    if action not in rechecks.TRANSITIONS:
        raise PermissionDenied("未知的操作。")
    refused = rechecks.refusal(request.user, recheck, action)
    if refused:
        raise PermissionDenied(refused)
    form = RecheckActionForm(request.POST, action=action)
    try:
        if not form.is_valid():
            raise rechecks.RecheckError(form.message())
        version, text = form.value("version"), form.value("reason")
        if action == "confirm":
            rechecks.confirm(recheck, by=request.user, opinion=form.value("opinion"),
                             answer_deadline=form.value("answer_deadline"), expected_version=version)
        elif action == "answer":
            rechecks.answer(recheck, by=request.user, text=text, expected_version=version)
        else:
            rechecks.ACTIONS[action](recheck, by=request.user, reason=text, expected_version=version)
    except rechecks.RecheckError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"已{rechecks.TRANSITIONS[action].label}：{recheck.evaluation}。")
    return redirect("evaluations:recheck", pk)


def _letter(request, pk, extension):
    """The 复核意见书 of a confirmed 复核, as Word or PDF."""
    from evaluations.documents import recheck as letter
    from evaluations.documents.html_pdf import PDF_TYPE, pdf_unavailable_reason
    from evaluations.documents.word import DOCX_TYPE

    recheck = load_recheck(request, pk)
    if not recheck.is_final:
        raise PermissionDenied("复核确认后才能出具复核意见书。")
    recheck.evaluation._prefetched_objects_cache = {"results": IndicatorResult.objects.filter(
        evaluation=recheck.evaluation).select_related("category").order_by(
        "category__parent__order", "category__order", "order", "pk")}
    if extension == "pdf":
        if reason := pdf_unavailable_reason():
            return HttpResponse(reason, status=503, content_type="text/plain; charset=utf-8")
        data, content_type = letter.letter_pdf(recheck), PDF_TYPE
    else:
        data, content_type = letter.letter_docx(recheck), DOCX_TYPE
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, letter.letter_filename(recheck, extension))
    return response


@login_required
def recheck_letter_pdf(request, pk):
    return _letter(request, pk, "pdf")


@login_required
def recheck_letter_docx(request, pk):
    return _letter(request, pk, "docx")


# --- 整改 ------------------------------------------------------------------------------------------


def _evaluation(request, pk):
    return get_object_or_404(Evaluation.objects.visible_to(request.user).select_related("unit", "framework"), pk=pk)


def _back_to(evaluation):
    target = "evaluations:recheck" if Recheck.objects.filter(evaluation=evaluation).exists() else "evaluations:detail"
    return f"{reverse(target, args=[evaluation.pk])}#rectifications"


@login_required
@require_POST
def rectification_add(request, pk):
    evaluation = _evaluation(request, pk)
    if not rechecks.may_rectify(request.user, evaluation):
        raise PermissionDenied("只有负责该单位财政复核的审核人可以提出整改事项。")
    form = RectificationForm(request.POST)
    recheck = Recheck.objects.filter(evaluation=evaluation).first()
    try:
        if not form.is_valid():
            raise rechecks.RecheckError(form.message())
        rechecks.add_rectification(evaluation, by=request.user, recheck=recheck, **form.cleaned_data)
    except rechecks.RecheckError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "已提出整改事项，单位可在期限内反馈整改情况。")
    return redirect(_back_to(evaluation))


@login_required
@require_POST
def rectification_answer(request, pk, item_pk):
    evaluation = _evaluation(request, pk)
    item = get_object_or_404(Rectification, pk=item_pk, evaluation=evaluation)
    if not access.is_member(request.user, evaluation.unit):
        raise PermissionDenied("只有本单位的填报人可以反馈整改情况。")
    form = RectificationAnswerForm(request.POST, request.FILES)
    try:
        if not form.is_valid():
            raise rechecks.RecheckError(form.message())
        rechecks.answer_rectification(item, by=request.user, text=form.cleaned_data["answer"],
                                      evidence=form.cleaned_data["evidence"])
    except rechecks.RecheckError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "已反馈整改情况。")
    return redirect(_back_to(evaluation))


@login_required
@require_POST
def rectification_review(request, pk, item_pk):
    evaluation = _evaluation(request, pk)
    item = get_object_or_404(Rectification, pk=item_pk, evaluation=evaluation)
    if not rechecks.may_rectify(request.user, evaluation):
        raise PermissionDenied("只有负责该单位财政复核的审核人可以销号或退回整改。")
    form = RectificationReviewForm(request.POST)
    accept = form.is_valid() and form.cleaned_data["decision"] == "close"
    try:
        if form.errors:
            raise rechecks.RecheckError(form.message())
        rechecks.review_rectification(item, by=request.user, accept=accept, reason=form.cleaned_data["reason"])
    except rechecks.RecheckError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "已销号。" if accept else "已退回单位继续整改。")
    return redirect(_back_to(evaluation))


@login_required
def rectification_evidence(request, pk, item_pk):
    evaluation = _evaluation(request, pk)
    item = get_object_or_404(Rectification, pk=item_pk, evaluation=evaluation)
    if not item.evidence:
        raise Http404("该整改事项没有佐证材料。")
    return FileResponse(item.evidence.open("rb"), as_attachment=True, filename=item.evidence_name or "整改佐证")


@login_required
def results_workbook(request):
    """The year's results for the budget department: scores, final grades, tiers, 整改 (the user's scope)."""
    import tempfile

    from evaluations.spreadsheets.cells import XLSX_TYPE
    from evaluations.spreadsheets.results import results_filename, write_results

    _require_reviewer_or_admin(request.user)
    years = list(Framework.objects.order_by("-year").values_list("year", flat=True))
    year = _year(request, years)
    if year is None:
        raise Http404("还没有年度指标体系。")
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse streams the file and closes it
    write_results(spool, year, Unit.objects.visible_to(request.user))
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=results_filename(year), content_type=XLSX_TYPE)


# --- 汇总分析报告 -------------------------------------------------------------------------------------


@login_required
def summary_report(request):
    """The report as a page (every number from the data, charts inline), the bureau's narrative parts to edit,
    and the buttons that build the Word and PDF files in the background."""
    _require_reviewer_or_admin(request.user)
    from evaluations.documents import summary

    years = list(Framework.objects.order_by("-year").values_list("year", flat=True))
    year = _year(request, years)
    if year is None:
        raise Http404("还没有年度指标体系。")
    report = summary.build_summary(Unit.objects.visible_to(request.user), year)
    narratives = {n.part: n for n in ReportNarrative.objects.filter(year=year)}
    return render(request, "evaluations/summary_report_page.html", {
        "year": year, "years": years, "report_html": summary.render_html(report, standalone=False, inline_svg=True),
        "parts": [(part, label, narratives[part].body if part in narratives else "") for part, label in ReportPart.choices],
        "can_edit": access.is_admin(request.user) or access.is_reviewer(request.user),
    })


@login_required
@require_POST
def summary_narrative(request):
    _require_reviewer_or_admin(request.user)
    form = SummaryNarrativeForm(request.POST)
    if not form.is_valid() and "year" in form.errors:
        raise Http404("没有该年度。")
    year = form.cleaned_data["year"]
    back = f"{reverse('evaluations:summary_report')}?year={year}"
    if form.errors:
        messages.error(request, form.message())
    else:
        part, body = form.cleaned_data["part"], form.cleaned_data["body"]
        ReportNarrative.objects.update_or_create(year=year, part=part, defaults={"body": body, "updated_by": request.user})
        messages.success(request, f"已保存“{ReportPart(part).label}”。")
    return redirect(back)
