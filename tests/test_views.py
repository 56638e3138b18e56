"""The first UI: login, the list of evaluations one may see, the evaluation page and its 说明."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from evaluations import access
from evaluations.models import IndicatorResult
from tests.factories import login, make_evaluation, make_unit, make_user

pytestmark = pytest.mark.django_db



def test_login_page_is_in_chinese():
    response = Client().get("/accounts/login/")
    html = response.content.decode()
    assert "登录" in html and "用户名" in html and "密码" in html


def test_wrong_password_says_so_in_chinese():
    make_user(access.FILLER, username="zhang")
    response = Client().post("/accounts/login/", {"username": "zhang", "password": "wrong"})
    assert "用户名或密码不正确" in response.content.decode()


def test_anonymous_is_sent_to_login():
    response = Client().get("/evaluations/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_filler_sees_only_their_units_evaluations():
    mine, other = make_evaluation(), make_evaluation()
    filler = make_user(access.FILLER, units=[mine.unit])
    html = login(filler).get("/evaluations/").content.decode()
    assert mine.unit.name in html
    assert other.unit.name not in html


def test_reviewer_sees_units_in_charge_including_subunits():
    district = make_unit("某区")
    town = make_unit("某镇", parent=district)
    elsewhere = make_unit("别的区")
    in_charge, outside = make_evaluation(unit=town), make_evaluation(unit=elsewhere)
    reviewer = make_user(access.REVIEWER, charge=district)
    html = login(reviewer).get("/evaluations/").content.decode()
    assert "某镇" in html and "别的区" not in html
    assert login(reviewer).get(f"/evaluations/{outside.pk}/").status_code == 404
    assert login(reviewer).get(f"/evaluations/{in_charge.pk}/").status_code == 200


def test_list_counts_evaluations_by_status_not_their_rows():
    district = make_unit("某区")
    towns = [make_evaluation(unit=make_unit(f"某镇{i}", parent=district), extra_rows=5) for i in range(3)]
    towns[0].status = "submitted"
    towns[0].save()
    reviewer = make_user(access.REVIEWER, charge=district)
    html = login(reviewer).get("/evaluations/").content.decode()
    assert "草稿 2 份" in html and "已提交 1 份" in html


def test_evaluation_page_shows_table_subtotals_total_grade_and_explanations(demo):
    client = Client()
    client.login(username="filler", password="demo-filler-2024")
    html = client.get(f"/evaluations/{demo.pk}/").content.decode()
    assert "综合得分 <strong class=\"total-score\">94.96</strong> 分" in html
    assert "自评结果“<strong class=\"grade\">优</strong>”" in html
    assert "执行率 96.60%，得 9.66 分（满分 10 分）" in html
    assert "调整率 17.40%，超出 10% 的上限 7.4 个百分点，每个百分点扣 0.5 分，得 1.30 分（满分 5 分）" in html
    assert "分值 20，得 15.96" in html  # 预算执行 subtotal: 9.66 + 1.30 + 5.00
    assert "分值 50，得 44.96" in html  # 管理效率
    assert "巡查涉水污染源" in html and "单位自设" in html
    assert "96.60%" in html and "58,700.00" in html  # budget table
    assert f'href="/evaluations/{demo.pk}/document/"' in html


def test_demo_loses_points_where_its_problems_say(demo):
    lost = {r.name: r.weight - r.score for r in IndicatorResult.objects.filter(evaluation=demo) if r.score < r.weight}
    assert lost == {"预算编制科学性": Decimal("1.00"), "预算执行率": Decimal("0.34"), "预算调整率": Decimal("3.70")}
    assert all(r.deviation_reason for r in IndicatorResult.objects.filter(evaluation=demo, name__in=lost))


@pytest.mark.parametrize("page", ["", "document/"])
def test_pages_take_the_same_queries_for_10_and_100_rows(page):
    small, large = make_evaluation(extra_rows=10), make_evaluation(extra_rows=100)
    admin = make_user(access.ADMIN)
    client = login(admin)
    client.get("/evaluations/")  # warm: once-per-session work is not what grows with data
    counts = []
    for evaluation in (small, large):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/evaluations/{evaluation.pk}/{page}")
        assert response.status_code == 200
        counts.append(len(queries))
    assert large.results.count() >= 100
    assert counts[0] == counts[1], counts


def test_list_takes_the_same_queries_for_few_and_many_units():
    admin = make_user(access.ADMIN)
    client = login(admin)
    make_evaluation()
    client.get("/evaluations/")  # warm
    with CaptureQueriesContext(connection) as few:
        client.get("/evaluations/")
    for _ in range(15):
        make_evaluation()
    with CaptureQueriesContext(connection) as many:
        html = client.get("/evaluations/").content.decode()
    assert html.count('href="/evaluations/') >= 16
    assert len(few) == len(many)


def test_list_rows_print_as_the_template_printed_them():
    admin = make_user(access.ADMIN)
    evaluation = make_evaluation(unit=make_unit(name='<script>"甲" & 乙</script>'))
    html = login(admin).get("/evaluations/").content.decode()
    local = timezone.localtime(evaluation.updated_at).strftime("%Y-%m-%d %H:%M")
    assert (f'<td><a href="/evaluations/{evaluation.pk}/">&lt;script&gt;&quot;甲&quot; &amp; 乙&lt;/script&gt;</a></td>'
            in html and "<script>\"甲" not in html)
    assert '<span class="badge status-draft">草稿</span>' in html and f'<td data-label="最后修改">{local}</td>' in html
    assert f'<td><a href="/evaluations/{evaluation.pk}/document/">自评表说明</a></td>' in html


@pytest.mark.django_db(False)
def test_minute_prints_as_the_date_filter_did():
    import datetime

    from django.template import Context, Template

    from evaluations.templatetags.evaluation_tags import minute

    printed = Template('{{ value|date:"Y-m-d H:i" }}')
    values = [timezone.now(), datetime.datetime(2024, 3, 9, 16, 5, 59, tzinfo=datetime.UTC),
              datetime.datetime(2024, 12, 31, 23, 59, tzinfo=datetime.UTC),  # another day in Beijing
              datetime.datetime(7, 1, 2, 3, 4, tzinfo=datetime.UTC), datetime.datetime(2024, 1, 2, 3, 4), None]
    for zone in ("Asia/Shanghai", "UTC", "America/New_York"):
        with timezone.override(zone):
            for value in values:
                assert minute(value) == printed.render(Context({"value": value})), (zone, value)


def test_rows_urls_are_reversed_once_a_page_and_are_the_same():
    from django.urls import reverse, set_script_prefix

    from evaluations.views import MARKER_PK, url_by_pk

    for prefix in ("/", "/jx987/"):  # also under a prefix (SCRIPT_NAME) holding digits
        set_script_prefix(prefix)
        try:
            for name in ("evaluations:detail", "evaluations:document", "evaluations:review"):
                url = url_by_pk(name)
                for pk in (1, 9, 10, 987, 123456789, MARKER_PK):
                    assert url(pk) == reverse(name, args=[pk])
        finally:
            set_script_prefix("/")


@pytest.mark.parametrize("role, offered", [
    (access.FILLER, []),
    (access.REVIEWER, ["待审核", "总览"]),
    (access.ADMIN, ["待审核", "总览", "导入自评表", "系统管理"]),
])
def test_navigation_offers_what_the_role_may_open(role, offered):
    user = make_user(role)
    if role == access.ADMIN:
        user.is_staff = True
        user.save()
    nav = login(user).get("/evaluations/").content.decode().split('aria-label="主导航"')[1].split("</nav>")[0]
    for link in ["待审核", "总览", "导入自评表", "系统管理"]:
        assert (f">{link}</a>" in nav) == (link in offered), link


# _indicator_table.html's lines as the template wrote them before table_body wrote them in Python (issue 14).
TEMPLATE_LINES = """{% load evaluation_tags %}{% for dimension in scorecard.dimensions %}{% for category in dimension.categories %}
{% for scored in category.rows %}<tr id="row-{{ scored.row.pk }}">
{% if forloop.first and forloop.parentloop.first %}<th scope="rowgroup" rowspan="{{ dimension.row_count }}" class="fw-normal">{{ dimension.indicator.name }}<br><small class="text-muted">分值 {{ dimension.weight|plain }}，得 {{ dimension.score }}</small></th>{% endif %}
{% if forloop.first %}<th scope="rowgroup" rowspan="{{ category.rows|length }}" class="fw-normal">{{ category.indicator.name }}<br><small class="text-muted">分值 {{ category.weight|plain }}，得 {{ category.score }}</small></th>{% endif %}
<td>{{ scored.row.name }}{% if scored.row.is_unit_row %} <span class="badge text-bg-light">单位自设</span>{% endif %}</td><td>{{ scored.row.get_comparison_display }}</td>
<td>{{ scored.row.target_display }}</td><td>{{ scored.row.unit_of_measure }}</td><td>{{ scored.row.actual_display }}</td>
<td class="text-end">{{ scored.row.weight|plain }}</td>
<td class="text-end{% if scored.result.score is not None and scored.result.score < scored.row.weight %} text-danger{% endif %}">{% if scored.result.score is None %}—{% else %}{{ scored.result.score }}{% endif %}</td>
{% if with_explanations %}<td class="small">{{ scored.result.explanation }}</td>{% endif %}<td class="small">{{ scored.row.deviation_reason|linebreaksbr }}</td></tr>
{% empty %}<tr>{% if forloop.first %}<th scope="rowgroup" rowspan="{{ dimension.row_count }}" class="fw-normal">{{ dimension.indicator.name }}<br><small class="text-muted">分值 {{ dimension.weight|plain }}，得 {{ dimension.score }}</small></th>{% endif %}
<th scope="row" class="fw-normal">{{ category.indicator.name }}<br><small class="text-muted">分值 {{ category.weight|plain }}</small></th>
<td colspan="{% if with_explanations %}9{% else %}8{% endif %}" class="text-muted">尚无三级指标</td></tr>
{% endfor %}{% endfor %}{% endfor %}"""


@pytest.mark.parametrize("with_explanations", [True, False])
def test_the_table_lines_are_what_the_template_wrote(demo, with_explanations):
    """table_body writes the 自评表's lines in Python (the 自评表 page with the 得分说明, the public table
    without): the same HTML as the template, for the demo and for rows with markup in their texts, a row not yet
    scored, lost points and a category with no rows."""
    import re

    from django.template import engines

    from evaluations.models import Evaluation, Indicator
    from evaluations.templatetags.indicator_table import table_body

    evaluation = make_evaluation(extra_rows=3)
    row = evaluation.results.filter(category__name="产出").first()
    IndicatorResult.objects.filter(pk=row.pk).update(
        name='<b>"产出"</b> & 甲', unit_of_measure="<i>项</i>", actual_value=None, score=None,
        deviation_reason="第一行<br>\n第二行 & 第三行",
    )
    IndicatorResult.objects.filter(evaluation=evaluation, category__name="效益").update(score=Decimal("1.5"))
    output = evaluation.framework.indicators.get(name="产出")
    Indicator.objects.create(framework=evaluation.framework, parent=output.parent, level=2, name="<u>满意度</u>",
                             weight=Decimal("0"), order=99)
    template = engines["django"].from_string(TEMPLATE_LINES)

    def whitespace_between_tags_removed(html):
        return re.sub(r">\s+<", "><", str(html)).strip()

    for each in (demo, evaluation):
        card = Evaluation.objects.with_document_data().get(pk=each.pk).scorecard()
        expected = template.render({"scorecard": card, "with_explanations": with_explanations})
        written = table_body(card, with_explanations)
        assert whitespace_between_tags_removed(written) == whitespace_between_tags_removed(expected)
    assert "&lt;u&gt;满意度&lt;/u&gt;" in written and "尚无三级指标" in written and "text-danger" in written and "&lt;b&gt;&quot;产出&quot;&lt;/b&gt; &amp; 甲" in written
    assert "第一行&lt;br&gt;<br>第二行 &amp; 第三行" in written
