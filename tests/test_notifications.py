"""Notices carry a link to the page the reader acts on, on the address users open (SITE_URL)."""

import re

import pytest
from django.core import mail
from django.test import Client

from evaluations import workflow
from tests.factories import PASSWORD
from tests.test_workflow import fresh

pytestmark = pytest.mark.django_db
LINK = re.compile(r"请登录绩效自评系统查看：(\S+)")


def link_in(message):
    found = LINK.search(message.body)
    assert found, message.body
    return found.group(1)


def test_notices_link_to_the_page_each_reader_acts_on(cast, settings, django_capture_on_commit_callbacks):  # noqa: F811
    settings.SITE_URL = "https://jixiao.example.gov.cn"
    with django_capture_on_commit_callbacks(execute=True):
        workflow.submit(cast.evaluation, by=cast.filler)
    pk = cast.evaluation.pk
    assert link_in(mail.outbox[-1]) == f"https://jixiao.example.gov.cn/evaluations/{pk}/review/"
    with django_capture_on_commit_callbacks(execute=True):
        workflow.return_for_changes(fresh(cast.evaluation), by=cast.reviewer, reason="请补充数据来源")
    assert mail.outbox[-1].to == ["filler@example.invalid"]
    assert link_in(mail.outbox[-1]) == f"https://jixiao.example.gov.cn/evaluations/{pk}/edit/"


def test_the_link_opens_the_page_for_its_reader(cast, settings, django_capture_on_commit_callbacks):  # noqa: F811
    settings.SITE_URL = "http://testserver"
    with django_capture_on_commit_callbacks(execute=True):
        workflow.submit(cast.evaluation, by=cast.filler)
    client = Client()
    client.login(username="reviewer", password=PASSWORD)
    response = client.get(link_in(mail.outbox[-1]).removeprefix("http://testserver"))
    assert response.status_code == 200
    assert str(cast.evaluation.unit.name) in response.content.decode()
