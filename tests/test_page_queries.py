"""The pages of an evaluation read its comments, evidence and history in a fixed number of queries, however many
there are and whatever they are pinned to (issue 14: the loads read only the columns the pages print, so a column
left out and then read would show here as a query per comment or per file)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evaluations import access, workflow
from evaluations.models import Evidence, ReviewComment
from tests.factories import login, make_evaluation, make_project, make_project_framework, make_user

pytestmark = pytest.mark.django_db


def add_records(evaluation, reviewer, filler, event, project):
    """A comment on the whole, on a row, on a section and on a project row (sent and answered, or not), and a file
    for a row, a project and a project row."""
    row = evaluation.results.first()
    section = evaluation.sections.first()
    project_row = project.indicators.first()
    for target in ({}, {"result": row}, {"section": section}, {"project_row": project_row}):
        ReviewComment.objects.create(evaluation=evaluation, author=reviewer, text="请核实", sent_in=event,
                                     answer="已核实", answered_by=filler, **target)
        ReviewComment.objects.create(evaluation=evaluation, author=reviewer, text="请补充", **target)
    for target in ({"result": row}, {"project": project}, {"project": project, "project_row": project_row}):
        Evidence.objects.create(evaluation=evaluation, file="evidence/x.pdf", original_name="x.pdf", kind="pdf",
                                size=1, sha256="0" * 64, uploaded_by=filler, **target)


@pytest.mark.parametrize("who", ["filler", "reviewer"])
def test_pages_read_comments_evidence_and_events_in_fixed_queries(who):
    make_project_framework()
    evaluation = make_evaluation(extra_rows=3)
    project = make_project(evaluation)
    filler = make_user(access.FILLER, units=[evaluation.unit])
    reviewer = make_user(access.REVIEWER, charge=evaluation.unit)
    workflow.submit(evaluation, by=filler)
    client = login(filler if who == "filler" else reviewer)
    urls = [f"/evaluations/{evaluation.pk}/"]
    if who == "reviewer":
        urls.append(f"/evaluations/{evaluation.pk}/review/")
    else:  # returned: the filler's pages show the comments to answer, and the edit page
        workflow.return_for_changes(evaluation, by=reviewer, reason="请修改")
        urls.append(f"/evaluations/{evaluation.pk}/edit/")

    def counts():
        found = []
        for url in urls:
            client.get(url)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            assert response.status_code == 200
            found.append(len(queries))
        return found

    event = evaluation.events.order_by("pk").first()
    add_records(evaluation, reviewer, filler, event, project)
    few = counts()
    for _ in range(3):
        add_records(evaluation, reviewer, filler, event, project)
    assert counts() == few
    page = client.get(urls[0]).content.decode()
    assert "已核实" in page and "x.pdf" in page
