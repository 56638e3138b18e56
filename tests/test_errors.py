"""Error pages (ops/errors.py, issue 14): in Chinese, in the site's layout, saying what to do, with a way back;
never Django's bare English pages."""

import pytest
from django.test import Client
from django.urls import path

import config.urls
from evaluations import access, workflow
from evaluations.models import Evaluation
from tests.factories import PASSWORD, make_evaluation, make_user
from tests.test_edit_page import edit_form, filler_client

pytestmark = pytest.mark.django_db

ENGLISH = ("Forbidden", "Not Found", "Bad Request", "Server Error", "CSRF verification failed")


def assert_chinese_page_in_layout(response, status, *phrases):
    assert response.status_code == status
    page = response.content.decode()
    assert not any(word in page for word in ENGLISH), page
    assert 'lang="zh-CN"' in page and "部门整体支出绩效自评" in page  # the site's layout
    for phrase in phrases:
        assert phrase in page, phrase
    return page


def test_going_back_to_the_edit_page_after_submitting_says_why_and_leads_to_the_evaluation():
    evaluation = make_evaluation()
    filler = make_user(access.FILLER, units=[evaluation.unit])
    client = Client()
    client.login(username=filler.username, password=PASSWORD)
    workflow.submit(evaluation, by=filler)
    page = assert_chinese_page_in_layout(
        client.get(f"/evaluations/{evaluation.pk}/edit/", headers={"Referer": f"http://testserver/evaluations/{evaluation.pk}/"}),
        403, "不能进行这项操作", "当前状态为“已提交”", "请联系审核人退回",
    )
    assert f'href="/evaluations/{evaluation.pk}/">查看这份自评表' in page
    assert 'href="/evaluations/">回到自评列表' in page
    assert 'id="site-menu"' in page  # the menu of a logged-in user


def test_an_unknown_address_is_a_chinese_404_with_a_way_back():
    evaluation = make_evaluation()
    client = filler_client(evaluation)
    page = assert_chinese_page_in_layout(client.get("/evaluations/999999/"), 404, "找不到这个页面", "回到自评列表")
    assert "999999" not in page.split("<main", 1)[1].split("错误代码")[0]  # nothing echoed from the address


def test_a_public_404_uses_the_public_layout_and_leads_to_the_public_list():
    page = assert_chinese_page_in_layout(Client().get("/public/999999/"), 404, "找不到这个页面", "信息公开")
    assert 'href="/public/">回到信息公开列表' in page
    assert "自评列表" not in page and "退出" not in page


def test_a_referer_from_another_site_is_not_offered_as_the_way_back():
    page = Client().get("/public/999999/", headers={"Referer": "https://evil.example/phish"}).content.decode()
    assert "evil.example" not in page


def test_an_expired_page_says_nothing_was_saved_and_what_to_do():
    evaluation = make_evaluation()
    client = filler_client(evaluation)
    data = edit_form(client, evaluation)
    data["csrfmiddlewaretoken"] = "a" * 64  # a token of an earlier session: the page was opened before a login
    checked = Client(enforce_csrf_checks=True)
    checked.cookies = client.cookies
    page = assert_chinese_page_in_layout(checked.post(f"/evaluations/{evaluation.pk}/edit/", data), 403,
                                         "页面已过期，未保存", "刷新页面后重新填写提交")
    assert "回到自评列表" in page
    response = checked.post(f"/evaluations/{evaluation.pk}/edit/", data, headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert 'id="save-status"' in response.content.decode() and "未保存：" in response.content.decode()
    assert Evaluation.objects.get(pk=evaluation.pk).version == evaluation.version


def test_without_the_cookie_the_page_says_so():
    evaluation = make_evaluation()
    client = filler_client(evaluation)
    data = edit_form(client, evaluation)
    del client.cookies["csrftoken"]
    client.handler.enforce_csrf_checks = True
    assert_chinese_page_in_layout(client.post(f"/evaluations/{evaluation.pk}/edit/", data), 403, "Cookie")


def test_a_bad_request_is_chinese():
    # An address Django refuses before any view (a host not in ALLOWED_HOSTS) answers 400 through handler400.
    page = assert_chinese_page_in_layout(Client().get("/evaluations/", HTTP_HOST="evil.example"), 400,
                                         "无法处理这个请求")
    assert "evil.example" not in page


def broken(request):
    raise RuntimeError("boom")


# The site's addresses and handlers, and two views that fail (for the test below).
urlpatterns = [path("broken/", broken), path("public/broken/", broken), *config.urls.urlpatterns]
handler500 = config.urls.handler500


@pytest.mark.urls("tests.test_errors")
def test_a_server_error_is_chinese_and_needs_no_database(django_assert_num_queries):
    client = Client(raise_request_exception=False)
    with django_assert_num_queries(0):
        response = client.get("/broken/")
    page = assert_chinese_page_in_layout(response, 500, "系统出错了", "错误已记录")
    assert "boom" not in page and "Traceback" not in page
    assert "回到信息公开列表" in client.get("/public/broken/").content.decode()

