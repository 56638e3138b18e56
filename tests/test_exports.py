"""The official 自评表 workbook, its import back, and the streaming summary workbook."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from evaluations import access
from evaluations.models import BudgetLine, Evaluation, IndicatorResult
from evaluations.spreadsheets import official
from evaluations.spreadsheets.cells import FORMULA_TRIGGERS
from evaluations.spreadsheets.summary import write_summary
from tests.factories import login, make_evaluation, make_unit, make_user

pytestmark = pytest.mark.django_db



def official_bytes(evaluation):
    buf = io.BytesIO()
    official.official_workbook(Evaluation.objects.with_document_data().get(pk=evaluation.pk)).save(buf)
    return buf.getvalue()


def cells(ws):
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}


def find(ws, value):
    return next(c for row in ws.iter_rows() for c in row if c.value == value)


def admin_user():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="admin")


def test_official_workbook_layout(demo):
    ws = load_workbook(io.BytesIO(official_bytes(demo))).active
    values = cells(ws)
    assert values["A1"] == "2024年度广州市番禺区化龙镇人民政府部门整体支出绩效自评表"
    assert values["B2"] == "广州市番禺区化龙镇人民政府" and values["H2"] == "440113-HLZ" and values["J2"] == 2024
    total_row = find(ws, "年度资金总额").row
    assert ws.cell(total_row, 5).value == 58700 and ws.cell(total_row, 7).value == pytest.approx(0.966)
    header = find(ws, "三级指标").row
    assert [ws.cell(header, c).value for c in range(1, 15)] == official.OFFICIAL_HEADERS
    merged = {str(r) for r in ws.merged_cells.ranges}
    top = find(ws, "履职效能")
    assert any(r.startswith(f"A{top.row}:A") for r in merged)  # 一级 merged down its rows
    assert any(r.startswith(f"B{find(ws, '预算执行').row}:B") for r in merged)  # 二级 merged down its rows
    subtotal = find(ws, "预算执行小计")
    assert ws.cell(subtotal.row, 9).value == 20 and ws.cell(subtotal.row, 10).value == pytest.approx(15.96)
    assert ws.cell(find(ws, "管理效率合计").row, 10).value == pytest.approx(44.96)
    assert ws.cell(find(ws, "综合得分").row, 10).value == pytest.approx(94.96)
    assert ws.cell(find(ws, "自评结果").row, 10).value == "优"
    reason = ws.cell(find(ws, "预算调整率").row, 14).value
    assert reason.startswith("部分项目预算调整幅度较大")
    assert ws.freeze_panes == f"D{header + 1}"
    assert ws.print_title_rows == f"${header}:${header}"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9  # A4
    assert ws.column_dimensions["C"].width == 26 and ws.column_dimensions["N"].width == 44
    assert ws.cell(header, 3).border.left.style == "thin"


def test_official_workbook_round_trip_into_an_empty_database(demo):
    data = official_bytes(demo)
    fields = ("name", "category_id", "indicator_id", "comparison", "target_value", "target_text", "unit_of_measure",
              "actual_value", "actual_text", "weight", "rule", "band", "score", "deviation_reason")
    before_rows = sorted(IndicatorResult.objects.filter(evaluation=demo).values_list(*fields))
    before_budget = sorted(BudgetLine.objects.filter(evaluation=demo).values_list("item", "initial_budget", "adjusted_budget", "executed"))
    unit, framework, note = demo.unit, demo.framework, demo.budget_note
    demo.delete()
    assert not Evaluation.objects.exists()

    preview = official.import_official(data, by=admin_user(), dry_run=True)
    assert preview.ok and preview.total == Decimal("94.96") and preview.grade == "优"
    assert not Evaluation.objects.exists()  # a preview writes nothing

    result = official.import_official(data, by=admin_user(), dry_run=False)
    assert result.ok and result.created
    evaluation = Evaluation.objects.get(unit=unit, framework=framework)
    assert sorted(IndicatorResult.objects.filter(evaluation=evaluation).values_list(*fields)) == before_rows
    assert sorted(BudgetLine.objects.filter(evaluation=evaluation).values_list("item", "initial_budget", "adjusted_budget", "executed")) == before_budget
    assert evaluation.budget_note == note
    card = Evaluation.objects.with_document_data().get(pk=evaluation.pk).scorecard()
    assert (card.total, card.grade) == (Decimal("94.96"), "优")


def test_official_import_lists_every_problem_with_cell(demo):
    wb = load_workbook(io.BytesIO(official_bytes(demo)))
    ws = wb.active
    score = find(ws, "预决算信息公开").row
    ws.cell(score, 10).value = 7
    ws.cell(find(ws, "资产管理").row + 0, 9).value = "五"
    buf = io.BytesIO()
    wb.save(buf)
    before = list(IndicatorResult.objects.order_by("pk").values_list("score", "weight"))
    result = official.import_official(buf.getvalue(), by=admin_user(), dry_run=False)
    assert f"工作表“自评表”第 {score} 行“得分”（J{score}）：得分应在 0 到 5 分之间（本指标分值 5 分），现为 7 分。" in result.problems
    assert any("“分值”应为数字，现为“五”。" in p for p in result.problems)
    assert list(IndicatorResult.objects.order_by("pk").values_list("score", "weight")) == before


def test_official_import_into_next_year_from_last_years_file(demo):
    from evaluations.management.commands.load_demo import load_default_framework

    load_default_framework(2025)
    result = official.import_official(official_bytes(demo), year=2025, by=admin_user(), dry_run=False)
    assert result.ok, result.problems
    assert Evaluation.objects.get(unit=demo.unit, framework__year=2025).results.filter(name="巡查涉水污染源").exists()


def test_official_workbook_view_is_scoped_and_constant_in_queries(demo):
    stranger = make_user(access.FILLER, units=[make_unit()])
    assert login(stranger).get(f"/reports/evaluations/{demo.pk}/official.xlsx").status_code == 404
    small, large = make_evaluation(extra_rows=2), make_evaluation(extra_rows=60)
    admin = login(make_user(access.ADMIN))
    admin.get(f"/reports/evaluations/{small.pk}/official.xlsx")  # the session's first request may also save it
    counts = []
    for evaluation in (small, large):
        with CaptureQueriesContext(connection) as ctx:
            response = admin.get(f"/reports/evaluations/{evaluation.pk}/official.xlsx")
        assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
        counts.append(len(ctx))
    assert counts[0] == counts[1]


def test_official_workbook_neutralises_formulas(demo):
    IndicatorResult.objects.filter(evaluation=demo, name="资产管理").update(deviation_reason="=HYPERLINK(\"x\")")
    ws = load_workbook(io.BytesIO(official_bytes(demo))).active
    assert ws.cell(find(ws, "资产管理").row, 14).value == "'=HYPERLINK(\"x\")"
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def summary(year=2024, user=None):
    buf = io.BytesIO()
    write_summary(buf, year, user=user)
    return load_workbook(io.BytesIO(buf.getvalue()))


def test_summary_has_a_row_per_visible_unit_with_subtotals_and_grade(demo):
    district = demo.unit.parent
    reviewer = make_user(access.REVIEWER, charge=district)
    elsewhere = make_evaluation()
    wb = summary(user=reviewer)
    rows = list(wb["汇总"].iter_rows(min_row=2, values_only=True))
    header, body = rows[0], rows[1:]
    assert header[:4] == ("单位编码", "单位名称", "状态", "履职效能（50分）") and header[-2:] == ("综合得分", "自评结果")
    by_code = {r[0]: dict(zip(header, r, strict=True)) for r in body}
    assert elsewhere.unit.code not in by_code
    hlz = by_code["440113-HLZ"]
    assert hlz["状态"] == "草稿" and hlz["管理效率（50分）"] == pytest.approx(44.96)
    assert hlz["预算执行（20分）"] == pytest.approx(15.96) and hlz["综合得分"] == pytest.approx(94.96) and hlz["自评结果"] == "优"
    assert by_code["440113-CZJ"]["状态"] == "未填报"
    detail = list(wb["指标明细"].iter_rows(values_only=True))
    assert {r[0] for r in detail[1:]} == {"440113-HLZ"}
    assert len(detail) - 1 == IndicatorResult.objects.filter(evaluation=demo).count()


def test_summary_neutralises_formulas(demo):
    demo.unit.name = "+cmd"
    demo.unit.save()
    IndicatorResult.objects.filter(evaluation=demo, name="资产管理").update(deviation_reason="@SUM(A1)")
    wb = summary()
    values = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert "'+cmd" in values and "'@SUM(A1)" in values
    assert not any(v.startswith(FORMULA_TRIGGERS) for v in values)


def test_summary_queries_do_not_grow_with_data():
    counts = []
    for n in (2, 6):
        for _ in range(n):
            make_evaluation(extra_rows=3)
        with CaptureQueriesContext(connection) as ctx:
            write_summary(io.BytesIO(), 2024)
        counts.append(len(ctx))
    assert counts[0] == counts[1]


def test_export_summary_command(demo, tmp_path):
    out = tmp_path / "汇总.xlsx"
    stdout = io.StringIO()
    call_command("export_summary", year=2024, output=str(out), stdout=stdout)
    assert "3 个单位" in stdout.getvalue()
    assert load_workbook(out)["汇总"]["A4"].value == "440113-CZJ"


def test_seed_scale_scores_as_the_domain_does():
    call_command("seed_scale", units=5, rows=20, year=2024, stdout=io.StringIO())
    assert IndicatorResult.objects.count() == 100
    for evaluation in Evaluation.objects.with_document_data():
        stored = {r.pk: r.score for r in evaluation.results.all()}
        evaluation.refresh_computed_scores()
        assert stored == dict(IndicatorResult.objects.filter(evaluation=evaluation).values_list("pk", "score"))
