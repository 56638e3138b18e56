"""Projects in the unit's package: the framework's presets and rule pack, the 自评表 scored, and the demo."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from evaluations import access, editing
from evaluations.models import Project, ProjectIndicator
from tests.factories import make_evaluation, make_framework, make_project, make_project_framework, make_user


@pytest.fixture
def evaluation(db):
    make_project_framework()
    return make_evaluation()


def test_the_10_weighting_preset_is_the_national_table(db):
    pf = make_project_framework("10")
    tops = [(t.name, t.weight) for t in pf.template.filter(level=1).order_by("order")]
    assert (pf.execution_weight, tops) == (D("10"), [("产出指标", D("50")), ("效益指标", D("30")), ("满意度指标", D("10"))])
    assert list(pf.template.filter(parent__name="产出指标").values_list("name", flat=True)) == [
        "数量指标", "质量指标", "时效指标", "成本指标"]
    assert pf.rule_pack().short_name == "10 号文"


def test_the_101_weighting_preset_has_cost_and_the_101_rules(db):
    pf = make_project_framework("101")
    tops = [(t.name, t.weight) for t in pf.template.filter(level=1).order_by("order")]
    assert tops == [("成本指标", D("20")), ("产出指标", D("40")), ("效益指标", D("20")), ("满意度指标", D("10"))]
    assert pf.execution_weight == D("10")
    assert pf.rule_pack().execution_rule == "stepped"


def test_a_project_scores_execution_and_rows_and_stores_the_total(evaluation):
    project = make_project(evaluation, fiscal=(D("100"), D("100"), D("78")))
    card = project.refresh_scores()
    assert card.execution.score == D("7.80")
    assert card.execution.explanation == "执行率 78.00%，按 10 号文按比例得 7.8 分"
    assert card.total == D("97.80") == card.rows_total
    project.refresh_from_db()
    assert (project.execution_score, project.total_score, project.grade) == (D("7.80"), D("97.80"), "优")
    assert card.execution_needs_reason


def test_the_framework_switches_to_101_and_caps(evaluation):
    pf = evaluation.framework.project_framework
    pf.scoring_basis, pf.execution_caps_enabled = "101", True
    pf.save()
    project = make_project(evaluation, fiscal=(D("100"), D("100"), D("78")))
    card = project.refresh_scores()
    assert card.execution.explanation.startswith("执行率 78.00%，按 101 号文分档得 5 分")
    assert card.rows_total == D("95.00")
    assert card.total == D("89.00")
    assert card.capped.explanation == "执行率 78.00%，低于 80%，总分最高 89 分（各项得分合计 95 分）"
    project.refresh_from_db()
    assert project.total_score == D("89.00")


def test_rule_rows_store_their_computed_score(evaluation):
    project = make_project(evaluation, rows=[
        ("产出指标", "数量指标", "完成数量", ">=", D("10"), D("8"), D("50")),
    ])
    project.refresh_scores()
    assert ProjectIndicator.objects.get(project=project).score == D("40.00")


def test_weight_errors_say_which_dimension_is_off(evaluation):
    from evaluations import project_scoring

    project = make_project(evaluation, rows=[("产出指标", "数量指标", "完成数量", ">=", D("10"), D("10"), D("40"))])
    errors = project_scoring.weight_errors(project.scorecard())
    assert "“产出指标”的三级指标分值合计 40 分，应为 50 分。" in errors
    assert "“效益指标”的三级指标分值合计 0 分，应为 30 分。" in errors


def test_a_bad_rule_pack_is_refused_in_chinese(evaluation):
    pf = evaluation.framework.project_framework
    pf.execution_steps = [[60, 0.5], [80, 0.7]]
    with pytest.raises(ValidationError) as error:
        pf.full_clean()
    assert "执行率分档应按比率从高到低排列，且不重复。" in error.value.messages
    pf.execution_steps = "十档"
    with pytest.raises(ValidationError) as error:
        pf.full_clean()
    assert "执行率分档应为“[[比率, 数值], ...]”的列表" in error.value.messages[0]


def test_department_framework_takes_caps_within_what_the_lists_can_apply(db):
    """The 部门整体 total is capped too (tests/test_total_caps.py); the lists apply the caps in the database,
    so a cap table is bounded: at most rule_packs.MAX_CAPS steps, bounds of two places as the rate is."""
    framework = make_framework()
    framework.execution_caps_enabled = True
    framework.full_clean()
    framework.execution_caps = [[80 - n, 89 - n] for n in range(9)]
    with pytest.raises(ValidationError) as error:
        framework.full_clean()
    assert "执行率封顶规则最多 8 档。" in error.value.messages
    framework.execution_caps = [["69.995", "79"]]
    with pytest.raises(ValidationError) as error:
        framework.full_clean()
    assert "执行率封顶规则中的执行率最多两位小数（执行率按两位小数计算）。" in error.value.messages


def test_qualitative_row_score_must_lie_in_its_tier(evaluation):
    project = make_project(evaluation, rows=[])
    row = ProjectIndicator(
        project=project, category=project.project_framework.template.get(name="社会效益指标"), name="定性",
        comparison="qualitative", weight=D("10"), method="qualitative", band="partly", score=D("9"),
    )
    with pytest.raises(ValidationError) as error:
        row.full_clean()
    assert error.value.message_dict["score"] == ["“部分达成”的得分应在 6 到 8 分之间，现为 9 分。"]
    row.method, row.band, row.score = "rule", "", None
    with pytest.raises(ValidationError) as error:
        row.full_clean()
    assert "按规则计分的指标需选择指标性质" in error.value.message_dict["comparison"][0]


def test_the_template_cannot_be_replaced_once_used(evaluation):
    make_project(evaluation)
    with pytest.raises(ValidationError):
        evaluation.framework.project_framework.apply_weighting("101")


def test_project_without_a_year_framework_says_so(db):
    evaluation = make_evaluation()
    project = Project.objects.create(evaluation=evaluation, name="项目", supervising_department="a", implementing_unit="b")
    with pytest.raises(ValidationError) as error:
        project.scorecard()
    assert error.value.messages == ["2024年度尚未设置项目支出指标体系，请联系管理员。"]


def test_demo_has_three_projects_losing_points_with_reasons(demo):
    projects = list(Project.objects.with_table_data().filter(evaluation=demo).order_by("order"))
    assert len(projects) == 3 and all(p.is_demo for p in projects)
    cards = {p.name: (p, p.scorecard()) for p in projects}

    renovation, card = cards["化龙镇老旧小区微改造项目"]
    assert card.rate == D("85.00")
    assert card.execution.score == D("8.50")
    assert card.execution_needs_reason and renovation.execution_note

    river, card = cards["化龙镇河涌水环境综合整治项目"]
    missed = [r for r in card.rows if r.points_lost > 0]
    assert [r.row.name for r in missed] == ["河涌清淤长度", "主要河涌水质达标率"]
    assert all(r.row.deviation_reason and not r.reason_missing for r in missed)

    for project, card in cards.values():
        assert project.total_score == card.total == card.rows_total
        assert card.total == (card.execution.score + sum(r.score for r in card.rows))
        assert not [r for r in card.rows if r.reason_missing]
        assert card.max_total == D("100")
        from evaluations import project_scoring

        assert project_scoring.weight_errors(card) == []


def test_loading_the_demo_again_keeps_three_projects(demo, settings):
    import io

    from django.core.management import call_command

    call_command("load_demo", stdout=io.StringIO())
    assert Project.objects.filter(evaluation__unit__code="440113-HLZ").count() == 3


# --- editing and the package checklist --------------------------------------------------------------


def test_package_checklist_covers_every_project(evaluation):
    from evaluations import checklist
    from evaluations.models import Evaluation

    project = make_project(evaluation, name="缺数项目", fiscal=(D("100"), D("100"), D("70")), rows=[
        ("产出指标", "数量指标", "完成数量", ">=", D("10"), None, D("50")),
        ("效益指标", "社会效益指标", "受益人数", ">=", D("100"), D("50"), D("30")),
        ("满意度指标", "服务对象满意度指标", "满意度", ">=", D("90"), D("95"), D("10")),
    ])
    loaded = Evaluation.objects.with_document_data().get(pk=evaluation.pk)
    messages = [p.message for p in checklist.problems(loaded) if p.project_id == project.pk]
    assert messages == [
        "项目“缺数项目”：执行率为 70.00%，低于 90%，请说明原因。",
        "项目“缺数项目”：指标“完成数量”尚未得分：尚未填写实际完成值。",
        "项目“缺数项目”：指标“受益人数”失分 15 分，请填写偏差原因分析及改进措施。",
    ]
    assert all(p.blocking for p in checklist.problems(loaded) if p.project_id)


def test_demo_package_has_no_project_problems(demo):
    from evaluations import checklist
    from evaluations.models import Evaluation

    loaded = Evaluation.objects.with_document_data().get(pk=demo.pk)
    assert [p.message for p in checklist.problems(loaded) if p.project_id] == []


def test_saving_a_project_refuses_a_stale_page_and_a_submitted_package(evaluation):
    from evaluations import access, editing, workflow
    from evaluations.models import Evaluation, EvaluationStatus, FieldChange
    from tests.factories import make_user

    filler = make_user(access.FILLER, units=[evaluation.unit])
    project = make_project(evaluation)
    row = project.indicators.get(name="完成数量")
    row.actual_value = D("5")
    fresh, card = editing.save_project(project, by=filler, expected_version=project.version,
                                       edits=[(row, {"actual_value": D("10")})])
    assert card.total == D("75.00") and fresh.total_score == D("75.00")
    assert FieldChange.objects.filter(evaluation=evaluation, object_label__contains="完成数量").count() == 1
    with pytest.raises(editing.StaleEdit):
        editing.save_project(fresh, by=filler, expected_version=project.version, edits=[(row, {"actual_value": D("5")})])
    Evaluation.objects.filter(pk=evaluation.pk).update(status=EvaluationStatus.SUBMITTED)
    fresh.evaluation.refresh_from_db()
    with pytest.raises(workflow.WorkflowError):
        editing.save_project(fresh, by=filler, expected_version=fresh.version, edits=[])
    stranger = make_user(access.FILLER)
    with pytest.raises(workflow.WorkflowError):
        editing.delete_project(fresh, by=stranger)
    assert Project.objects.filter(pk=project.pk).exists()


def test_starting_from_last_year_carries_the_projects_and_their_targets_marked_as_copied(db):
    from tests.factories import make_unit

    make_project_framework(year=2023)
    make_project_framework(year=2024)
    unit = make_unit()
    last = make_evaluation(unit=unit, framework=make_framework(2023))
    old = make_project(last, name="村道硬化工程", code="CD-1", fiscal=(D("100"), D("100"), D("90")))
    current = editing.start_from_previous(unit=unit, framework=make_framework(2024), previous=last,
                                          by=make_user(access.FILLER, units=[unit]))
    copy = Project.objects.with_table_data().get(evaluation=current)
    assert (copy.name, copy.code, copy.copied_from_id, copy.goal_expected, copy.goal_actual) == (
        "村道硬化工程", "CD-1", old.pk, "预期目标", "")
    assert copy.fiscal_adjusted == D("0")
    rows = list(copy.indicators.order_by("order"))
    assert [(r.name, r.target_value, r.weight, r.actual_value, r.copied_from_previous_year) for r in rows] == [
        ("完成数量", D("10.00"), D("50.00"), None, True),
        ("受益人数", D("100.00"), D("30.00"), None, True),
        ("满意度", D("90.00"), D("10.00"), None, True),
    ]
    assert all(r.category.project_framework.framework.year == 2024 for r in rows)


def test_a_save_asks_about_projects_only_when_it_is_refused_and_then_lists_their_problems(evaluation):
    """The save from the page answers with its outcome and totals (no checklist): it does not ask whether the
    evaluation has projects. Refused, it shows the page again, whose checklist still lists every project's
    problems."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import login
    from tests.test_edit_page import edit_form, row_prefix

    make_project(evaluation, name="缺数项目", fiscal=(D("100"), D("100"), D("70")))
    client = login(make_user(access.FILLER, units=[evaluation.unit]))
    url = f"/evaluations/{evaluation.pk}/edit/"
    data = edit_form(client, evaluation)
    with CaptureQueriesContext(connection) as saving:
        saved = client.post(url, data, HTTP_HX_REQUEST="true")
    assert saved.status_code == 200 and "已保存" in saved.content.decode()
    assert not any("evaluations_project" in q["sql"] for q in saving.captured_queries)
    data = edit_form(client, evaluation)
    data[f"{row_prefix(data, 'score', '5.00')}-score"] = "50"
    refused = client.post(url, data, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400
    assert "项目“缺数项目”：执行率为 70.00%，低于 90%，请说明原因。" in refused.content.decode()
