"""django-import-export in the admin: Chinese columns, preview then confirm, every problem at once, admins only."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pytest
import tablib
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook, load_workbook

from evaluations import access
from evaluations.models import Evaluation, Framework, Indicator, IndicatorResult, Unit
from evaluations.spreadsheets.resources import IndicatorResource, IndicatorResultResource, UserResource
from tests.factories import PASSWORD, login, make_evaluation, make_framework, make_unit, make_user

pytestmark = pytest.mark.django_db


def problems_of(result):
    """Every problem of an import as one line each: "第 3 行“得分”：…"."""
    lines = [str(e.error) for e in result.base_errors]
    for row_number, errors in result.row_errors():
        lines.extend(f"第 {row_number} 行：{e.error}" for e in errors)
    for row in result.invalid_rows:
        for column, messages in row.field_specific_errors.items():
            lines.extend(f"第 {row.number} 行“{column}”：{m}" for m in messages)
        lines.extend(f"第 {row.number} 行：{m}" for m in row.non_field_specific_errors)
    return lines


def xlsx(rows):
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    buf.name = "data.xlsx"
    return buf


def importer():
    """The admin an import is made by (every content change records who made it)."""
    return make_user(access.ADMIN)


def admin_client():
    return login(make_user(access.ADMIN))


def preview(client, url, rows):
    return client.post(url, {"resource": "0", "format": "0", "import_file": xlsx(rows)})


def confirm(client, url, html, resource="0"):
    field = lambda name: html.split(f'name="{name}" value="')[1].split('"')[0]  # noqa: E731
    return client.post(url.replace("/import/", "/process_import/"), {
        "import_file_name": field("import_file_name"), "original_file_name": field("original_file_name"),
        "format": field("format"), "resource": resource,
    })


def result_rows(evaluation, *changes):
    """The admin export of an evaluation's rows, as a dataset, with some cells changed."""
    dataset = IndicatorResultResource().export(Evaluation.objects.filter(pk=evaluation.pk))
    for name, column, value in changes:
        n = dataset["三级指标"].index(name)
        row = list(dataset[n])
        row[dataset.headers.index(column)] = value
        dataset[n] = row
    return dataset


def test_unit_import_is_a_preview_then_a_confirm():
    client = admin_client()
    url = "/admin/evaluations/unit/import/"
    rows = [["单位编码", "单位全称", "简称", "上级单位编码"], ["A01", "某区人民政府", "某区", ""], ["A0101", "某区某镇人民政府", "某镇", "A01"]]
    html = preview(client, url, rows).content.decode()
    assert "某区某镇人民政府" in html and not Unit.objects.filter(code__startswith="A01").exists()
    assert confirm(client, url, html).status_code == 302
    town = Unit.objects.get(code="A0101")
    assert town.parent.code == "A01" and town.path == f"{town.parent.path}{town.pk}/"


def test_every_problem_is_listed_with_row_and_chinese_column():
    evaluation = make_evaluation()
    dataset = result_rows(
        evaluation,
        ("预算编制科学性", "得分", "六"),
        ("绩效目标合理性", "分值", "500"),
        ("预决算信息公开", "单位编码", "NOPE"),
    )
    result = IndicatorResultResource().import_data(dataset, user=importer(), dry_run=True)
    problems = problems_of(result)
    rows = {n + 2: name for n, name in enumerate(dataset["三级指标"])}
    line = {name: n for n, name in rows.items()}
    assert f"第 {line['预算编制科学性']} 行“得分”：“得分”应为数字，现为“六”。" in problems
    assert f"第 {line['绩效目标合理性']} 行“分值”：“分值”应在 0 到 100之间，现为 500。" in problems
    assert f"第 {line['预决算信息公开']} 行“单位编码”：单位编码“NOPE”不存在（导入不会新建单位，请先在“单位”中新建）。" in problems
    assert not Unit.objects.filter(code="NOPE").exists()


def test_unknown_indicator_is_reported_never_created():
    evaluation = make_evaluation()
    dataset = result_rows(evaluation, ("预算调整率", "二级指标", "不存在的二级"), ("资产管理", "三级指标", "新指标"))
    problems = problems_of(IndicatorResultResource().import_data(dataset, user=importer(), dry_run=False))
    assert any("二级指标“不存在的二级”不在 2024 年度指标体系中。" in p for p in problems)
    assert any("三级指标“新指标”不在 2024 年度指标体系“资产管理”下。" in p for p in problems)
    assert not Indicator.objects.filter(name__in=["不存在的二级", "新指标"]).exists()
    assert not IndicatorResult.objects.filter(name="新指标").exists()


def test_import_stores_rule_scores_through_the_domain_and_bumps_the_version():
    evaluation = make_evaluation(extra_rows=2)
    version = evaluation.version
    dataset = result_rows(evaluation, ("产出指标1", "实际完成值", "5"), ("产出指标1", "得分", ""))
    result = IndicatorResultResource().import_data(dataset, user=importer(), dry_run=False)
    assert not problems_of(result)
    row = IndicatorResult.objects.get(evaluation=evaluation, name="产出指标1")
    assert row.actual_value == Decimal("5") and row.score == Decimal("7.50")  # 15 × 5/10, by the rule
    evaluation.refresh_from_db()
    assert evaluation.version == version + 1
    fresh = Evaluation.objects.with_document_data().get(pk=evaluation.pk)
    assert fresh.scorecard().total == Evaluation.objects.with_total_score().get(pk=evaluation.pk).total_score_sum


def evaluations_rows(*evaluations):
    dataset = IndicatorResultResource().export(Evaluation.objects.filter(pk__in=[e.pk for e in evaluations]))
    column = dataset.headers.index("偏差原因分析及改进措施")
    for n in range(len(dataset)):  # every row changes
        row = list(dataset[n])
        row[column] = f"导入修改 {n}"
        dataset[n] = row
    return dataset


@pytest.mark.parametrize("dry_run", [True, False])
def test_import_queries_do_not_grow_with_rows_or_evaluations(dry_run):
    make_framework(2024)
    files = {
        "one evaluation, 3 rows": evaluations_rows(make_evaluation(extra_rows=2)),
        "one evaluation, 60 rows": evaluations_rows(make_evaluation(extra_rows=60)),
        "four evaluations, 120 rows": evaluations_rows(*(make_evaluation(extra_rows=30) for _ in range(4))),
    }
    counts = {}
    for name, dataset in files.items():
        with CaptureQueriesContext(connection) as ctx:
            result = IndicatorResultResource().import_data(dataset, user=importer(), dry_run=dry_run)
        assert not problems_of(result)
        counts[name] = len(ctx)
    assert len(set(counts.values())) == 1, counts
    expected = "导入修改 0" if not dry_run else ""
    assert IndicatorResult.objects.filter(deviation_reason=expected).exists()


def test_import_stores_the_scores_the_model_would():
    evaluations = [make_evaluation(extra_rows=3) for _ in range(3)]
    dataset = evaluations_rows(*evaluations)
    actual = dataset.headers.index("实际完成值")
    for n, name in enumerate(dataset["三级指标"]):
        if name.startswith("产出指标"):
            row = list(dataset[n])
            row[actual] = 4 + n % 5
            dataset[n] = row
    assert not problems_of(IndicatorResultResource().import_data(dataset, user=importer(), dry_run=False))
    stored = list(IndicatorResult.objects.order_by("pk").values_list("pk", "score", "actual_value"))
    assert any(score == Decimal("4.00") for _, score, _ in stored)  # 10 × 4/10 for a 产出指标 of 分值 10
    for evaluation in Evaluation.objects.with_document_data():
        evaluation.refresh_computed_scores()
    assert list(IndicatorResult.objects.order_by("pk").values_list("pk", "score", "actual_value")) == stored


def test_admin_reads_the_workbook_once(monkeypatch):
    evaluation = make_evaluation(extra_rows=2)
    reads = []
    from evaluations.spreadsheets import admin as spreadsheet_admin

    original = spreadsheet_admin.read_sheet

    def counted(in_stream):
        reads.append(in_stream[:2])
        return original(in_stream)

    monkeypatch.setattr(spreadsheet_admin, "read_sheet", counted)
    dataset = result_rows(evaluation, ("产出指标1", "偏差原因分析及改进措施", "一次读取"))
    client, url = admin_client(), "/admin/evaluations/evaluation/import/"
    html = preview(client, url, [dataset.headers, *dataset]).content.decode()
    assert reads == [b"PK"]  # at upload; the preview imports the rows kept from that reading
    assert confirm(client, url, html).status_code == 302
    assert reads == [b"PK"]  # the confirm did not open the workbook again
    assert IndicatorResult.objects.get(evaluation=evaluation, name="产出指标1").deviation_reason == "一次读取"


def test_admin_import_of_a_workbook_with_dates():
    """Dates are not kept as JSON: such a file is read again on confirm, with the same result."""
    client, url = admin_client(), "/admin/evaluations/framework/import/"
    rows = [["年度", "名称", "提交截止日期"], [2031, "2031年度", datetime(2032, 3, 31)]]
    response = client.post(url, {"resource": "1", "format": "0", "import_file": xlsx(rows)})
    html = response.content.decode()
    assert "2031年度" in html and not Framework.objects.filter(year=2031).exists()
    assert confirm(client, url, html, resource="1").status_code == 302
    assert Framework.objects.get(year=2031).submission_deadline == date(2032, 3, 31)


def test_all_or_nothing_on_confirm():
    evaluation = make_evaluation(extra_rows=2)
    dataset = result_rows(evaluation, ("产出指标1", "偏差原因分析及改进措施", "改了"), ("产出指标2", "分值", "x"))
    IndicatorResultResource().import_data(dataset, user=importer(), dry_run=False)
    assert IndicatorResult.objects.get(evaluation=evaluation, name="产出指标1").deviation_reason == ""


def test_approved_evaluation_cannot_be_changed_by_import():
    evaluation = make_evaluation()
    Evaluation.objects.filter(pk=evaluation.pk).update(status="approved")
    problems = problems_of(IndicatorResultResource().import_data(result_rows(evaluation), user=importer(), dry_run=True))
    assert any("自评状态为“已通过”，不能通过导入修改。" in p for p in problems)


def test_only_admins_may_import():
    unit = make_unit()
    staff = make_user(access.REVIEWER, charge=unit)
    staff.is_staff = True
    staff.save()
    client = Client()
    client.login(username=staff.username, password=PASSWORD)
    assert client.get("/admin/evaluations/unit/import/").status_code == 403
    assert admin_client().get("/admin/evaluations/unit/import/").status_code == 200


def test_users_export_names_units_and_roles_never_passwords():
    unit = make_unit(code="U1")
    make_user(access.FILLER, units=[unit], username="zhang")
    dataset = UserResource().export()
    assert dataset.headers == ["用户名", "姓名", "邮箱", "启用", "角色", "所属单位编码"]
    row = dict(zip(dataset.headers, dataset[dataset["用户名"].index("zhang")], strict=True))
    assert row["角色"] == "填报人" and row["所属单位编码"] == "U1"
    assert "md5" not in dataset.export("csv") and "pbkdf2" not in dataset.export("csv")


def test_user_import_sets_roles_and_units_and_no_password():
    make_unit(code="U1")
    data = tablib.Dataset(["li", "李四", "li@example.invalid", "是", "填报人", "U1"],
                          headers=["用户名", "姓名", "邮箱", "启用", "角色", "所属单位编码"])
    assert not problems_of(UserResource().import_data(data, dry_run=False))
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="li")
    assert not user.has_usable_password() and access.is_filler(user)
    assert list(user.filler_units.values_list("code", flat=True)) == ["U1"]


def test_framework_tree_round_trips_and_must_balance():
    make_framework(2024)
    dataset = IndicatorResource().export(Indicator.objects.filter(framework__year=2024))
    from evaluations.models import Framework

    Framework.objects.create(year=2025, name="2025年度")
    for n in range(len(dataset)):
        row = list(dataset[n])
        row[0] = 2025
        dataset[n] = row
    assert not problems_of(IndicatorResource().import_data(dataset, dry_run=False))
    assert Indicator.objects.filter(framework__year=2025).count() == Indicator.objects.filter(framework__year=2024).count()
    # A 三级 weight no longer adds up to its 二级, and a 一级 weight to the total: both are named, at once.
    leaf = dataset["三级指标"].index("资产管理")
    top = next(n for n, row in enumerate(dataset.dict) if row["一级指标"] == "管理效率" and not row["二级指标"])
    for n, weight in ((leaf, 9), (top, 54)):
        row = list(dataset[n])
        row[dataset.headers.index("分值")] = weight
        dataset[n] = row
    problems = problems_of(IndicatorResource().import_data(dataset, dry_run=False))
    assert problems == ["导入后指标体系分值不平衡：2025 年度：一级指标分值合计为 104 分，应为 100 分。"
                        "2025 年度：“管理效率”的下级指标分值合计为 50 分，应等于其分值 54 分。"
                        "2025 年度：“资产管理”的下级指标分值合计为 9 分，应等于其分值 5 分。"]
    assert Indicator.objects.get(framework__year=2025, name="资产管理", level=3).weight == Decimal("5")


# --- formula injection in django-import-export's exports ---------------------------------------------------


@pytest.mark.parametrize("fmt,index", [("xlsx", "0"), ("csv", "1")])
def test_admin_export_neutralises_formulas(fmt, index):
    make_unit(name="=HYPERLINK(\"http://evil\",\"点我\")", code="@SUM(1)")
    make_unit(name="-2+3", code="X2")
    response = admin_client().post("/admin/evaluations/unit/export/", {"format": index, "resource": "0",
                                                                       "unitresource_code": True,
                                                                       "unitresource_name": True})
    assert response.status_code == 200
    if fmt == "xlsx":
        ws = load_workbook(io.BytesIO(response.content)).active
        cells = [c.value for row in ws.iter_rows() for c in row if c.value]
        kinds = {c.data_type for row in ws.iter_rows() for c in row if c.value}
        assert "f" not in kinds
    else:
        cells = [v for row in csv.reader(io.StringIO(response.content.decode("utf-8-sig"))) for v in row if v]
    assert "'=HYPERLINK(\"http://evil\",\"点我\")" in cells and "'@SUM(1)" in cells and "'-2+3" in cells
    assert not any(v.startswith(("=", "+", "-", "@")) for v in cells if isinstance(v, str))
