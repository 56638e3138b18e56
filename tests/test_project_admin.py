"""The admin of project frameworks and projects: presets, scoped lists, history, and no change under a submitted package."""

from decimal import Decimal as D

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from evaluations import access
from evaluations.models import Evaluation, EvaluationStatus, FieldChange, Project, ProjectFramework
from tests.factories import PASSWORD, make_evaluation, make_framework, make_project, make_project_framework, make_user
from tests.forms import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db):
    client = Client()
    client.login(username=make_user(access.ADMIN).username, password=PASSWORD)
    return client


def post_change(client, url, change):
    data = form_data(client.get(url).content.decode(), form_id=None)
    data = {k: v for k, v in data.items() if not k.startswith("_")}
    change(data)
    data["_save"] = "保存"
    return client.post(url, data)


def field_named(data, suffix, value):
    """The inline field ending with `suffix` in the row whose name field holds `value`."""
    for name, v in data.items():
        if name.endswith("-name") and v == value:
            return name[: -len("-name")] + suffix
    raise AssertionError(value)


def test_adding_a_project_framework_applies_the_chosen_weighting(admin_client):
    framework = make_framework()
    response = admin_client.post("/admin/evaluations/projectframework/add/", {
        "framework": framework.pk, "name": "2024年度项目支出指标体系", "weighting": "101", "execution_weight": "10",
        "scoring_basis": "101", "floor_rate": "60", "execution_steps": "[[100, 1], [80, 0.7], [60, 0.5]]",
        "satisfaction_steps": "[[90, 1], [80, 0.8], [60, 0.5]]", "deviation_threshold": "30", "deviation_deduction": "2",
        "execution_caps": "[[80, 89], [70, 79], [60, 69], [50, 59]]", "_save": "保存",
    })
    assert response.status_code == 302, response.content.decode()
    pf = ProjectFramework.objects.get(framework=framework)
    assert [t.name for t in pf.template.filter(level=1).order_by("order")] == ["成本指标", "产出指标", "效益指标", "满意度指标"]
    assert pf.rule_pack().execution_rule == "stepped"


def test_template_weights_must_total_100(admin_client):
    pf = make_project_framework()
    url = f"/admin/evaluations/projectframework/{pf.pk}/change/"
    response = post_change(admin_client, url, lambda d: d.__setitem__(field_named(d, "-weight", "产出指标"), "40"))
    assert "执行率分值与一级指标分值合计为 90 分，应为 100 分。" in response.content.decode()
    assert pf.template.get(name="产出指标").weight == D("50")


def test_a_rule_change_refreshes_the_years_stored_scores(admin_client):
    make_project_framework()
    project = make_project(make_evaluation(), fiscal=(D("100"), D("100"), D("78")))
    assert project.total_score == D("97.80")
    pf = ProjectFramework.objects.get()
    response = post_change(admin_client, f"/admin/evaluations/projectframework/{pf.pk}/change/",
                           lambda d: d.update(scoring_basis="101", execution_caps_enabled="on"))
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.execution_score, project.total_score) == (D("5.00"), D("89.00"))


def test_rules_of_a_year_with_a_submitted_package_cannot_change(admin_client):
    make_project_framework()
    evaluation = make_evaluation()
    make_project(evaluation)
    Evaluation.objects.filter(pk=evaluation.pk).update(status=EvaluationStatus.SUBMITTED)
    pf = ProjectFramework.objects.get()
    url = f"/admin/evaluations/projectframework/{pf.pk}/change/"
    response = post_change(admin_client, url, lambda d: d.update(scoring_basis="101"))
    assert response.status_code == 403
    assert ProjectFramework.objects.get().scoring_basis == "10"


def test_editing_a_project_row_rescores_and_records_history(admin_client):
    make_project_framework()
    project = make_project(make_evaluation())
    version = project.evaluation.version
    url = f"/admin/evaluations/project/{project.pk}/change/"
    response = post_change(admin_client, url, lambda d: d.__setitem__(field_named(d, "-actual_value", "完成数量"), "8"))
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.total_score == D("90.00")
    change = FieldChange.objects.get(evaluation=project.evaluation)
    assert (change.object_label, change.old_value, change.new_value) == (f"项目“{project.name}”指标“完成数量”", "10", "8")
    assert Evaluation.objects.get(pk=project.evaluation_id).version == version + 1


def test_a_project_of_a_submitted_package_is_read_only(admin_client):
    make_project_framework()
    project = make_project(make_evaluation())
    Evaluation.objects.filter(pk=project.evaluation_id).update(status=EvaluationStatus.APPROVED)
    html = admin_client.get(f"/admin/evaluations/project/{project.pk}/change/").content.decode()
    assert 'name="_save"' not in html


def test_project_of_a_year_without_framework_is_refused(admin_client):
    evaluation = make_evaluation()
    response = admin_client.post("/admin/evaluations/project/add/", {
        "evaluation": evaluation.pk, "name": "新项目", "supervising_department": "a", "implementing_unit": "b",
        "indicators-TOTAL_FORMS": "0", "indicators-INITIAL_FORMS": "0", "_save": "保存",
        **{f"{s}_{c}": "0" for s in ("fiscal", "carryover", "other") for c in ("initial", "adjusted", "executed")},
    })
    assert "2024年度尚未设置项目支出指标体系" in response.content.decode()
    assert not Project.objects.exists()


def test_reviewer_sees_only_projects_of_units_in_charge(db):
    make_project_framework()
    mine, other = make_evaluation(), make_evaluation()
    make_project(mine, name="我负责的项目")
    make_project(other, name="别人的项目")
    reviewer = make_user(access.REVIEWER, charge=mine.unit)
    reviewer.is_staff = True
    reviewer.save()
    from django.contrib.auth.models import Permission

    reviewer.user_permissions.add(Permission.objects.get(codename="view_project"))
    assert list(Project.objects.visible_to(reviewer).values_list("name", flat=True)) == ["我负责的项目"]


def test_project_changelist_queries_do_not_grow(admin_client):
    make_project_framework()
    evaluation = make_evaluation()
    make_project(evaluation)
    admin_client.get("/admin/evaluations/project/")
    with CaptureQueriesContext(connection) as few:
        admin_client.get("/admin/evaluations/project/")
    for _ in range(10):
        make_project(make_evaluation())
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get("/admin/evaluations/project/")
    assert response.content.decode().count("测试项目") >= 11
    assert len(few) == len(many)
