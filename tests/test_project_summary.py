"""The summary workbook's 项目 and 项目指标 sheets, and seed_scale's projects scored as the domain scores them."""

import io
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from evaluations import access
from evaluations.models import Project, ProjectIndicator
from evaluations.spreadsheets.cells import FORMULA_TRIGGERS
from evaluations.spreadsheets.summary import write_summary
from tests.factories import make_evaluation, make_project, make_project_framework, make_user

pytestmark = pytest.mark.django_db


def summary(user=None):
    buffer = io.BytesIO()
    write_summary(buffer, 2024, user=user)
    return load_workbook(io.BytesIO(buffer.getvalue()))


def test_project_sheets_have_a_row_per_project_and_per_project_indicator(demo):
    make_project(make_evaluation(), name="别的单位的项目")
    reviewer = make_user(access.REVIEWER, charge=demo.unit.parent)
    wb = summary(user=reviewer)
    assert wb.sheetnames == ["汇总", "指标明细", "项目", "项目指标"]
    rows = list(wb["项目"].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    by_name = {r[4]: dict(zip(header, r, strict=True)) for r in body}
    assert set(by_name) == {"化龙镇农村生活污水治理巩固提升工程", "化龙镇老旧小区微改造项目", "化龙镇河涌水环境综合整治项目"}
    renovation = by_name["化龙镇老旧小区微改造项目"]
    assert (renovation["单位编码"], renovation["全年预算数（万元）"], renovation["执行率（%）"]) == ("440113-HLZ", 1700, 85)
    assert (renovation["执行率得分"], renovation["总分"], renovation["自评结果"], renovation["演示数据"]) == (8.5, 98.5, "优", "是")
    detail = list(wb["项目指标"].iter_rows(values_only=True))
    assert len(detail) - 1 == ProjectIndicator.objects.filter(project__evaluation=demo).count() == 21
    dredging = next(r for r in detail if r[5] == "河涌清淤长度")
    assert dredging[:5] == ("440113-HLZ", "HLZ-2024-003", "化龙镇河涌水环境综合整治项目", "产出指标", "数量指标")
    assert (dredging[12], dredging[14]) == (15, 12.75)


def test_project_sheets_neutralise_formulas(demo):
    Project.objects.filter(code="HLZ-2024-001").update(name="=HYPERLINK(1)")
    ProjectIndicator.objects.filter(name="村民满意度").update(deviation_reason="+cmd")
    values = [c.value for ws in summary().worksheets[2:] for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert "'=HYPERLINK(1)" in values and "'+cmd" in values
    assert not any(v.startswith(FORMULA_TRIGGERS) for v in values)


def test_summary_queries_do_not_grow_with_projects(db):
    make_project_framework()
    counts = []
    for n in (1, 5):
        for _ in range(n):
            evaluation = make_evaluation()
            make_project(evaluation)
            make_project(evaluation)
        with CaptureQueriesContext(connection) as ctx:
            write_summary(io.BytesIO(), 2024)
        counts.append(len(ctx))
    assert counts[0] == counts[1]


def test_seed_scale_projects_score_as_the_domain_does(db):
    call_command("seed_scale", units=3, rows=20, projects=4, project_rows=15, stdout=io.StringIO())
    assert Project.objects.count() == 12 and ProjectIndicator.objects.count() == 180
    for project in Project.objects.with_table_data():
        stored = (project.execution_score, project.total_score,
                  dict(project.indicators.values_list("pk", "score")))
        card = project.refresh_scores()
        project.refresh_from_db()
        assert stored == (project.execution_score, project.total_score,
                          dict(project.indicators.values_list("pk", "score")))
        assert card.max_total == D("100")
