"""The submit checklist, computed from the data: every problem at once, blocking errors and warnings.

Each problem carries an anchor ("row-12", "section-3", "budget") so the page can link to where it is fixed.
"""

from dataclasses import dataclass

from evaluations import project_scoring, scoring
from evaluations.models import Comparison, Project, ProjectScoring


@dataclass(frozen=True)
class Problem:
    message: str
    anchor: str = ""
    blocking: bool = True
    project_id: int | None = None  # the problem is on this project's page


def problems(evaluation, card=None, projects=None):
    """All problems of the package: an evaluation loaded with Evaluation.objects.with_document_data() (plus its
    comments) and its projects (loaded here with Project.objects.with_table_data() unless given)."""
    card = card or evaluation.scorecard()
    if projects is None:
        projects = Project.objects.with_table_data().filter(evaluation=evaluation).order_by("order", "pk")
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

    found += package_project_problems(list(projects))

    unanswered = [c for c in evaluation.comments.all() if c.is_open]
    if unanswered:  # the link lands on the first one, where it is answered
        found.append(Problem(f"还有 {len(unanswered)} 条审核意见未答复，请逐条答复后再提交。", f"comment-{unanswered[0].pk}"))
    return found


def package_project_problems(projects):
    if not projects:
        return []
    project_framework = projects[0].project_framework
    if project_framework is None:
        return [Problem(f"{projects[0].year}年度尚未设置项目支出指标体系，项目无法评分，请联系管理员。")]
    found = [Problem(f"项目支出指标体系有误：{m}请联系管理员。")
             for m in project_scoring.template_errors(project_framework.template.all(), project_framework.execution_weight)]
    for project in projects:
        found += project_problems(project)
    return found


def project_problems(project, card=None):
    """A project's 自评表: complete, every lost point explained, a low 执行率 explained (docs/domain.md §8–9)."""
    card = card or project.scorecard()
    label = f"项目“{project.name}”"

    def problem(message, anchor="", blocking=True):
        return Problem(f"{label}：{message}", anchor, blocking, project.pk)

    found = [problem(message, "indicators") for message in project_scoring.weight_errors(card)]
    if not project.goal_expected.strip() or not project.goal_actual.strip():
        found.append(problem("请填写年度总体目标的预期目标和实际完成情况。", "goal"))
    if card.rate is None:
        found.append(problem("请填写项目资金：全年预算数不能为 0。", "funds"))
    elif card.execution_needs_reason and not project.execution_note.strip():
        found.append(problem(f"执行率为 {card.rate}%，低于 {scoring.plain(card.pack.low_execution_rate)}%，请说明原因。", "funds"))
    if card.execution.flagged:
        found.append(problem(f"{card.execution.flagged}。", "funds", blocking=False))
    for scored in card.rows:
        row, anchor = scored.row, f"prow-{scored.row.pk}"
        if scored.score is None:
            found.append(problem(f"指标“{row.name}”尚未得分：{scored.result.explanation}。", anchor))
        elif scored.reason_missing:
            found.append(problem(f"指标“{row.name}”失分 {scoring.plain(scored.points_lost)} 分，请填写偏差原因分析及改进措施。", anchor))
        if row.method == ProjectScoring.BY_RULE and row.target_value is None and scored.score is not None:
            found.append(problem(f"指标“{row.name}”缺少年度指标值。", anchor))
    return found


def blocking(evaluation):
    return [p for p in problems(evaluation) if p.blocking]
