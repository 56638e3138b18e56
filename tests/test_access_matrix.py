"""The access matrix, built from the URLconf itself: every URL pattern × every actor × every state.

A URL without an entry in EXPECTED fails the test, so a new page cannot ship without deciding who may open it.
What you may not see is 404; what you may see but not do is 403.
"""

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from evaluations import access, rechecks, workflow
from evaluations.models import (
    ArchivedDocument,
    ArchivedProjectDocument,
    Event,
    Evidence,
    Project,
    Rectification,
    ReviewComment,
)
from reports.models import ExportJob
from tests.factories import PASSWORD, make_evaluation, make_project, make_project_framework, make_unit, make_user
from tests.machine import PDF_UNAVAILABLE

ACTORS = ["anonymous", "filler", "other_filler", "reviewer", "other_reviewer", "admin"]
STATES = ["draft", "submitted", "returned", "approved"]
SEES = {"filler", "reviewer", "admin"}  # who can see the evaluation at all


def walk(patterns, prefix="", namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield f"{namespace}{p.name or prefix + str(p.pattern)}", prefix + str(p.pattern)


def visible(actor, code_if_visible):
    return code_if_visible if actor in SEES else 404


def for_evaluation_page(role_ok, ok=200):
    def rule(actor, state, **_):
        if actor == "anonymous":
            return 302
        return visible(actor, ok if role_ok(actor, state) else 403)
    return rule


EDITABLE = {"draft", "returned"}
ALLOWED_ACTION = {
    ("submit", "filler"): {"draft", "returned"},
    ("approve", "reviewer"): {"submitted"},
    ("return_for_changes", "reviewer"): {"submitted"},
    ("reopen", "admin"): {"approved"},
}


def transition_rule(actor, state, action, **_):
    if actor == "anonymous":
        return 302
    return visible(actor, 302 if state in ALLOWED_ACTION.get((action, actor), ()) else 403)


def logged_in(code):
    return lambda actor, state, **_: 302 if actor == "anonymous" else code


def reviewers_and_admins(actor, state, **_):
    if actor == "anonymous":
        return 302
    return 200 if actor in ("reviewer", "other_reviewer", "admin") else 403


def start_rule(actor, state, **_):
    if actor == "anonymous":
        return 302
    return 302 if actor == "filler" else 404  # the unit is not theirs to start


def bureau_only(ok):
    """复核 sampling: the finance bureau's reviewers act; admins and fillers may not (403)."""
    return lambda actor, state, **_: 302 if actor == "anonymous" else (ok if actor in ("reviewer", "other_reviewer") else 403)


def on_recheck(rule):
    """Pages of an evaluation's 复核: only the approved world has one (confirmed, so the unit sees it too)."""
    def wrapped(actor, state, **params):
        if actor == "anonymous":
            return 302
        if state != "approved" or actor not in SEES:
            return 404
        return rule(actor, **params)
    return wrapped


RECHECK_ACTION = {("answer", "filler")}  # confirmed, deadline ahead: only the unit's 申辩 is open


# url name → (method, rule(actor, state, **params) → expected status code)
EXPECTED = {
    "evaluations:list": ("get", logged_in(200)),
    "evaluations:tasks": ("get", logged_in(200)),
    "evaluations:queue": ("get", reviewers_and_admins),
    "evaluations:overview": ("get", reviewers_and_admins),
    "evaluations:start": ("post", start_rule),
    "evaluations:detail": ("get", for_evaluation_page(lambda a, s: True)),
    "evaluations:document": ("get", for_evaluation_page(lambda a, s: True)),
    # Without Pango (a fresh machine, never CI) the PDF answers 503 saying what to install: access was still granted.
    "evaluations:document_pdf": ("get", for_evaluation_page(lambda a, s: True, ok=503 if PDF_UNAVAILABLE else 200)),
    "evaluations:document_docx": ("get", for_evaluation_page(lambda a, s: True)),
    "evaluations:edit": ("get", for_evaluation_page(lambda a, s: a == "filler" and s in EDITABLE)),
    "evaluations:preview": ("post", for_evaluation_page(lambda a, s: a == "filler" and s in EDITABLE)),
    "evaluations:row_detail": ("get", for_evaluation_page(lambda a, s: a == "filler" and s in EDITABLE)),
    "evaluations:row_definition": ("get", for_evaluation_page(lambda a, s: a == "filler" and s in EDITABLE)),
    "evaluations:evidence_upload": ("post", for_evaluation_page(lambda a, s: a == "filler" and s in EDITABLE, ok=302)),
    "evaluations:evidence_download": ("get", for_evaluation_page(lambda a, s: True)),
    "evaluations:evidence_delete": ("post", for_evaluation_page(lambda a, s: a == "filler" and s in EDITABLE, ok=302)),
    "evaluations:review": ("get", for_evaluation_page(lambda a, s: a in ("reviewer", "admin"))),
    "evaluations:history": ("get", for_evaluation_page(lambda a, s: a in ("reviewer", "admin"))),
    "evaluations:transition": ("post", transition_rule),
    "evaluations:comment_add": ("post", for_evaluation_page(lambda a, s: a == "reviewer" and s == "submitted", ok=302)),
    "evaluations:comment_answer": ("post", for_evaluation_page(lambda a, s: a == "filler" and s in EDITABLE, ok=302)),
    "evaluations:archived_document": ("get", lambda actor, state, **_: 302 if actor == "anonymous" else (
        200 if actor in SEES and state == "approved" else 404)),  # only an approved evaluation has an archive
    "evaluations:publish": ("post", for_evaluation_page(lambda a, s: a == "admin", ok=302)),
    "evaluations:unpublish": ("post", for_evaluation_page(lambda a, s: a == "admin", ok=302)),
    # The bureau's desk: 总览, 复核, 整改, 汇总分析报告
    "evaluations:rechecks": ("get", reviewers_and_admins),
    "evaluations:recheck_draw": ("post", bureau_only(302)),
    "evaluations:summary_report": ("get", reviewers_and_admins),
    "evaluations:results_workbook": ("get", reviewers_and_admins),
    "evaluations:summary_narrative": ("post", lambda actor, state, **_: {"anonymous": 302, "reviewer": 302,
                                                                       "other_reviewer": 302, "admin": 302}.get(actor, 403)),
    "evaluations:recheck": ("get", on_recheck(lambda actor, **_: 200)),
    # The 复核意见书 (confirmed here). Without Pango the PDF answers 503 saying what to install.
    "evaluations:recheck_letter_pdf": ("get", on_recheck(lambda actor, **_: 503 if PDF_UNAVAILABLE else 200)),
    "evaluations:recheck_letter_docx": ("get", on_recheck(lambda actor, **_: 200)),
    "evaluations:recheck_score": ("post", on_recheck(lambda actor, **_: 403)),  # confirmed: scores are fixed
    "evaluations:recheck_transition": ("post", on_recheck(
        lambda actor, action, **_: 302 if (action, actor) in RECHECK_ACTION else 403)),
    "evaluations:rectification_add": ("post", for_evaluation_page(lambda a, s: a == "reviewer", ok=302)),
    "evaluations:rectification_answer": ("post", for_evaluation_page(lambda a, s: a == "filler", ok=302)),
    "evaluations:rectification_review": ("post", for_evaluation_page(lambda a, s: a == "reviewer", ok=302)),
    "evaluations:rectification_evidence": ("get", for_evaluation_page(lambda a, s: True)),
    # 项目支出 (issue 16): the package's projects follow the evaluation's rules
    "evaluations:projects": ("get", for_evaluation_page(lambda a, s: True)),
    "evaluations:project_add": ("post", for_evaluation_page(lambda a, s: a == "filler" and s in EDITABLE, ok=302)),
    "evaluations:projects_import": ("get", for_evaluation_page(lambda a, s: a == "filler" and s in EDITABLE)),
    "evaluations:projects_workbook": ("get", for_evaluation_page(lambda a, s: True)),
    "evaluations:project": ("get", for_evaluation_page(lambda a, s: True)),
    "evaluations:project_edit": ("get", for_evaluation_page(lambda a, s: a == "filler" and s in EDITABLE)),
    "evaluations:project_preview": ("post", for_evaluation_page(lambda a, s: a == "filler" and s in EDITABLE)),
    "evaluations:project_delete": ("post", for_evaluation_page(lambda a, s: a == "filler" and s in EDITABLE, ok=302)),
    "evaluations:project_comment_add": ("post", for_evaluation_page(
        lambda a, s: a == "reviewer" and s == "submitted", ok=302)),
    # 佐证材料 of a project (downloaded through evaluations:evidence_download, as the package's own)
    "evaluations:project_evidence_upload": ("post", for_evaluation_page(
        lambda a, s: a == "filler" and s in EDITABLE, ok=302)),
    "evaluations:project_evidence_delete": ("post", for_evaluation_page(
        lambda a, s: a == "filler" and s in EDITABLE, ok=302)),
    "evaluations:project_document": ("get", for_evaluation_page(lambda a, s: True)),
    "evaluations:project_pdf": ("get", for_evaluation_page(lambda a, s: True, ok=503 if PDF_UNAVAILABLE else 200)),
    "evaluations:project_docx": ("get", for_evaluation_page(lambda a, s: True)),
    "evaluations:project_xlsx": ("get", for_evaluation_page(lambda a, s: True)),
    "evaluations:archived_project_document": ("get", lambda actor, state, **_: 302 if actor == "anonymous" else (
        200 if actor in SEES and state == "approved" else 404)),
    "public:projects": ("get", lambda actor, state, **_: 404),
    "public:project": ("get", lambda actor, state, **_: 404),
    "reports:start_report": ("post", lambda actor, state, **_: {"anonymous": 302, "reviewer": 302,
                                                             "other_reviewer": 302, "admin": 302}.get(actor, 403)),
    # 信息公开: public, but only what is published (the evaluation here is not)
    "public:list": ("get", lambda actor, state, **_: 200),
    "public:document": ("get", lambda actor, state, **_: 404),
    "public:pdf": ("get", lambda actor, state, **_: 404),
    "public:table": ("get", lambda actor, state, **_: 404),
    # Excel exports and imports (reports app)
    "reports:export_list": ("get", logged_in(200)),
    "reports:start_summary": ("get", logged_in(405)),
    "reports:start_documents": ("post", lambda actor, state, **_: {"anonymous": 302, "admin": 302}.get(actor, 403)),
    # A job (requested by the reviewer) is its requester's alone; a queued job's download goes back to its page.
    "reports:export_detail": ("get", lambda actor, state, **_: {"anonymous": 302, "reviewer": 200}.get(actor, 404)),
    "reports:export_download": ("get", lambda actor, state, **_: {"anonymous": 302, "reviewer": 302}.get(actor, 404)),
    "reports:official_workbook": ("get", for_evaluation_page(lambda a, s: True)),
    "reports:import_official": ("get", lambda actor, state, **_: {"anonymous": 302, "admin": 200}.get(actor, 403)),
    # Django's own pages
    "login": ("get", lambda actor, state, **_: 200),
    "logout": ("post", lambda actor, state, **_: 302),
    "password_change": ("get", logged_in(200)),
    "password_change_done": ("get", logged_in(200)),
    "password_reset": ("get", lambda actor, state, **_: 200),
    "password_reset_done": ("get", lambda actor, state, **_: 200),
    "password_reset_confirm": ("get", lambda actor, state, **_: 200),
    "password_reset_complete": ("get", lambda actor, state, **_: 200),
    "": ("get", lambda actor, state, **_: 302),  # the root redirects to the list
    "healthz": ("get", lambda actor, state, **_: 200),  # for load balancers and monitoring: no login
}
# The admin site: only admins get in; everyone else is sent to the admin login.
ADMIN_PAGES = {"admin:index", "admin:evaluations_evaluation_changelist", "admin:evaluations_evaluation_change"}


def admin_rule(actor, state, **_):
    return 200 if actor == "admin" else 302


def url_for(name, route, evaluation, comment, evidence, action=None):
    from django.urls import reverse

    kwargs = {}
    if "<int:pk>" in route:
        kwargs["pk"] = evaluation.pk
    if "<int:comment_pk>" in route:
        kwargs["comment_pk"] = comment.pk
    if "<uuid:pk>" in route:
        kwargs["pk"] = ExportJob.objects.get().pk
    if "<int:project_pk>" in route:
        kwargs["project_pk"] = Project.objects.get().pk
    if "<int:archive_pk>" in route and "<int:project_pk>" in route:
        archived = ArchivedProjectDocument.objects.first()
        kwargs["archive_pk"] = archived.pk if archived else 999999
    elif "<int:archive_pk>" in route:
        archived = ArchivedDocument.objects.first()
        kwargs["archive_pk"] = archived.pk if archived else 999999
    if "<int:evidence_pk>" in route and "<int:project_pk>" in route:
        kwargs["evidence_pk"] = Evidence.objects.get(project__isnull=False).pk
    elif "<int:evidence_pk>" in route:
        kwargs["evidence_pk"] = evidence.pk
    if "<int:item_pk>" in route:
        kwargs["item_pk"] = Rectification.objects.get().pk
    if "<int:row_pk>" in route:  # one of the unit's own rows, at its place in the edit form
        kwargs["row_pk"] = evaluation.results.filter(indicator__isnull=True).values_list("pk", flat=True).first()
        return f"{reverse(name, kwargs=kwargs)}?prefix=rows-0"
    if "<str:action>" in route:
        kwargs["action"] = action
    if "<path:object_id>" in route:
        kwargs["object_id"] = evaluation.pk
    if "<uidb64>" in route:
        return reverse(name, kwargs={"uidb64": "MQ", "token": "set-password"})
    if name == "":
        return "/"
    return reverse(name, kwargs=kwargs)


def build_world(state):
    district = make_unit("某区")
    town = make_unit("某镇", parent=district)
    evaluation = make_evaluation(unit=town)
    make_project_framework(year=evaluation.framework.year)
    make_project(evaluation)
    users = {
        "filler": make_user(access.FILLER, units=[town]),
        "other_filler": make_user(access.FILLER, units=[make_unit("别镇")]),
        "reviewer": make_user(access.REVIEWER, charge=district),
        "other_reviewer": make_user(access.REVIEWER, charge=make_unit("别区")),
        "admin": make_user(access.ADMIN),
    }
    if state != "draft":
        workflow.submit(evaluation, by=users["filler"])
    if state == "returned":
        workflow.return_for_changes(evaluation, by=users["reviewer"], reason="请修改")
    if state == "approved":
        workflow.approve(evaluation, by=users["reviewer"])
    event = Event.objects.filter(evaluation=evaluation).first()
    comment = ReviewComment.objects.create(evaluation=evaluation, author=users["reviewer"], text="意见", sent_in=event)
    evidence = Evidence(evaluation=evaluation, original_name="a.pdf", kind="pdf", size=8, sha256="0", uploaded_by=users["filler"])
    evidence.file.save("a.pdf", ContentFile(b"%PDF-1.4"), save=True)
    project_evidence = Evidence(evaluation=evaluation, project=Project.objects.get(), original_name="p.pdf", kind="pdf",
                                size=8, sha256="0", uploaded_by=users["filler"])
    project_evidence.file.save("p.pdf", ContentFile(b"%PDF-1.4"), save=True)
    ExportJob.objects.create(year=evaluation.framework.year, requested_by=users["reviewer"])
    item = Rectification.objects.create(evaluation=evaluation, problem="问题", deadline="2099-12-31",
                                        created_by=users["reviewer"], evidence_name="整改.pdf", evidence_kind="pdf")
    item.evidence.save("整改.pdf", ContentFile(b"%PDF-1.4"), save=True)
    if state == "approved":
        import datetime

        second = make_user(access.REVIEWER, charge=district)
        recheck = rechecks.draw(evaluation, by=users["reviewer"])
        rechecks.confirm(recheck, by=second, opinion="意见", answer_deadline=datetime.date(2099, 12, 31))
        approval = Event.objects.get(evaluation=evaluation, action="approve")
        archived = ArchivedDocument(evaluation=evaluation, event=approval, sha256="0" * 64, size=8)
        archived.file.save("approved.pdf", ContentFile(b"%PDF-1.4"), save=True)
        project = Project.objects.get()
        project_archive = ArchivedProjectDocument(evaluation=evaluation, event=approval, project=project,
                                                  project_name=project.name, sha256="1" * 64, size=8)
        project_archive.file.save("project.pdf", ContentFile(b"%PDF-1.4"), save=True)
    return evaluation, users, comment, evidence


def test_every_url_has_an_entry():
    names = [name for name, route in walk(get_resolver().url_patterns) if not name.startswith("admin:")]
    missing = [n for n in names if n not in EXPECTED]
    assert not missing, f"这些 URL 没有写进访问矩阵：{missing}"


@pytest.mark.django_db
@pytest.mark.parametrize("state", STATES)
def test_access_matrix(state, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    evaluation, users, comment, evidence = build_world(state)
    clients = {"anonymous": Client()}
    for actor, user in users.items():
        clients[actor] = Client()
        clients[actor].login(username=user.username, password=PASSWORD)
    failures = []
    for name, route in walk(get_resolver().url_patterns):
        if name.startswith("admin:"):
            if name not in ADMIN_PAGES:
                continue
            method, rule = "get", admin_rule
        else:
            method, rule = EXPECTED[name]
        transitions = rechecks.TRANSITIONS if name == "evaluations:recheck_transition" else workflow.TRANSITIONS
        actions = list(transitions) if "<str:action>" in route else [None]
        for action in actions:
            url = url_for(name, route, evaluation, comment, evidence, action)
            for actor in ACTORS:
                expected = rule(actor, state, action=action)
                data = {"reason": "原因", "text": "意见", "answer": "答复", "unit": evaluation.unit_id,
                        "year": evaluation.framework.year, "version": evaluation.version}
                client = clients[actor]
                if name == "logout" and actor != "anonymous":  # a throwaway session, so the others stay logged in
                    client = Client()
                    client.login(username=users[actor].username, password=PASSWORD)
                with transaction.atomic():
                    response = getattr(client, method)(url, data if method == "post" else None)
                    transaction.set_rollback(True)
                if response.status_code != expected:
                    failures.append(f"{state} {actor} {method.upper()} {url}: {response.status_code}，应为 {expected}")
    assert not failures, "\n".join(failures)
