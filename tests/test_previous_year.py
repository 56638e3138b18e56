import pytest
from django.test import Client

from evaluations import access
from evaluations.models import Evaluation
from tests.factories import PASSWORD, make_framework, make_user

pytestmark = pytest.mark.django_db


def test_new_year_starts_from_last_year_with_copies_marked(demo):
    make_framework(2025)
    client = Client()
    client.login(username="filler", password="demo-filler-2024")
    page = client.get("/evaluations/?year=2025").content.decode()
    assert "沿用2024年的指标和说明开始" in page
    response = client.post("/evaluations/start/", {"unit": demo.unit_id, "year": 2025, "from_previous": "1"}, follow=True)
    html = response.content.decode()
    new = Evaluation.objects.get(unit=demo.unit, framework__year=2025)
    copied = new.results.filter(copied_from_previous_year=True)
    assert set(copied.values_list("name", flat=True)) == set(demo.results.filter(indicator__isnull=True).values_list("name", flat=True))
    row = copied.get(name="巡查涉水污染源")
    assert (row.target_value, row.actual_value, row.score) == (500, None, None)
    goal = new.sections.get(kind="goal")
    assert goal.copied_from_previous_year and goal.body == demo.sections.get(kind="goal").body
    assert "沿用上年" in html and "请逐项核实" in html


def test_without_previous_year_only_a_blank_start_is_offered():
    make_framework(2025)
    from tests.factories import make_unit

    unit = make_unit()
    user = make_user(access.FILLER, units=[unit])
    client = Client()
    client.login(username=user.username, password=PASSWORD)
    page = client.get("/evaluations/?year=2025").content.decode()
    assert "开始填报2025年" in page and "沿用" not in page
