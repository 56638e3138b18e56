"""Imports read what Excel shows and say what they will do (issue 13, items 2 and 7): a corpus of awkward and bad
files, generated here, through the admin's import and the official 自评表 import. Every page is Chinese (no
traceback, class name or English), bad input leaves the database as it was."""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from openpyxl import Workbook, load_workbook

from evaluations import access
from evaluations.models import Evaluation, Framework, Indicator, IndicatorResult
from evaluations.spreadsheets import official
from evaluations.spreadsheets.resources import IndicatorResource, IndicatorResultResource
from tests.factories import PASSWORD, make_evaluation, make_user
from tests.test_resources import problems_of

pytestmark = pytest.mark.django_db

RESULTS_URL = "/admin/evaluations/evaluation/import/"
OFFICIAL_URL = "/reports/import/official/"
ALLOWED_LATIN = {"csv", "CSV", "xls", "xlsx", "Excel", "WPS", "UTF", "GBK", "rsaquo", "nbsp"}


def visible_text(html):
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def assert_chinese_page(response, typed=()):
    """What a user sees: an answer (not a 500), no traceback or Python, no English words (but what the file
    itself holds, quoted back: `typed`), no "None"."""
    assert response.status_code == 200, response.status_code
    text = visible_text(response.content.decode())
    for python in ("Traceback", "File \"", "object has no attribute", "<class", "InvalidOperation", "None",
                   "Tablib", "某些行验数据证失败"):
        assert python not in text, python
    words = {w for w in re.findall(r"[A-Za-z][A-Za-z_']{2,}", text) if not re.fullmatch(r"user\d*", w)}
    assert words <= ALLOWED_LATIN | set(typed), words - ALLOWED_LATIN


def workbook(*sheets, merges=()):
    """Bytes of a workbook; each sheet is (title, rows); merges: (sheet index, "A2:A3")."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    for index, cells in merges:
        wb.worksheets[index].merge_cells(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def admin_client():
    client = Client()
    assert client.login(username=make_user(access.ADMIN).username, password=PASSWORD)
    return client


def post_file(client, url, data, name="数据.xlsx", fmt="0", **extra):
    f = io.BytesIO(data)
    f.name = name
    return client.post(url, {"resource": "0", "format": fmt, "import_file": f, "file": f, **extra})


def confirm(client, html):
    field = lambda name: re.search(rf'name="{name}" value="([^"]*)"', html).group(1)  # noqa: E731
    return client.post(RESULTS_URL.replace("/import/", "/process_import/"), {
        "import_file_name": field("import_file_name"), "original_file_name": field("original_file_name"),
        "format": field("format"), "resource": field("resource"),
    })


def rows_of(evaluation, changes=None):
    dataset = IndicatorResultResource().export(Evaluation.objects.filter(pk=evaluation.pk))
    rows = [list(dataset.headers)] + [list(r) for r in dataset]
    for (name, column), value in (changes or {}).items():
        rows[dataset["三级指标"].index(name) + 1][dataset.headers.index(column)] = value
    return rows


def state():
    return (list(IndicatorResult.objects.order_by("pk").values_list("name", "weight", "score", "actual_value",
                                                                      "actual_text", "deviation_reason")),
            list(Evaluation.objects.order_by("pk").values_list("version", "status", "budget_note")))


# --- The admin's import ---------------------------------------------------------------------------------


def test_a_file_level_problem_reads_no_row_and_shows_no_python():
    evaluation = make_evaluation()
    rows = rows_of(evaluation)
    rows[0][rows[0].index("单位编码")] = "编码"
    before = state()
    response = post_file(admin_client(), RESULTS_URL, workbook(("Sheet", rows)))
    assert_chinese_page(response)
    html = response.content.decode()
    assert "缺少必需的列：“单位编码”。" in html and "导入失败，未导入任何数据" in html
    assert "第 2 行" not in html  # no message for each row read against the wrong headers
    assert state() == before


def test_an_unexpected_error_is_one_chinese_sentence(monkeypatch):
    evaluation = make_evaluation()

    def broken(self, row):
        raise AttributeError("'IndicatorResultResource' object has no attribute 'units'")

    monkeypatch.setattr(IndicatorResultResource, "resolve", broken)
    before = state()
    response = post_file(admin_client(), RESULTS_URL, workbook(("Sheet", rows_of(evaluation))))
    assert_chinese_page(response)
    assert "导入时发生了意外错误，未导入任何数据" in response.content.decode()
    assert state() == before


@pytest.mark.parametrize("value", [1e308, "1e308", "NaN", "-Infinity"])
def test_an_impossible_number_is_a_chinese_row_error_on_its_row(value):
    evaluation = make_evaluation(extra_rows=2)
    rows = rows_of(evaluation, {("产出指标2", "实际完成值"): value})
    line = [r[rows[0].index("三级指标")] for r in rows].index("产出指标2") + 1
    before = state()
    response = post_file(admin_client(), RESULTS_URL, workbook(("Sheet", rows)))
    assert_chinese_page(response, typed=re.findall(r"[A-Za-z]+", str(value)))
    html = response.content.decode()
    assert f"<td>{line}</td>" in html and "“实际完成值”" in html
    assert state() == before


def test_the_validation_banner_is_chinese_and_empty_cells_are_empty():
    evaluation = make_evaluation()
    rows = rows_of(evaluation, {("预算编制科学性", "得分"): "四分"})
    response = post_file(admin_client(), RESULTS_URL, workbook(("Sheet", rows)))
    assert_chinese_page(response)
    assert "以下各行未通过校验" in response.content.decode()


def test_data_on_another_sheet_than_the_first_is_read():
    evaluation = make_evaluation(extra_rows=2)
    rows = rows_of(evaluation, {("产出指标1", "偏差原因分析及改进措施"): "第二个工作表"})
    client = admin_client()
    response = post_file(client, RESULTS_URL, workbook(("说明", []), ("数据", rows)))
    assert_chinese_page(response)
    html = response.content.decode()
    assert "第二个工作表" in html and "导入后的变化" in html
    assert confirm(client, html).status_code == 302
    assert evaluation.results.get(name="产出指标1").deviation_reason == "第二个工作表"


def test_a_merged_cell_applies_to_every_row_it_spans():
    evaluation = make_evaluation(extra_rows=2)
    rows = rows_of(evaluation)
    names = [r[rows[0].index("三级指标")] for r in rows]
    first, second = names.index("产出指标1") + 1, names.index("产出指标2") + 1
    assert second == first + 1
    column = "ABCDEFGHIJKLMNOPQRSTU"[rows[0].index("偏差原因分析及改进措施")]
    rows[first - 1][rows[0].index("偏差原因分析及改进措施")] = "合并单元格的原因"
    rows[second - 1][rows[0].index("偏差原因分析及改进措施")] = None
    client = admin_client()
    html = post_file(client, RESULTS_URL, workbook(("Sheet", rows), merges=[(0, f"{column}{first}:{column}{second}")]))
    assert_chinese_page(html)
    assert confirm(client, html.content.decode()).status_code == 302
    assert set(evaluation.results.filter(name__in=["产出指标1", "产出指标2"])
               .values_list("deviation_reason", flat=True)) == {"合并单元格的原因"}


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig"])
def test_a_csv_saved_by_chinese_excel_is_read(encoding):
    evaluation = make_evaluation(extra_rows=2)
    buf = io.StringIO()
    csv.writer(buf).writerows(rows_of(evaluation, {("产出指标1", "偏差原因分析及改进措施"): "中文编码的原因"}))
    client = admin_client()
    response = post_file(client, RESULTS_URL, buf.getvalue().encode(encoding), name="数据.csv", fmt="1")
    assert_chinese_page(response)
    html = response.content.decode()
    assert "中文编码的原因" in html
    assert confirm(client, html).status_code == 302
    assert evaluation.results.get(name="产出指标1").deviation_reason == "中文编码的原因"


def test_bytes_in_no_known_encoding_are_refused_in_chinese():
    response = post_file(admin_client(), RESULTS_URL, "单位编码,年度\n".encode() + b"a\x81 b,\x80\n" * 50, name="x.csv", fmt="1")
    assert_chinese_page(response)
    assert "无法识别 CSV 文件的编码" in response.content.decode()


def test_a_workbook_without_rows_is_refused_in_chinese():
    response = post_file(admin_client(), RESULTS_URL, workbook(("Sheet", []), ("空", [])))
    assert_chinese_page(response)
    assert "都没有数据行" in response.content.decode()


def test_the_preview_shows_totals_before_and_after_and_created_rows_as_new():
    evaluation = make_evaluation(extra_rows=2)
    rows = rows_of(evaluation, {("产出指标1", "实际完成值"): 5})
    new = list(rows[[r[rows[0].index("三级指标")] for r in rows].index("产出指标2")])
    new[rows[0].index("三级指标")] = "新增的指标"
    new[rows[0].index("分值")] = 0
    new[rows[0].index("得分")] = None
    rows.append(new)
    response = post_file(admin_client(), RESULTS_URL, workbook(("Sheet", rows)))
    assert_chinese_page(response)
    html = response.content.decode()
    assert "综合得分 100.00 分（“优”） → <strong>92.50 分（“优”）</strong>" in html
    assert re.search(r"指标“产出指标1”</td><td>实际完成值</td><td>10</td><td>5</td>", html)
    assert re.search(r'class="new"><td>单位自设指标（产出）</td><td>新增</td><td>（空）</td><td>新增的指标</td>', html)
    assert not IndicatorResult.objects.filter(name="新增的指标").exists()  # a preview writes nothing


def test_the_export_sheet_has_a_chinese_name():
    evaluation = make_evaluation()
    client = admin_client()
    response = client.post("/admin/evaluations/evaluation/export/", {"format": "0", "resource": "0",
                                                                       **_export_fields(client)})
    wb = load_workbook(io.BytesIO(b"".join(response.streaming_content) if response.streaming else response.content))
    assert wb.sheetnames == ["自评指标得分"] and evaluation


def _export_fields(client):
    html = client.get("/admin/evaluations/evaluation/export/").content.decode()
    return dict.fromkeys(re.findall(r'name="(indicatorresultresource_[^"]+)"', html), "on")


def test_a_framework_sheet_with_one_row_per_leaf_creates_the_parents():
    Framework.objects.create(year=2031, name="2031年度")
    rows = [["年度", "一级指标", "二级指标", "三级指标", "分值", "计分方法", "指标性质", "年度指标值"]]
    for top, weight_each, leaves in (("决策", 10, ("目标设定", "预算编制")), ("产出", 20, ("数量", "质量")),
                                     ("效益", 20, ("社会效益", "满意度"))):
        rows += [[2031, top, f"{top}指标", leaf, weight_each, "人工评分", "定性", None] for leaf in leaves]
    import tablib

    dataset = tablib.Dataset(*rows[1:], headers=rows[0])
    result = IndicatorResource().import_data(dataset, dry_run=False)
    assert not problems_of(result), problems_of(result)
    tree = {(i.level, i.name): i.weight for i in Indicator.objects.filter(framework__year=2031)}
    assert tree[(1, "决策")] == tree[(2, "决策指标")] == Decimal("20")
    assert tree[(1, "产出")] == tree[(2, "产出指标")] == tree[(1, "效益")] == Decimal("40")
    assert tree[(3, "满意度")] == Decimal("20")


# --- The official 自评表 import ------------------------------------------------------------------------


def official_bytes(evaluation, change=None, cover=False):
    buf = io.BytesIO()
    official.official_workbook(Evaluation.objects.with_document_data().get(pk=evaluation.pk)).save(buf)
    wb = load_workbook(io.BytesIO(buf.getvalue()))
    if change:
        change(wb.active)
    if cover:
        wb.create_sheet("封面", 0).append(["2024 年度部门整体支出绩效自评表"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def cell_of(ws, value):
    return next(c for row in ws.iter_rows() for c in row if c.value == value)


def entered_rows(evaluation):
    return list(evaluation.results.filter(rule="proportional", actual_source="", actual_value__isnull=False))


def official_admin():
    client = Client()
    client.login(username="admin", password="demo-admin-2024")
    return client


def test_numbers_in_text_cells_are_numbers(demo):
    """Chinese Excel often formats the 实际完成值 column as text: "400" is still 400 (it was scored 0: 89.91 → 70.50)."""
    rows = entered_rows(demo)
    assert rows

    def as_text(ws):
        for row in rows:
            cell = ws.cell(cell_of(ws, row.name).row, official.COL["实际完成值"])
            cell.value, cell.number_format = f"{row.actual_value:f}".rstrip("0").rstrip("."), "@"

    admin = get_user_model().objects.get(username="admin")
    result = official.import_official(official_bytes(demo, as_text), by=admin, dry_run=False)
    assert result.ok, result.problems
    assert (result.total, result.grade) == (Decimal("94.96"), "优") and result.changes == []
    for row in rows:
        stored = IndicatorResult.objects.get(pk=row.pk)
        assert (stored.actual_value, stored.actual_text) == (row.actual_value, "")


@pytest.mark.parametrize("value, message", [
    ("约400", "本指标按“按比例计分”计分，“实际完成值”应为数字，现为“约400”。"),
    ("NaN", "“实际完成值”应为数字，现为“NaN”。"),
    (1e308, "“实际完成值”应在 0 到 999999999999之间，现为 1e+308。"),
    ("1e308", "“实际完成值”应在 0 到 999999999999之间，现为 1e308。"),
])
def test_a_value_a_rule_needs_that_is_not_a_number_is_a_row_error_never_a_silent_zero(demo, value, message):
    row = entered_rows(demo)[0]
    line = {}

    def change(ws):
        line["n"] = cell_of(ws, row.name).row
        ws.cell(line["n"], official.COL["实际完成值"]).value = value

    before = state()
    client = official_admin()
    f = io.BytesIO(official_bytes(demo, change))
    f.name = "自评表.xlsx"
    response = client.post(OFFICIAL_URL, {"file": f})
    assert_chinese_page(response, typed=re.findall(r"[A-Za-z]+", str(value)))
    n = line["n"]
    html = response.content.decode()
    assert f"工作表“自评表”第 {n} 行“实际完成值”（H{n}）：" in html
    problems = official.import_official(official_bytes(demo, change), dry_run=True).problems
    assert any(message in p for p in problems), problems
    assert state() == before


def test_the_table_on_another_sheet_than_the_first_is_found(demo):
    admin = get_user_model().objects.get(username="admin")
    result = official.import_official(official_bytes(demo, cover=True), by=admin, dry_run=True)
    assert result.ok, result.problems
    assert result.sheet == "自评表" and result.total == Decimal("94.96")


def test_a_merged_cell_in_the_official_table_applies_to_every_row_it_spans(demo):
    rows = list(demo.results.select_related("category").order_by("category__order", "order", "pk"))
    first, second = next((a, b) for a, b in zip(rows, rows[1:], strict=False) if a.category_id == b.category_id)

    def merge(ws):
        top, below = cell_of(ws, first.name).row, cell_of(ws, second.name).row
        assert below == top + 1
        column = official.COL["偏差原因分析及改进措施"]
        ws.cell(top, column).value = "两行共用的原因"
        ws.cell(below, column).value = None
        ws.merge_cells(start_row=top, start_column=column, end_row=below, end_column=column)

    admin = get_user_model().objects.get(username="admin")
    result = official.import_official(official_bytes(demo, merge), by=admin, dry_run=False)
    assert result.ok, result.problems
    assert set(IndicatorResult.objects.filter(pk__in=[first.pk, second.pk])
               .values_list("deviation_reason", flat=True)) == {"两行共用的原因"}


@pytest.mark.parametrize("data", [b"", b"not a workbook", b"PK\x03\x04broken"], ids=["empty", "text", "broken-zip"])
def test_the_official_import_answers_any_file_in_chinese(demo, data):
    f = io.BytesIO(data)
    f.name = "x.xlsx"
    assert_chinese_page(official_admin().post(OFFICIAL_URL, {"file": f}))
