"""PDFs cannot starve the site (issue 13, item 9): the 说明's PDF is rendered once per text and served from storage,
at most PDF_RENDER_SLOTS requests render at once (across processes), and the others answer "正在生成，请稍候" with
a page that asks again by itself and then shows the PDF.

The renderer is replaced by a fast fake here (it counts its calls); tests/test_pdf.py checks the real PDF."""

import hashlib
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.test import Client

from evaluations import access, editing, workflow
from evaluations.documents import html_pdf, rendered
from evaluations.models import Evaluation, RenderedDocument
from tests.factories import make_user

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def renders(monkeypatch):
    """The HTML of every PDF rendered, in order; each fake PDF names its HTML's digest."""
    calls = []

    def fake_html_to_pdf(html):
        calls.append(html)
        return b"%PDF-1.7 fake " + hashlib.sha256(html.encode()).hexdigest().encode()

    monkeypatch.setattr(html_pdf, "html_to_pdf", fake_html_to_pdf)
    monkeypatch.setattr(html_pdf, "pdf_unavailable_reason", lambda: None)
    return calls


@pytest.fixture
def filler(demo):
    client = Client()
    client.login(username="filler", password="demo-filler-2024")
    return client


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def edit_goal(evaluation, text):
    evaluation = Evaluation.objects.get(pk=evaluation.pk)
    section = evaluation.sections.get(kind="goal")
    old, section.body = section.body, text
    editing.save_content(evaluation, by=evaluation.unit.members.first(), expected_version=evaluation.version,
                         edits=[(section, {"body": old})])


def test_the_same_text_is_rendered_once_and_served_from_storage(demo, filler, renders, django_assert_max_num_queries):
    url = f"/evaluations/{demo.pk}/document.pdf"
    first = filler.get(url)
    assert first.status_code == 200 and first["Content-Type"] == "application/pdf"
    assert "attachment" in first["Content-Disposition"]
    pdf = body(first)
    for _ in range(3):
        assert body(filler.get(url)) == pdf
    assert len(renders) == 1
    stored = RenderedDocument.objects.get(evaluation=demo)
    assert stored.file.read() == pdf and stored.sha256 == hashlib.sha256(pdf).hexdigest()
    # Served from storage, a download's queries do not depend on the document: the page's load and two lookups.
    with django_assert_max_num_queries(12):
        filler.get(url)


def test_a_changed_text_is_rendered_again_and_the_old_render_removed(demo, filler, renders, settings):
    url = f"/evaluations/{demo.pk}/document.pdf"
    old_pdf = body(filler.get(url))
    old = RenderedDocument.objects.get(evaluation=demo)
    RenderedDocument.objects.filter(pk=old.pk).update(created_at=old.created_at - rendered.KEEP_SUPERSEDED * 2)
    edit_goal(demo, "本年度目标全面完成，第二稿。")
    new_pdf = body(filler.get(url))
    assert new_pdf != old_pdf and len(renders) == 2 and "第二稿" in renders[1]
    assert list(RenderedDocument.objects.filter(evaluation=demo).values_list("sha256", flat=True)) == [
        hashlib.sha256(new_pdf).hexdigest()
    ]
    assert not old.file.storage.exists(old.file.name)


def test_what_the_pdf_prints_besides_the_content_gives_a_new_render(demo, filler, renders, monkeypatch):
    """A unit renamed, an indicator renamed (the admin's, without the evaluation's version), a new renderer."""
    from evaluations.models import Indicator

    url = f"/evaluations/{demo.pk}/document.pdf"
    filler.get(url)
    demo.unit.name = "化龙镇（更名后）"
    demo.unit.save()
    filler.get(url)
    assert len(renders) == 2 and "化龙镇（更名后）" in renders[1]
    indicator = Indicator.objects.filter(framework=demo.framework, level=1).first()
    indicator.name = "改名后的一级指标"
    indicator.save()
    filler.get(url)
    assert len(renders) == 3 and "改名后的一级指标" in renders[2]
    rendered.renderer_stamp.cache_clear()
    monkeypatch.setattr(rendered, "RENDERER_VERSION", "test")
    try:
        filler.get(url)
        assert len(renders) == 4
        filler.get(url)
        assert len(renders) == 4
    finally:
        rendered.renderer_stamp.cache_clear()


def test_an_approved_evaluation_serves_its_archive_without_rendering(demo, filler, renders, settings):
    settings.ARCHIVE_APPROVED_DOCUMENTS = True
    workflow.submit(demo, by=demo.unit.members.first())
    workflow.approve(demo, by=make_user(access.REVIEWER, charge=demo.unit))
    assert len(renders) == 1  # the archive's
    archived = demo.archives.get()
    downloaded = body(filler.get(f"/evaluations/{demo.pk}/document.pdf"))
    assert downloaded == archived.file.read() and len(renders) == 1
    workflow.publish(demo, by=make_user(access.ADMIN))
    public = Client().get(f"/public/{demo.pk}/document.pdf")
    assert body(public) == downloaded and "inline" in public["Content-Disposition"] and len(renders) == 1


def assert_waiting_page(response, url):
    assert response.status_code == 202
    page = response.content.decode()
    assert "正在生成" in page and "请稍候" in page
    assert f'<meta http-equiv="refresh" content="3; url={url}?retry=1">' in page
    assert response["Retry-After"] == "3" and "no-store" in response["Cache-Control"]
    assert not re.search(r"<script(?![^>]*\ssrc=)", page)  # no inline script: the CSP forbids it


def test_when_every_slot_is_taken_the_download_answers_please_wait_then_shows_the_pdf(demo, filler, renders, settings):
    settings.PDF_RENDER_SLOTS = 2
    url = f"/evaluations/{demo.pk}/document.pdf"
    with rendered.render_slot(SimpleNamespace(pk=-1)), rendered.render_slot(SimpleNamespace(pk=-2)):  # two others
        assert_waiting_page(filler.get(url), url)
        assert renders == []
    retried = filler.get(f"{url}?retry=1")
    assert retried.status_code == 200 and body(retried).startswith(b"%PDF")
    assert "inline" in retried["Content-Disposition"]  # the waiting page is replaced by the PDF


def test_one_evaluation_is_rendered_by_one_request_at_a_time(demo, filler, renders, settings):
    settings.PDF_RENDER_SLOTS = 4
    url = f"/evaluations/{demo.pk}/document.pdf"
    with rendered.render_slot(demo):  # another request is rendering it
        assert_waiting_page(filler.get(url), url)
    assert filler.get(url).status_code == 200 and len(renders) == 1


def test_the_public_page_waits_the_same_way(demo, renders, settings):
    workflow.submit(demo, by=demo.unit.members.first())
    workflow.approve(demo, by=make_user(access.REVIEWER, charge=demo.unit))  # archiving off: rendered on demand
    workflow.publish(demo, by=make_user(access.ADMIN))
    url = f"/public/{demo.pk}/document.pdf"
    with rendered.render_slot(demo):
        response = Client().get(url)
    assert_waiting_page(response, url)
    assert "/evaluations/" not in response.content.decode()
    assert Client().get(url).status_code == 200


HOLD_SLOTS = """
import fcntl, sys, time
from pathlib import Path
handles = []
for n in range(int(sys.argv[2])):
    handle = open(Path(sys.argv[1]) / f"slot-{n}.lock", "ab")
    fcntl.flock(handle, fcntl.LOCK_EX)
    handles.append(handle)
print("held", flush=True)
sys.stdin.read()
"""


def test_the_limit_holds_across_processes(demo, filler, renders, settings):
    """Another gunicorn worker is another process: slots it holds are not free here."""
    settings.PDF_RENDER_SLOTS = 2
    directory = Path(settings.PDF_RENDER_LOCK_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    url = f"/evaluations/{demo.pk}/document.pdf"
    for held, expected in ((1, 200), (2, 202)):
        RenderedDocument.objects.all().delete()
        worker = subprocess.Popen(
            [sys.executable, "-c", HOLD_SLOTS, str(directory), str(held)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        try:
            assert worker.stdout.readline().strip() == "held"
            assert filler.get(url).status_code == expected, held
        finally:
            worker.communicate("", timeout=10)
    # The other process ended (as a worker killed at its timeout would): its slots are free again.
    assert filler.get(url).status_code == 200


def test_gunicorn_leaves_one_worker_free_of_renders(monkeypatch):
    monkeypatch.delenv("PDF_RENDER_SLOTS", raising=False)
    monkeypatch.setenv("GUNICORN_WORKERS", "5")
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["workers"] == 5 and os.environ["PDF_RENDER_SLOTS"] == "4"
