from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import get_object_or_404, render

from evaluations import scoring
from evaluations.documents import build_document
from evaluations.models import Evaluation, EvaluationStatus, Framework


def _visible(request):
    return Evaluation.objects.visible_to(request.user)


def load_evaluation(request, pk):
    """The one scoped way to load an evaluation with everything its pages read: 404 when not visible."""
    return get_object_or_404(_visible(request).with_document_data(), pk=pk)


@login_required
def evaluation_list(request):
    years = list(Framework.objects.order_by("-year").values_list("year", flat=True))
    year = request.GET.get("year")
    year = int(year) if year and year.isdigit() and int(year) in years else (years[0] if years else None)
    evaluations = (
        _visible(request)
        .for_year(year)
        .select_related("unit", "framework")
        .with_total_score()
        .order_by("unit__code")
    )
    rows = [
        (e, e.total_score_sum, scoring.grade(e.total_score_sum or 0, e.framework.grade_thresholds))
        for e in evaluations
    ]
    counts = dict(evaluations.order_by().values_list("status").annotate(n=Count("pk")))
    return render(
        request,
        "evaluations/evaluation_list.html",
        {
            "rows": rows,
            "years": years,
            "year": year,
            "status_counts": [(label, counts.get(value, 0)) for value, label in EvaluationStatus.choices],
        },
    )


@login_required
def evaluation_detail(request, pk):
    evaluation = load_evaluation(request, pk)
    return render(
        request,
        "evaluations/evaluation_detail.html",
        {"evaluation": evaluation, "scorecard": evaluation.scorecard()},
    )


@login_required
def evaluation_document(request, pk):
    evaluation = load_evaluation(request, pk)
    return render(request, "evaluations/document.html", {"document": build_document(evaluation)})
