"""Bad files get a clear Chinese message and write nothing (issue 5). Each test makes its own fixture."""

import io
import zipfile

import pytest
from django.test import Client
from openpyxl import Workbook

from evaluations import access
from evaluations.models import Evaluation, IndicatorResult, Unit
from evaluations.spreadsheets.resources import IndicatorResultResource
from tests.factories import PASSWORD, make_evaluation, make_user

pytestmark = pytest.mark.django_db

UNITS_URL = "/admin/evaluations/unit/import/"
RESULTS_URL = "/admin/evaluations/evaluation/import/"
UNIT_HEADERS = ["单位编码", "单位全称", "简称", "上级单位编码"]


def workbook_bytes(rows):
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def upload(url, data, name="data.xlsx", fmt="0"):
    client = Client()
    client.login(username=make_user(access.ADMIN).username, password=PASSWORD)
    f = io.BytesIO(data)
    f.name = name
    return client.post(url, {"resource": "0", "format": fmt, "import_file": f}).content.decode()


def snapshot():
    return (
        list(Unit.objects.order_by("pk").values_list("code", "name", "parent_id")),
        list(IndicatorResult.objects.order_by("pk").values_list("name", "weight", "score", "actual_value", "deviation_reason")),
        list(Evaluation.objects.order_by("pk").values_list("version", "status")),
    )


def evaluation_rows(evaluation, changes):
    dataset = IndicatorResultResource().export(Evaluation.objects.filter(pk=evaluation.pk))
    rows = [list(dataset.headers)] + [list(r) for r in dataset]
    for (name, column), value in changes.items():
        rows[dataset["三级指标"].index(name) + 1][dataset.headers.index(column)] = value
    return rows, dataset


@pytest.fixture
def evaluation():
    return make_evaluation()


def test_bytes_that_are_not_a_spreadsheet(evaluation):
    before = snapshot()
    html = upload(UNITS_URL, b"%PDF-1.4 this is not a spreadsheet")
    assert "文件不是 Excel（.xlsx）文件，无法读取。" in html
    assert snapshot() == before


def test_a_zip_that_is_not_a_workbook(evaluation):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "hello")
    before = snapshot()
    assert "文件不是 Excel（.xlsx）文件，无法读取。" in upload(UNITS_URL, buf.getvalue())
    assert snapshot() == before


def test_wrong_and_missing_columns(evaluation):
    before = snapshot()
    html = upload(UNITS_URL, workbook_bytes([["编码", "单位全称", "备注"], ["X1", "某单位", ""]]))
    assert "缺少必需的列：“单位编码”。" in html and "无法识别的列：“编码”、“备注”" in html
    assert snapshot() == before


def test_text_in_a_number_column(evaluation):
    rows, data = evaluation_rows(evaluation, {("预算编制科学性", "得分"): "四分"})
    before = snapshot()
    html = upload(RESULTS_URL, workbook_bytes(rows))
    line = data["三级指标"].index("预算编制科学性") + 2
    assert "“得分”应为数字，现为“四分”。" in html and f"<td>{line}</td>" in html
    assert snapshot() == before


def test_numbers_out_of_range(evaluation):
    rows, _ = evaluation_rows(evaluation, {("资产管理", "分值"): -3, ("政府采购管理", "排序"): 1.5})
    before = snapshot()
    html = upload(RESULTS_URL, workbook_bytes(rows))
    assert "“分值”应在 0 到 100之间，现为 -3。" in html
    assert "“排序”最多保留 0 位小数，现为 1.5。" in html
    assert snapshot() == before


def test_score_above_its_weight(evaluation):
    rows, _ = evaluation_rows(evaluation, {("预决算信息公开", "得分"): 6})
    before = snapshot()
    html = upload(RESULTS_URL, workbook_bytes(rows))
    assert "得分应在 0 到 5 分之间（本指标分值 5 分），现为 6 分。" in html
    assert snapshot() == before


def test_formulas_in_cells(evaluation):
    before = snapshot()
    html = upload(UNITS_URL, workbook_bytes([UNIT_HEADERS, ["X1", "=1+1", "", ""], ["X2", "=HYPERLINK(\"x\")", "", ""]]))
    assert "文件中有公式（单元格 Sheet!B2、Sheet!B3）。为防止公式注入，导入不接受公式" in html
    assert snapshot() == before


def test_formulas_in_a_csv(evaluation):
    before = snapshot()
    html = upload(UNITS_URL, "单位编码,单位全称\nX1,=cmd|' /C calc'!A0\n".encode(), name="u.csv", fmt="1")
    assert "文件中有公式（单元格 B2）" in html
    assert snapshot() == before


def test_duplicate_rows(evaluation):
    before = snapshot()
    html = upload(UNITS_URL, workbook_bytes([UNIT_HEADERS, ["X1", "某单位", "", ""], ["X1", "某单位二", "", ""]]))
    assert "与第 2 行重复。" in html
    assert snapshot() == before


def test_file_over_the_size_limit(evaluation, settings):
    settings.IMPORT_MAX_FILE_SIZE = 4096
    data = workbook_bytes([UNIT_HEADERS] + [[f"X{n}", f"单位{n}" * 10, "", ""] for n in range(500)])
    before = snapshot()
    html = upload(UNITS_URL, data)
    assert f"文件大小为 {len(data) / 1024 / 1024:.1f} MB，超过上限 0 MB" in html
    assert snapshot() == before


def test_zip_bomb_is_refused_before_opening(evaluation, settings):
    settings.IMPORT_MAX_UNPACKED_SIZE = 5 * 1024 * 1024
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook_bytes([UNIT_HEADERS])), "r") as source, \
            zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as bomb:
        for entry in source.infolist():
            bomb.writestr(entry, source.read(entry))
        bomb.writestr("xl/media/padding.bin", b"\0" * (40 * 1024 * 1024))  # 40 MB of zeros packs to ~40 KB
    assert len(buf.getvalue()) < 200 * 1024
    before = snapshot()
    html = upload(UNITS_URL, buf.getvalue())
    assert "文件解压后约 40 MB，超过上限 5 MB（可能是“压缩炸弹”），已拒绝。" in html
    assert snapshot() == before
