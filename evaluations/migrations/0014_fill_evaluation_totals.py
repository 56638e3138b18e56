"""Fill EvaluationTotals for the evaluations that exist: the rows' stored 得分 summed and the funding lines' sums,
exactly as `store_totals` stores them after a refresh (the stored row scores are already
what the rules decide: every write refreshed them)."""

from decimal import ROUND_HALF_UP, Decimal

from django.db import migrations

FUNDING_SOURCES = ("fiscal", "carryover", "other")
CENT = Decimal("0.01")
CHUNK = 500


def fill(apps, schema_editor):
    Evaluation = apps.get_model("evaluations", "Evaluation")
    EvaluationTotals = apps.get_model("evaluations", "EvaluationTotals")
    IndicatorResult = apps.get_model("evaluations", "IndicatorResult")
    BudgetLine = apps.get_model("evaluations", "BudgetLine")
    zero = Decimal("0")
    ids = list(Evaluation.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        totals = {pk: EvaluationTotals(evaluation_id=pk) for pk in chunk}
        scores = IndicatorResult.objects.filter(evaluation_id__in=chunk, score__isnull=False).values_list(
            "evaluation_id", "score")
        for evaluation_id, score in scores:
            totals[evaluation_id].score = (totals[evaluation_id].score or zero) + score
        for evaluation_id, adjusted, executed in BudgetLine.objects.filter(
                evaluation_id__in=chunk, item__in=FUNDING_SOURCES).values_list("evaluation_id", "adjusted_budget", "executed"):
            totals[evaluation_id].adjusted_budget += adjusted
            totals[evaluation_id].executed += executed
        for total in totals.values():
            if total.score is not None:
                total.score = total.score.quantize(CENT, rounding=ROUND_HALF_UP)
        EvaluationTotals.objects.bulk_create(totals.values(), batch_size=CHUNK)


class Migration(migrations.Migration):

    dependencies = [
        ("evaluations", "0013_evaluation_totals"),
    ]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
