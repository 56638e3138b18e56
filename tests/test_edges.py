"""Smaller edges that were silently wrong (issue 13, item 11): private pages and downloads kept by caches, the
list's total shown as SQLite's float, a message saying its number twice, an order number past the column's range."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from evaluations import evidence
from evaluations.models import Evaluation, IndicatorResult
from tests.factories import make_evaluation
from tests.test_edit_page import edit_form, filler_client, row_prefix

pytestmark = pytest.mark.django_db


def test_private_pages_and_downloads_are_not_kept_by_caches(demo, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    filler = demo.unit.members.get()
    item = evidence.attach(demo, SimpleUploadedFile("佐证.pdf", b"%PDF-1.4 x"), by=filler)
    client = Client()
    client.force_login(filler)
    for url in ["/evaluations/", f"/evaluations/{demo.pk}/", f"/evaluations/{demo.pk}/edit/",
                f"/evaluations/{demo.pk}/document/", f"/evaluations/{demo.pk}/document.docx",
                f"/evaluations/{demo.pk}/evidence/{item.pk}/", "/evaluations/tasks/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        directives = {d.strip() for d in response["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= directives, url


def test_the_list_shows_the_total_with_two_decimals(demo):
    client = Client()
    client.force_login(demo.unit.members.get())
    page = client.get("/evaluations/?year=2024").content.decode()
    assert ">94.96<" in page
    assert "94.960" not in page


def test_weights_over_a_category_are_said_once_each():
    evaluation = make_evaluation()
    output = evaluation.framework.indicators.get(level=2, name="产出")
    IndicatorResult.objects.create(evaluation=evaluation, category=output, name="多出来的指标", rule="manual",
                                   comparison="qualitative", weight=Decimal("30"), score=Decimal("0"), order=9)
    page = filler_client(evaluation).get(f"/evaluations/{evaluation.pk}/edit/").content.decode()
    assert "“产出”的三级指标分值合计 60 分，比其分值 30 分多 30 分。" in page
    assert "超出其分值 30 分 30 分" not in page


@pytest.mark.parametrize("order", ["99999999999999999999", "2147483648", "-1"])
def test_an_order_number_out_of_range_is_a_form_error_in_chinese(order):
    evaluation = make_evaluation(extra_rows=2)
    client = filler_client(evaluation)
    data = edit_form(client, evaluation)
    prefix = row_prefix(data, "row_id", str(evaluation.results.get(name="产出指标1").pk))  # its name is text
    data[f"{prefix}-order"] = order
    response = client.post(f"/evaluations/{evaluation.pk}/edit/", data)
    assert response.status_code == 400
    assert "排序号无效，请刷新页面后重新调整顺序。" in response.content.decode()
    assert Evaluation.objects.get(pk=evaluation.pk).version == evaluation.version

