"""Text is clean at the boundary, and bounded (issue 13, items 4 and 9's texts): one normaliser for what is typed,
a limit per long text said in its help text and error, every POST through a form, a form too large refused in
Chinese, and what was stored before cleaned by a data migration (after which a backup works)."""

import importlib
import io
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client

from evaluations import access, text, workflow
from evaluations.models import Evaluation, Event, FieldChange, NarrativeSection, ReviewComment
from tests.factories import PASSWORD, make_evaluation, make_unit, make_user
from tests.test_edit_page import edit_form, filler_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("typed, kept", [
    ("一\r\n二", "一\n二"),  # a browser's textarea
    ("一\r二", "一\n二"),
    ("一\x0b二", "一\n二"),  # Word's soft line break (Shift+Enter), pasted
    ("一\x01\x07\x1f\x7f\x85二", "一二"),
    ("一\t二", "一\t二"),  # a tab inside a line stays
    ("1.\t巡查\n 2、\t整改\n3．\t\t办结", "1.巡查\n 2、整改\n3．办结"),  # Word's numbered list, pasted
    ("  前后的空格  ", "  前后的空格  "),  # stripping is the form field's, not the normaliser's
    ("😀𠀀", "😀𠀀"),
])
def test_normalise(typed, kept):
    assert text.normalise(typed) == kept


def test_the_edit_page_stores_what_is_typed_normalised():
    evaluation = make_evaluation()
    client = filler_client(evaluation)
    data = edit_form(client, evaluation)
    body = next(k for k in data if k.endswith("-body"))
    reason = next(k for k in data if k.endswith("-deviation_reason"))
    data[body] = "第一段\r\n第二段\x0b第三段\x01"
    data[reason] = "1.\t原因\r\n2.\t措施"
    data["note-budget_note"] = "  说明\x0c  "
    assert client.post(f"/evaluations/{evaluation.pk}/edit/", data).status_code == 302
    section = NarrativeSection.objects.get(pk=next(
        s.pk for i, s in enumerate(evaluation.sections_in_order()) if f"sections-{i}-body" == body))
    assert section.body == "第一段\n第二段\n第三段"
    assert "1.原因\n2.措施" in Evaluation.objects.get(pk=evaluation.pk).results.values_list("deviation_reason", flat=True)
    assert Evaluation.objects.get(pk=evaluation.pk).budget_note == "说明"
    assert not any(text.has_control_characters(c.new_value) for c in FieldChange.objects.all())


def test_a_text_over_its_limit_is_refused_saying_the_limit_and_nothing_is_saved():
    evaluation = make_evaluation()
    client = filler_client(evaluation)
    page = client.get(f"/evaluations/{evaluation.pk}/edit/").content.decode()
    assert f"正文与分条要点合计不超过 {text.SECTION_LIMIT} 字" in page  # said before anything is typed
    assert f"不超过 {text.BUDGET_NOTE_LIMIT} 字" in page
    assert "maxlength" not in page  # the browser would cut a long paste silently
    data = edit_form(client, evaluation)
    data[next(k for k in data if k.endswith("-body"))] = "字" * (text.SECTION_LIMIT + 1)
    data[next(k for k in data if k.endswith("-deviation_reason"))] = "因" * 270_000
    response = client.post(f"/evaluations/{evaluation.pk}/edit/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert f"最多 {text.SECTION_LIMIT} 字（现有 {text.SECTION_LIMIT + 1} 字）" in page
    assert f"最多 {text.DEVIATION_REASON_LIMIT} 字（现有 270000 字）" in page
    assert Evaluation.objects.get(pk=evaluation.pk).version == evaluation.version
    assert not FieldChange.objects.exists()


def test_body_and_points_together_are_bounded():
    evaluation = make_evaluation()
    client = filler_client(evaluation)
    data = edit_form(client, evaluation)
    body = next(k for k in data if k.endswith("-body"))
    data[body] = "字" * (text.SECTION_LIMIT - 10)
    data[body.replace("-body", "-points")] = ["要点" * 10]
    response = client.post(f"/evaluations/{evaluation.pk}/edit/", data)
    assert response.status_code == 400
    assert f"合计最多 {text.SECTION_LIMIT} 字（现有 {text.SECTION_LIMIT + 10} 字）" in response.content.decode()


@pytest.fixture
def cast():
    district = make_unit("某区")
    evaluation = make_evaluation(unit=make_unit("某镇", parent=district))
    filler = make_user(access.FILLER, units=[evaluation.unit])
    reviewer = make_user(access.REVIEWER, charge=district)
    admin = make_user(access.ADMIN)
    workflow.submit(evaluation, by=filler)

    def client(user):
        c = Client()
        c.login(username=user.username, password=PASSWORD)
        return c

    return evaluation, client(filler), client(reviewer), client(admin)


LONG = "长" * 100_000


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def test_the_whole_document_counts_every_text_the_unit_writes_and_what_the_stored_rows_hold():
    evaluation = make_evaluation(extra_rows=2)
    rows = list(evaluation.results.all())
    rows[0].deviation_reason, rows[0].actual_text = "原因" * 5, "完成"
    section = evaluation.sections.all()[0]
    section.body, section.points = "正文" * 10, ["要点一", "要点二"]
    evaluation.budget_note = "说明" * 3
    typed = text.document_length(budget_note=evaluation.budget_note, rows=rows,
                                 sections=[(s.body, s.points) for s in evaluation.sections.all()])
    before = text.document_length(budget_note="", rows=[], sections=[])
    assert before == 0
    expected = 6 + 20 + 6 + 10 + 2 + sum(len(r.name) + len(r.target_text) for r in rows) + sum(
        len(s.body) for s in evaluation.sections.all()[1:])
    assert typed == expected
    from evaluations import editing

    editing.save_content(evaluation, by=make_user(access.ADMIN), channel="admin", edits=[
        (rows[0], {"deviation_reason": "", "actual_text": ""}), (section, {"body": "", "points": []}),
        (evaluation, {"budget_note": ""}),
    ])
    units = sum(1 for r in rows if r.indicator_id is None)
    assert editing.document_totals([evaluation.pk])[evaluation.pk] == (typed, units)  # the database counts the same


def test_the_whole_documents_refusal_says_the_limit_what_it_is_and_what_to_shorten():
    limit = text.DOCUMENT_TEXT_LIMIT
    assert text.document_problem(length=limit, unit_rows=text.UNIT_ROW_LIMIT) is None
    assert text.document_problem(length=limit + 7, unit_rows=1) == (
        f"全部文字合计不能超过 {limit} 字（现为 {limit + 7} 字，超出 7 字），本次保存未生效。"
        "请精简说明各部分正文、分条要点或各指标的偏差原因、定性完成情况后再保存。"
    )
    assert text.document_problem(length=1, unit_rows=text.UNIT_ROW_LIMIT + 1).startswith(
        f"单位自设指标最多 {text.UNIT_ROW_LIMIT} 行（现为 {text.UNIT_ROW_LIMIT + 1} 行）")
    # Over from before the limit: saved while it does not grow.
    assert text.document_problem(length=limit + 7, unit_rows=1, length_before=limit + 9) is None
    assert text.document_problem(length=1, unit_rows=40, unit_rows_before=40) is None


def test_comments_answers_and_reasons_are_bounded_by_their_forms(cast):
    evaluation, filler, reviewer, admin = cast
    url = f"/evaluations/{evaluation.pk}"
    response = reviewer.post(f"{url}/comments/", {"text": LONG}, follow=True)
    assert f"意见：最多 {text.COMMENT_LIMIT} 字（现有 100000 字）" in " ".join(messages_of(response))
    assert not ReviewComment.objects.exists()
    response = reviewer.post(f"{url}/actions/return_for_changes/", {"reason": LONG}, follow=True)
    assert f"最多 {text.REASON_LIMIT} 字" in " ".join(messages_of(response))
    assert Evaluation.objects.get(pk=evaluation.pk).status == "submitted"

    reviewer.post(f"{url}/comments/", {"text": "请补充\r\n依据\x0b"})
    assert ReviewComment.objects.get().text == "请补充\n依据"
    reviewer.post(f"{url}/actions/return_for_changes/", {"reason": "请修改"})
    comment = ReviewComment.objects.get()
    response = filler.post(f"{url}/comments/{comment.pk}/answer/", {"answer": LONG}, follow=True)
    assert f"最多 {text.COMMENT_LIMIT} 字" in " ".join(messages_of(response))
    assert ReviewComment.objects.get().answer == ""

    Evaluation.objects.filter(pk=evaluation.pk).update(status="approved")
    response = admin.post(f"{url}/actions/reopen/", {"reason": LONG}, follow=True)
    assert f"最多 {text.REASON_LIMIT} 字" in " ".join(messages_of(response))
    assert Evaluation.objects.get(pk=evaluation.pk).status == "approved"
    assert not Event.objects.filter(action="reopen").exists()


def test_the_detail_page_says_the_limits_of_reasons_and_answers(cast):
    evaluation, filler, reviewer, admin = cast
    page = reviewer.get(f"/evaluations/{evaluation.pk}/").content.decode()
    assert f"不超过 {text.REASON_LIMIT} 字" in page
    page = reviewer.get(f"/evaluations/{evaluation.pk}/review/").content.decode()
    assert f"不超过 {text.COMMENT_LIMIT} 字" in page


def test_a_form_too_large_to_read_is_refused_in_chinese_saying_what_is_too_long(settings):
    evaluation = make_evaluation()
    client = filler_client(evaluation)
    data = edit_form(client, evaluation)
    data[next(k for k in data if k.endswith("-body"))] = "字" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 9 + 1)
    data = urlencode(data, doseq=True)  # as a browser and htmx post a form: 9 bytes a Chinese character
    form = "application/x-www-form-urlencoded"
    response = client.post(f"/evaluations/{evaluation.pk}/edit/", data, content_type=form)
    assert response.status_code == 400
    page = response.content.decode()
    assert "提交的内容超过 10 MB" in page and f"合计不超过 {text.SECTION_LIMIT} 字" in page
    assert "Bad Request" not in page
    response = client.post(f"/evaluations/{evaluation.pk}/edit/", data, content_type=form, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert 'id="save-status"' in response.content.decode() and "未保存：提交的内容超过" in response.content.decode()

    data = urlencode({f"extra-{n}": "x" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)})
    response = client.post(f"/evaluations/{evaluation.pk}/edit/", data, content_type=form)
    assert response.status_code == 400
    assert f"提交的表单超过 {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} 个字段" in response.content.decode()
    assert Evaluation.objects.get(pk=evaluation.pk).version == evaluation.version


def test_the_data_migration_cleans_stored_texts_and_history_so_backups_work(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    evaluation = make_evaluation()
    section = evaluation.sections_in_order()[0]
    NarrativeSection.objects.filter(pk=section.pk).update(body="旧\x0b文字\r\n", points=["1.\t要点\x01"])
    evaluation.results.update(deviation_reason="原因\x02")
    FieldChange.objects.create(evaluation=evaluation, object_label="说明", field_label="正文", old_value="旧\x0b文字",
                               new_value="新文字", version=2)
    unchanged = FieldChange.objects.create(evaluation=evaluation, object_label="说明", field_label="正文",
                                           old_value="  无需清理  ", new_value="", version=3)

    migration = importlib.import_module("evaluations.migrations.0007_clean_control_characters")
    migration.clean_texts(apps, None)

    section.refresh_from_db()
    assert (section.body, section.points) == ("旧\n文字\n", ["1.要点"])
    assert set(evaluation.results.values_list("deviation_reason", flat=True)) == {"原因"}
    assert FieldChange.objects.get(version=2).old_value == "旧\n文字"
    assert FieldChange.objects.get(pk=unchanged.pk).old_value == "  无需清理  "
    call_command("backup", "-o", str(tmp_path / "b.zip"), stdout=io.StringIO())
    assert (tmp_path / "b.zip").stat().st_size > 0


def test_a_backup_holds_any_character_a_user_could_have_stored(tmp_path, settings):
    """Even a control character that got past the boundary (an import, the shell) does not stop a backup."""
    settings.MEDIA_ROOT = tmp_path / "media"
    evaluation = make_evaluation()
    evaluation.results.update(deviation_reason="原因\x0b\x01")
    call_command("backup", "-o", str(tmp_path / "b.zip"), stdout=io.StringIO())
    call_command("restore", str(tmp_path / "b.zip"), "--force", stdout=io.StringIO())
    assert set(evaluation.results.values_list("deviation_reason", flat=True)) == {"原因\x0b\x01"}


def test_the_admins_texts_pass_the_same_boundary(demo):
    from evaluations.models import Indicator
    from tests.forms import form_data

    client = Client()
    client.force_login(make_user(access.ADMIN))
    indicator = Indicator.objects.get(name="资产管理", level=3)
    url = f"/admin/evaluations/indicator/{indicator.pk}/change/"
    page = client.get(url).content.decode()
    assert f"不超过 {text.SCORING_STANDARD_LIMIT} 字" in page
    data = {k: v for k, v in form_data(page).items() if not k.startswith("_")}
    data["scoring_standard"] = "标" * (text.SCORING_STANDARD_LIMIT + 1)
    response = client.post(url, {**data, "_save": "保存"})
    assert f"最多 {text.SCORING_STANDARD_LIMIT} 字（现有 {text.SCORING_STANDARD_LIMIT + 1} 字）" in response.content.decode()
    data["scoring_standard"] = "达成\r\n得满分\x0b部分达成\x01"
    data["name"] = "资产管理\x0b"
    assert client.post(url, {**data, "_save": "保存"}).status_code == 302
    indicator.refresh_from_db()
    assert (indicator.scoring_standard, indicator.name) == ("达成\n得满分\n部分达成", "资产管理")
