"""The submit checklist, computed from the data: every problem at once, blocking errors and warnings.

Each problem carries an anchor ("row-12", "section-3", "budget") so the page can link to where it is fixed.
"""

from dataclasses import dataclass

from evaluations import scoring
from evaluations.models import Comparison


@dataclass(frozen=True)
class Problem:
    message: str
    anchor: str = ""
    blocking: bool = True


def problems(evaluation, card=None):
    """All problems of an evaluation loaded with Evaluation.objects.with_document_data() (plus its comments)."""
    card = card or evaluation.scorecard()
    found = []
    for message in scoring.framework_errors(evaluation.framework.indicators.all(), require_complete=True):
        found.append(Problem(f"年度指标体系有误：{message}请联系管理员。"))
    for category, message in scoring.category_weight_errors(card):
        found.append(Problem(message, f"category-{category.indicator.pk}"))

    budget = card.budget
    if budget.rate is None:
        found.append(Problem("请填写预算执行情况：全年预算数不能为 0。", "budget"))
    elif budget.rate < scoring.LOW_EXECUTION_RATE and not evaluation.budget_note.strip():
        found.append(Problem(f"预算执行率为 {budget.rate}%，低于 90%，请在“预算执行情况说明”中说明原因。", "budget"))
    for message in scoring.budget_errors(budget):
        found.append(Problem(message, "budget", blocking=False))

    for scored in card.rows:
        row, anchor = scored.row, f"row-{scored.row.pk}"
        # The save's own check (the model's clean() asks the same function): what it refuses is listed here too.
        for message in scoring.row_errors(row).values():
            found.append(Problem(f"指标“{row.name}”：{message}", anchor))
        if scored.score is None:
            found.append(Problem(f"指标“{row.name}”尚未得分：{scored.result.explanation}。", anchor))
        elif scored.reason_missing:
            found.append(Problem(f"指标“{row.name}”失分 {scoring.plain(row.weight - scored.score)} 分，请填写偏差原因分析及改进措施。", anchor))
        if row.comparison != Comparison.QUALITATIVE and row.target_value is None and not row.actual_source:
            found.append(Problem(f"指标“{row.name}”缺少年度指标值。", anchor))

    for section in evaluation.sections_in_order():
        if not section.is_filled:
            found.append(Problem(f"说明的“{section.title}”部分尚未填写。", f"section-{section.pk}"))

    unanswered = [c for c in evaluation.comments.all() if c.is_open]
    if unanswered:  # the link lands on the first one, where it is answered
        found.append(Problem(f"还有 {len(unanswered)} 条审核意见未答复，请逐条答复后再提交。", f"comment-{unanswered[0].pk}"))
    return found


def blocking(evaluation):
    return [p for p in problems(evaluation) if p.blocking]
