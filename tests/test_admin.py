"""The admin in Chinese: bad input gets a clear message and changes nothing."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from evaluations import access
from evaluations.models import BudgetLine, Evaluation, Framework, Indicator, IndicatorResult, Unit
from tests.factories import PASSWORD, login, make_evaluation, make_user
from tests.forms import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db):
    return login(make_user(access.ADMIN))


def field_named(data, suffix, where):
    """The inline field whose name ends with `suffix` in the inline row where `where(prefix)` holds."""
    for name in data:
        if name.endswith(suffix) and where(name[: -len(suffix)]):
            return name
    raise AssertionError(f"no field {suffix}")


def post_change(client, url, change):
    data = form_data(client.get(url).content.decode(), form_id=None)
    data = {k: v for k, v in data.items() if not k.startswith("_")}
    change(data)
    data["_save"] = "保存"
    return client.post(url, data)


def snapshot():
    return (
        list(IndicatorResult.objects.order_by("pk").values_list("score", "weight", "actual_value")),
        list(BudgetLine.objects.order_by("pk").values_list("initial_budget", "adjusted_budget", "executed")),
        list(Indicator.objects.order_by("pk").values_list("weight", "name")),
        list(Evaluation.objects.values_list("version", "budget_note")),
    )


def test_every_changelist_and_add_page_opens(admin_client):
    make_evaluation()
    for model in ("unit", "framework", "indicator", "evaluation", "reviewercharge"):
        assert admin_client.get(f"/admin/evaluations/{model}/").status_code == 200, model
        assert admin_client.get(f"/admin/evaluations/{model}/add/").status_code == 200, model
    html = admin_client.get("/admin/").content.decode()
    assert "部门整体支出绩效自评" in html and "年度指标体系" in html


def test_score_above_its_weight_is_refused(admin_client, demo):
    url = f"/admin/evaluations/evaluation/{demo.pk}/change/"
    before = snapshot()
    row = demo.results.get(name="政府采购管理")

    def change(data):
        data[field_named(data, "-score", lambda p: data.get(p + "-id") == str(row.pk))] = "9"

    response = post_change(admin_client, url, change)
    html = response.content.decode()
    assert response.status_code == 200
    assert "“达成”的得分应在" in html or "得分应在 0 到 5 分之间" in html
    assert snapshot() == before


def test_negative_budget_is_refused(admin_client, demo):
    url = f"/admin/evaluations/evaluation/{demo.pk}/change/"
    before = snapshot()

    def change(data):
        data[field_named(data, "-executed", lambda p: data.get(p + "-item") == "fiscal")] = "-5"
        data["budget_note"] = "不应保存"

    html = post_change(admin_client, url, change).content.decode()
    assert "不能为负数" in html
    assert snapshot() == before


def test_text_in_a_number_field_is_refused(admin_client, demo):
    url = f"/admin/evaluations/evaluation/{demo.pk}/change/"
    before = snapshot()
    row = demo.results.get(name="巡查涉水污染源")

    def change(data):
        data[field_named(data, "-actual_value", lambda p: data.get(p + "-id") == str(row.pk))] = "五百三十五"

    html = post_change(admin_client, url, change).content.decode()
    assert "输入一个数字" in html
    assert snapshot() == before


def test_framework_whose_weights_do_not_add_up_is_refused(admin_client, demo):
    framework = Framework.objects.get(year=2024)
    url = f"/admin/evaluations/framework/{framework.pk}/change/"
    before = snapshot()
    top = framework.indicators.get(level=1, name="管理效率")

    def change(data):
        data[field_named(data, "-weight", lambda p: data.get(p + "-id") == str(top.pk))] = "40"

    html = post_change(admin_client, url, change).content.decode()
    assert "一级指标分值合计为 90 分，应为 100 分。" in html
    assert "“管理效率”的下级指标分值合计为 50 分，应等于其分值 40 分。" in html
    assert snapshot() == before


def test_single_indicator_change_that_breaks_the_sum_is_refused(admin_client, demo):
    indicator = Indicator.objects.get(name="资产管理", level=3)
    url = f"/admin/evaluations/indicator/{indicator.pk}/change/"
    before = snapshot()
    html = post_change(admin_client, url, lambda data: data.update(weight="8")).content.decode()
    assert "的下级指标分值合计为 8 分，应等于其分值 5 分" in html
    assert snapshot() == before


def test_valid_admin_edit_rescores_the_evaluation(admin_client, demo):
    url = f"/admin/evaluations/evaluation/{demo.pk}/change/"

    def change(data):
        data[field_named(data, "-executed", lambda p: data.get(p + "-item") == "fiscal")] = "53000.00"

    response = post_change(admin_client, url, change)
    assert response.status_code == 302
    rate_row = IndicatorResult.objects.get(evaluation=demo, name="预算执行率")
    # 执行率 = (53000 + 3454.20 + 1750) / 58700 = 99.16%
    assert rate_row.actual_value == Decimal("99.16") and rate_row.score == Decimal("9.92")


def test_new_evaluation_in_the_admin_gets_its_rows_and_sections(admin_client, demo):
    unit = Unit.objects.create(name="广州市番禺区石楼镇人民政府", code="440113-SLZ")
    response = admin_client.post(
        "/admin/evaluations/evaluation/add/",
        {"unit": unit.pk, "framework": demo.framework_id, "budget_note": "", "_save": "保存"},
    )
    assert response.status_code == 302
    created = Evaluation.objects.get(unit=unit)
    assert created.results.count() == Indicator.objects.filter(framework=demo.framework, level=3).count()
    assert [s.title for s in created.sections_in_order()] == [
        "部门整体支出绩效目标", "自评结论", "履职效能分析", "管理效率分析", "存在的主要问题", "下一步改进措施"]


def test_filler_cannot_open_the_admin():
    filler = make_user(access.FILLER)
    client = Client()
    client.login(username=filler.username, password=PASSWORD)
    assert client.get("/admin/").status_code == 302


def test_evaluation_changelist_queries_do_not_grow(admin_client):
    make_evaluation()
    admin_client.get("/admin/evaluations/evaluation/")  # warm
    with CaptureQueriesContext(connection) as few:
        admin_client.get("/admin/evaluations/evaluation/")
    for _ in range(10):
        make_evaluation()
    with CaptureQueriesContext(connection) as many:
        admin_client.get("/admin/evaluations/evaluation/")
    assert len(few) == len(many)


def test_admin_edits_are_recorded_in_the_history(admin_client, demo):
    from evaluations.models import FieldChange

    url = f"/admin/evaluations/evaluation/{demo.pk}/change/"

    def change(data):
        data["budget_note"] = "管理员补充的说明"

    assert post_change(admin_client, url, change).status_code == 302
    [record] = FieldChange.objects.filter(evaluation=demo)
    assert (record.field_label, record.old_value, record.new_value) == ("预算执行情况说明", "", "管理员补充的说明")


def test_submitted_or_approved_evaluations_are_read_only_in_the_admin(admin_client, demo):
    from django.contrib.auth.models import User

    from evaluations import workflow

    workflow.submit(demo, by=User.objects.get(username="filler"))
    url = f"/admin/evaluations/evaluation/{demo.pk}/change/"
    before = snapshot()
    page = admin_client.get(url).content.decode()
    assert 'name="budget_note"' not in page  # shown, not editable
    admin_client.post(url, {"budget_note": "不应保存", "_save": "保存"})
    assert snapshot() == before
