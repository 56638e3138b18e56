"""Projects from Excel: the official sheets read back unchanged, a 绩效目标申报表 of many projects imported all or
nothing, every problem listed with its sheet and cell, and 200 projects × 15 indicators well within 20 s."""

import io
import time
from decimal import Decimal as D

import pytest
from openpyxl import Workbook

from evaluations import access
from evaluations.models import Evaluation, EvaluationStatus, FieldChange, Project, ProjectIndicator
from evaluations.spreadsheets import project_official
from tests.factories import make_evaluation, make_project_framework, make_user

pytestmark = pytest.mark.django_db

ROW_FIELDS = ("name", "comparison", "target_value", "target_text", "unit_of_measure", "actual_value", "actual_text",
              "weight", "method", "band", "score", "deviation_reason")


def snapshot(evaluation):
    return (
        list(Project.objects.filter(evaluation=evaluation).order_by("pk").values_list(
            "name", "code", "fiscal_adjusted", "fiscal_executed", "goal_expected", "execution_note", "total_score")),
        list(ProjectIndicator.objects.filter(project__evaluation=evaluation).order_by("project", "order")
             .values_list("category__name", *ROW_FIELDS)),
    )


def filler_of(evaluation):
    return make_user(access.FILLER, units=[evaluation.unit])


def declaration(projects, *, with_weights=True, first_sheet_problem=None):
    """A 绩效目标申报表: one sheet per project, header, funds, goal and indicators with their 指标值 (≥500 in one
    cell, as declarations write it), no 实际完成值."""
    wb = Workbook()
    wb.remove(wb.active)
    for n, (name, indicators) in enumerate(projects):
        ws = wb.create_sheet(f"项目{n + 1}")
        ws.append(["项目支出绩效目标申报表（2024年度）"])
        ws.append(["项目名称", name, None, "项目编码", f"SB-{n:04d}"])
        ws.append(["主管部门", "广州市番禺区化龙镇人民政府", None, "实施单位", "化龙镇规划建设办公室"])
        ws.append(["项目资金（万元）", None, "年初预算数", "全年预算数", "全年执行数"])
        ws.append([None, "其中：当年财政拨款", 100, 120, None])
        ws.append([None, "其他资金", 10, 10, None])
        ws.append(["年度总体目标", "完成年度建设任务，改善群众生产生活条件。"])
        header = ["一级指标", "二级指标", "三级指标", "指标值", "度量单位"] + (["分值"] if with_weights else [])
        ws.append(header)
        for top, category, leaf, target, unit, weight in indicators:
            ws.append([top, category, leaf, target, unit] + ([weight] if with_weights else []))
        if n == 0 and first_sheet_problem:
            first_sheet_problem(ws)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def fifteen_indicators(n=15):
    """15 rows sharing 产出 50, 效益 30, 满意度 10 (10 / 4 / 1 rows)."""
    rows = [("产出指标", "数量指标", f"完成任务{i}", f"≥{10 + i}", "项", D("5")) for i in range(10)]
    rows += [("效益指标", "社会效益指标", f"受益指标{i}", "≥95", "%", D("7.5")) for i in range(4)]
    rows += [("满意度指标", "服务对象满意度指标", "群众满意度", "≥90", "%", D("10"))]
    return rows[:n]


def test_the_official_workbook_reads_back_unchanged(demo):
    filler = filler_of(demo)
    projects = list(Project.objects.with_table_data().filter(evaluation=demo))
    before = snapshot(demo)
    result = project_official.import_projects(demo, project_official.write_projects_workbook(projects),
                                              by=filler, dry_run=False)
    assert result.ok, result.problems
    assert (result.created, result.updated, result.row_count) == (0, 3, 21)
    after = snapshot(demo)
    assert after[0] == before[0]
    assert sorted(after[1]) == sorted(before[1])  # rows come back in the printed (template) order


def test_a_declaration_of_many_projects_is_imported_with_its_targets(db):
    make_project_framework()
    evaluation = make_evaluation()
    data = declaration([("道路硬化工程", fifteen_indicators()), ("农田水利项目", fifteen_indicators(15))])
    result = project_official.import_projects(evaluation, data, by=filler_of(evaluation), dry_run=False)
    assert result.ok, result.problems
    assert (result.created, result.row_count) == (2, 30)
    road = Project.objects.get(name="道路硬化工程")
    assert (road.code, road.fiscal_adjusted, road.other_initial) == ("SB-0000", D("120"), D("10"))
    assert road.goal_expected == "完成年度建设任务，改善群众生产生活条件。"
    row = road.indicators.get(name="完成任务3")
    assert (row.comparison, row.target_value, row.unit_of_measure, row.weight, row.actual_value) == (">=", D("13"), "项", D("5"), None)
    assert FieldChange.objects.filter(evaluation=evaluation, field_label="导入").count() == 2


def test_without_a_weight_column_the_weights_are_shared_and_the_preview_says_so(db):
    make_project_framework()
    evaluation = make_evaluation()
    result = project_official.import_projects(
        evaluation, declaration([("道路硬化工程", fifteen_indicators())], with_weights=False),
        by=filler_of(evaluation), dry_run=True,
    )
    assert result.ok
    assert result.notes == ["工作表“项目1”没有“分值”列：各一级指标的分值已在其三级指标间平均分配，请导入后核对。"]
    weights = [r.weight for r in result.parsed[0].rows]
    assert sum(weights[:10]) == D("50") and sum(weights[10:14]) == D("30") and weights[14] == D("10")
    assert not Project.objects.exists()  # a preview writes nothing


def test_every_problem_of_every_sheet_is_listed_and_nothing_is_written(db):
    make_project_framework()
    evaluation = make_evaluation()
    before = snapshot(evaluation)

    def spoil(ws):
        ws.append(["产出指标", "数量指标", "完成任务0", "≥5", "项", 5])  # a duplicate
        ws.append(["产出指标", "面积指标", "硬化面积", "≥5", "平方米", 5])
        ws.append(["产出指标", "质量指标", "验收合格率", "合格", "%", "五分"])
        ws["C5"] = "一百"

    bad = [("道路硬化工程", fifteen_indicators()), ("农田水利项目", [("经济指标", "数量指标", "x", "≥1", "个", 1)])]
    result = project_official.import_projects(evaluation, declaration(bad, first_sheet_problem=spoil),
                                              by=filler_of(evaluation), dry_run=False)
    assert result.problems == [
        "工作表“项目1”第 5 行“年初预算数”（C5）：“年初预算数”应为数字，现为“一百”。",
        "工作表“项目1”第 24 行“三级指标”（C24）：与第 9 行重复（同一二级指标下的三级指标“完成任务0”出现两次）。",
        "工作表“项目1”第 25 行“二级指标”（B25）：二级指标“面积指标”不在一级指标“产出指标”下。",
        "工作表“项目1”第 26 行“分值”（F26）：“分值”应为数字，现为“五分”。",
        "工作表“项目2”第 9 行“一级指标”（A9）：一级指标“经济指标”不在本年度项目支出指标体系中（应为 “产出指标”、“效益指标”、“满意度指标”）。",
    ]
    assert snapshot(evaluation) == before


def test_a_submitted_package_refuses_the_import(db):
    make_project_framework()
    evaluation = make_evaluation()
    filler = filler_of(evaluation)
    Evaluation.objects.filter(pk=evaluation.pk).update(status=EvaluationStatus.SUBMITTED)
    evaluation.refresh_from_db()
    result = project_official.import_projects(evaluation, declaration([("道路", fifteen_indicators())]), by=filler)
    assert result.problems == ["当前状态为“已提交”，或您不是本单位填报人，不能导入项目。"]


def test_a_file_that_is_not_a_workbook_is_refused_in_chinese(db):
    make_project_framework()
    evaluation = make_evaluation()
    result = project_official.import_projects(evaluation, b"not a workbook", by=filler_of(evaluation))
    assert result.problems and all("文件" in p for p in result.problems)


def test_200_projects_of_15_indicators_import_all_or_nothing_within_20_seconds(db):
    make_project_framework()
    evaluation = make_evaluation()
    filler = filler_of(evaluation)
    projects = [(f"项目{n:03d}", fifteen_indicators()) for n in range(200)]
    data = declaration(projects)
    started = time.monotonic()
    result = project_official.import_projects(evaluation, data, by=filler, dry_run=False)
    elapsed = time.monotonic() - started
    assert result.ok, result.problems[:5]
    assert (result.created, result.row_count) == (200, 3000)
    assert ProjectIndicator.objects.filter(project__evaluation=evaluation).count() == 3000
    assert elapsed < 20, f"导入用时 {elapsed:.1f} 秒"

    # One bad cell in the last sheet: nothing of the 200 is written again.
    projects[-1] = ("项目199", [*fifteen_indicators()[:-1], ("满意度指标", "服务对象满意度指标", "群众满意度", "≥很高", "%", 10)])
    before = snapshot(evaluation)
    result = project_official.import_projects(evaluation, declaration(projects), by=filler, dry_run=False)
    assert result.problems == [
        "工作表“项目200”第 23 行“年度指标值”（D23）：指标性质为“≥”的指标需要填写数值型年度指标值，现为“很高”。"
    ]
    assert snapshot(evaluation) == before


def test_text_too_long_is_refused_not_cut(db):
    make_project_framework()
    evaluation = make_evaluation()

    def long_reason(ws):
        ws.append(["产出指标", "质量指标", "验收合格率", "≥100", "%", 5, "x" * 600])
        ws["G8"] = "偏差原因分析及改进措施"

    result = project_official.import_projects(
        evaluation, declaration([("道路硬化工程", fifteen_indicators())], first_sheet_problem=long_reason),
        by=filler_of(evaluation),
    )
    assert "工作表“项目1”第 24 行“偏差原因分析及改进措施”（G24）：“偏差原因分析及改进措施”最多 500 字，现有 600 字，请精简后再导入。" in result.problems
    assert not Project.objects.exists()
