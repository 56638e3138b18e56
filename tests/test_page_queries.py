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


def test_the_loads_give_each_relation_in_its_order():
    """with_document_data and with_scoring_data sort what they load in Python (models.evaluations.meta_order):
    the same order as the models' own ordering in the database, whatever order the rows were written in."""
    from datetime import timedelta

    from django.utils import timezone

    from evaluations.models import Evaluation, Indicator, IndicatorResult, NarrativeSection
    from evaluations.views import _events_list, _evidence_list

    evaluation = make_evaluation(extra_rows=4)
    filler = make_user(access.FILLER, units=[evaluation.unit])
    reviewer = make_user(access.REVIEWER, charge=evaluation.unit)
    # Orders written against the rows' ids (ties included), and the framework's indicators likewise.
    for n, row in enumerate(IndicatorResult.objects.filter(evaluation=evaluation).order_by("pk")):
        IndicatorResult.objects.filter(pk=row.pk).update(order=(100 - n) // 2)
    for n, section in enumerate(NarrativeSection.objects.filter(evaluation=evaluation).order_by("pk")):
        NarrativeSection.objects.filter(pk=section.pk).update(order=100 - n)
    for n, indicator in enumerate(Indicator.objects.filter(framework=evaluation.framework).order_by("pk")):
        Indicator.objects.filter(pk=indicator.pk).update(order=(300 - n) // 3)
    workflow.submit(evaluation, by=filler)
    workflow.return_for_changes(evaluation, by=reviewer, reason="请补充")
    now = timezone.now()
    for minutes in (5, 1, 3, 3):
        comment = ReviewComment.objects.create(evaluation=evaluation, author=reviewer, text=f"{minutes}")
        ReviewComment.objects.filter(pk=comment.pk).update(created_at=now - timedelta(minutes=minutes))
        item = Evidence.objects.create(evaluation=evaluation, file="evidence/x.pdf", original_name=f"{minutes}.pdf",
                                       kind="pdf", size=1, sha256="0" * 64, uploaded_by=filler)
        Evidence.objects.filter(pk=item.pk).update(uploaded_at=now - timedelta(minutes=minutes))

    def ids(objects):
        return [o.pk for o in objects]

    in_database = {
        "results": ids(evaluation.results.order_by("order", "pk")),
        "budget_lines": ids(evaluation.budget_lines.order_by("pk")),
        "sections": ids(evaluation.sections.order_by("order", "pk")),
        "comments": ids(evaluation.comments.order_by("created_at", "pk")),
    }
    indicators = ids(Indicator.objects.filter(framework=evaluation.framework).order_by("level", "order", "pk"))
    assert in_database["results"] != sorted(in_database["results"])  # the orders are not the ids' own
    assert indicators != sorted(indicators)
    for load in (Evaluation.objects.with_document_data(), Evaluation.objects.with_scoring_data()):
        loaded = list(load.filter(pk=evaluation.pk))[0]
        assert ids(loaded.framework.indicators.all()) == indicators
        for name, expected in in_database.items():
            if name in loaded._prefetched_objects_cache:
                assert ids(getattr(loaded, name).all()) == expected, name
    assert ids(_events_list(evaluation)) == ids(evaluation.events.order_by("created_at", "pk"))
    assert ids(_evidence_list(evaluation)) == ids(evaluation.evidence.order_by("uploaded_at", "pk"))
    assert [e.original_name for e in _evidence_list(evaluation)] == ["5.pdf", "3.pdf", "3.pdf", "1.pdf"]


def _reads_of(queries, table):
    """The queries that read `table` itself (not a subquery of another table's query that asks whether it has rows)."""
    return [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().startswith(f'SELECT "{table}".')]


@pytest.mark.parametrize("who", ["filler", "reviewer"])
def test_lists_an_evaluation_has_none_of_are_not_queried_and_appear_once_it_has_some(who):
    """A draft has no comments, files or timeline yet: its pages ask whether it has any in the load's own query
    (with_presence_of) and do not query them. Once it has some, every page shows them."""
    evaluation = make_evaluation()
    filler = make_user(access.FILLER, units=[evaluation.unit])
    reviewer = make_user(access.REVIEWER, charge=evaluation.unit)
    client = login(filler if who == "filler" else reviewer)
    urls = [f"/evaluations/{evaluation.pk}/", f"/evaluations/{evaluation.pk}/document/"]
    urls.append(f"/evaluations/{evaluation.pk}/edit/" if who == "filler" else f"/evaluations/{evaluation.pk}/review/")
    tables = ("evaluations_reviewcomment", "evaluations_evidence", "evaluations_event")

    def reads():
        found = {}
        for url in urls:
            client.get(url)
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200, url
            found[url] = {table: len(_reads_of(queries, table)) for table in tables}
        return found

    assert reads() == {url: dict.fromkeys(tables, 0) for url in urls}
    workflow.submit(evaluation, by=filler)
    workflow.return_for_changes(evaluation, by=reviewer, reason="请补充佐证")
    ReviewComment.objects.create(evaluation=evaluation, author=reviewer, text="请核实第一行",
                                 result=evaluation.results.first())
    Evidence.objects.create(evaluation=evaluation, result=evaluation.results.first(), file="evidence/x.pdf",
                            original_name="会议纪要.pdf", kind="pdf", size=1, sha256="0" * 64, uploaded_by=filler)
    found = reads()
    detail = urls[0]
    assert found[detail] == dict.fromkeys(tables, 1)
    page = client.get(detail).content.decode()
    assert "请核实第一行" in page and "会议纪要.pdf" in page and "请补充佐证" in page
    third = client.get(urls[2]).content.decode()
    assert "请核实第一行" in third


def test_membership_is_read_with_the_evaluation_and_only_members_may_edit():
    """load_evaluation reads whether the user fills the unit in within its own query (visible_to's
    with_membership): a user who is filler and reviewer sees a unit in their charge, and may edit it only once a
    member of it; an admin who fills one unit in may edit that one only."""
    from django.contrib.auth.models import Group

    evaluation = make_evaluation()
    both = make_user(access.REVIEWER, charge=evaluation.unit)
    both.groups.add(Group.objects.get_or_create(name=access.FILLER)[0])
    client = login(both)
    edit_link = f'href="/evaluations/{evaluation.pk}/edit/"'
    with CaptureQueriesContext(connection) as queries:
        page = client.get(f"/evaluations/{evaluation.pk}/")
    assert page.status_code == 200 and edit_link not in page.content.decode()
    assert client.get(f"/evaluations/{evaluation.pk}/edit/").status_code == 403
    assert not any("evaluations_unit_members" in q["sql"] and q["sql"].lstrip().startswith("SELECT 1")
                   for q in queries.captured_queries)  # no separate membership query
    evaluation.unit.members.add(both)
    page = client.get(f"/evaluations/{evaluation.pk}/")
    assert edit_link in page.content.decode()
    assert client.get(f"/evaluations/{evaluation.pk}/edit/").status_code == 200
    stranger = login(make_user(access.FILLER))
    assert stranger.get(f"/evaluations/{evaluation.pk}/").status_code == 404
    own, other = make_evaluation(), make_evaluation()
    admin = make_user(access.ADMIN, units=[own.unit])
    admin.groups.add(Group.objects.get_or_create(name=access.FILLER)[0])
    client = login(admin)
    for evaluation, may_edit in ((own, True), (other, False)):
        page = client.get(f"/evaluations/{evaluation.pk}/")
        assert page.status_code == 200
        assert (f'href="/evaluations/{evaluation.pk}/edit/"' in page.content.decode()) is may_edit
        assert client.get(f"/evaluations/{evaluation.pk}/edit/").status_code == (200 if may_edit else 403)


def test_a_filler_with_no_other_role_is_a_member_of_what_they_see_without_asking():
    """For a 填报人 only, visibility is membership: the load asks it once (its filter), and the page offers editing."""
    evaluation = make_evaluation()
    filler = make_user(access.FILLER, units=[evaluation.unit])
    client = login(filler)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(f"/evaluations/{evaluation.pk}/")
    assert f'href="/evaluations/{evaluation.pk}/edit/"' in page.content.decode()
    load = next(q["sql"] for q in queries.captured_queries if 'FROM "evaluations_evaluation"' in q["sql"])
    assert load.count('"evaluations_unit_members"') == 1
    assert client.get(f"/evaluations/{evaluation.pk}/edit/").status_code == 200
