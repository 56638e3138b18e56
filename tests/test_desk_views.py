"""The bureau's desk over HTTP: the 总览's charts and the lists they link to, 复核 from sample to 申辩, 整改, the
汇总分析报告 page and its background build."""

import datetime
import io
import re
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from evaluations.models import Evaluation, IndicatorResult, Recheck, RecheckStatus, Unit
from tests.factories import load_demo

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(settings):
    settings.DEBUG = True
    load_demo("--peers")
    clients = {}
    for username, password in (("reviewer", "demo-reviewer-2024"), ("reviewer2", "demo-reviewer2-2024"),
                               ("filler", "demo-filler-2024"), ("admin", "demo-admin-2024")):
        clients[username] = Client()
        assert clients[username].login(username=username, password=password)
    return clients


def test_overview_draws_the_charts_and_each_links_to_its_list(desk):
    html = desk["reviewer"].get("/evaluations/overview/?year=2024").content.decode()
    assert html.count("<svg") == 6 and "等级分布" in html and "预算执行率与综合得分" in html
    assert "<script" not in html.split("<svg", 1)[1].rsplit("</svg>", 1)[0]  # drawn on the server, no chart library
    links = set(re.findall(r'xlink:href="([^"]+)"', html))
    grade_link = next(link for link in links if "grade=%E4%BC%98" in link)  # 优
    listed = desk["reviewer"].get(grade_link.replace("&amp;", "&")).content.decode()
    table = listed.split('id="units"', 1)[1]
    assert "石楼镇" in table and "石碁镇" in table and "沙湾街道" in table and "钟村街道" not in table
    band = desk["reviewer"].get("/evaluations/overview/?year=2024&band=70-80").content.decode().split('id="units"', 1)[1]
    assert "钟村街道" in band and "石楼镇" not in band
    losing = desk["reviewer"].get("/evaluations/overview/?year=2024&indicator=产出/项目完成数").content.decode()
    assert "钟村街道" in losing.split('id="units"', 1)[1] and "石碁镇" not in losing.split('id="units"', 1)[1]
    changed = desk["reviewer"].get("/evaluations/overview/?year=2024&changed=1").content.decode().split('id="units"', 1)[1]
    assert changed.index("石碁镇") < changed.index("大石街道")  # +26.34 first
    assert "+26.34" in changed


def test_overview_narrows_to_a_part_of_the_tree():
    from evaluations import access
    from tests.factories import make_evaluation, make_unit, make_user

    district = make_unit("某区")
    east, west = make_unit("东片", parent=district), make_unit("西片", parent=district)
    make_evaluation(unit=make_unit("东镇", parent=east))
    make_evaluation(unit=make_unit("西镇", parent=west))
    reviewer = make_user(access.REVIEWER, charge=district)
    client = Client()
    client.force_login(reviewer)
    html = client.get(f"/evaluations/overview/?year=2024&unit={east.pk}").content.decode()
    assert "东镇" in html and "西镇" not in html and "（2 个单位）" in html


def test_overview_takes_the_same_queries_at_10_and_100_units():
    from evaluations import access
    from tests.factories import make_user

    call_command("seed_scale", units=10, rows=14, prefix="A", stdout=io.StringIO())
    call_command("seed_scale", units=100, rows=14, prefix="B", stdout=io.StringIO())
    counts = []
    for prefix in ("A", "B"):
        client = Client()
        client.force_login(make_user(access.REVIEWER, charge=Unit.objects.get(code=f"{prefix}-ROOT")))
        client.get("/evaluations/overview/?year=2024")
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/evaluations/overview/?year=2024")
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_a_recheck_from_sample_to_answer(desk):
    reviewer, second, filler = desk["reviewer"], desk["reviewer2"], desk["filler"]
    page = reviewer.get("/evaluations/rechecks/?year=2024").content.decode()
    suggested = page.split('id="suggested"', 1)[1].split("</table>", 1)[0]
    assert "石楼镇" in suggested and "但预算执行率仅 74%（低于 90%）" in suggested
    evaluation = Evaluation.objects.get(unit__code="440113-SLZ", framework__year=2024)
    own_rows = dict(IndicatorResult.objects.filter(evaluation=evaluation).values_list("pk", "score"))
    response = reviewer.post("/evaluations/rechecks/draw/", {"evaluation": evaluation.pk, "year": 2024})
    assert response.status_code == 302 and response["Location"] == f"/evaluations/{evaluation.pk}/recheck/"
    recheck = Recheck.objects.get(evaluation=evaluation)
    assert recheck.sampled_reasons[0] == "综合得分 92.4 分，但预算执行率仅 74%（低于 90%）。"
    assert filler.get(f"/evaluations/{evaluation.pk}/recheck/").status_code == 404  # a draft is the bureau's
    satisfaction = evaluation.results.get(name="服务对象满意度")
    patrol = evaluation.results.get(name="巡查涉水污染源")
    reviewer.post(f"/evaluations/{evaluation.pk}/recheck/score/", {
        "result": satisfaction.pk, "score": "14", "note": "满意度调查问卷仅 20 份", "version": recheck.version})
    recheck.refresh_from_db()
    refused = reviewer.post(f"/evaluations/{evaluation.pk}/recheck/score/", {
        "result": patrol.pk, "score": "4", "version": recheck.version}, follow=True).content.decode()
    assert "请选择扣分原因或填写复核说明" in refused
    from evaluations.models import DeductionReason

    reason = DeductionReason.objects.get(text="实际完成值缺少佐证材料")
    reviewer.post(f"/evaluations/{evaluation.pk}/recheck/score/", {
        "result": patrol.pk, "score": "4", "reason": reason.pk, "version": recheck.version})
    recheck.refresh_from_db()
    own_confirm = reviewer.post(f"/evaluations/{evaluation.pk}/recheck/actions/confirm/", {
        "opinion": "x", "answer_deadline": "2099-01-01", "version": recheck.version})
    assert own_confirm.status_code == 403  # the drafter cannot confirm
    deadline = (timezone.localdate() + datetime.timedelta(days=7)).isoformat()
    second.post(f"/evaluations/{evaluation.pk}/recheck/actions/confirm/", {
        "opinion": "满意度和巡查数据佐证不足，核减相应分值。", "answer_deadline": deadline, "version": recheck.version})
    recheck.refresh_from_db()
    assert recheck.status == RecheckStatus.CONFIRMED and recheck.total_score == D("84.40") and recheck.grade == "良"
    # The demo's filler is 化龙镇's: 石楼镇's 复核 is not theirs to see, confirmed or not.
    assert filler.get(f"/evaluations/{evaluation.pk}/recheck/").status_code == 404
    html = second.get(f"/evaluations/{evaluation.pk}/recheck/").content.decode()
    assert re.search(r'id="own-total">92.40<', html) and re.search(r'id="recheck-total">84.40<', html)
    assert 'id="own-grade">优<' in html and 'id="recheck-grade">良<' in html and 'id="total-difference">−8<' in html
    row = html.split(f'id="row-{satisfaction.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "20.00" in row and "14.00" in row and "−6" in row and "满意度调查问卷仅 20 份" in row
    assert dict(IndicatorResult.objects.filter(evaluation=evaluation).values_list("pk", "score")) == own_rows
    overview = desk["reviewer"].get("/evaluations/overview/?year=2024").content.decode()
    assert "已确认复核 1 个" in overview


def test_the_unit_answers_and_sees_its_rectification(desk):
    from django.contrib.auth import get_user_model

    from evaluations import access, rechecks
    from tests.factories import PASSWORD, make_user

    User = get_user_model()
    evaluation = Evaluation.objects.get(unit__code="440113-ZCJ", framework__year=2024)
    unit_filler = make_user(access.FILLER, units=[evaluation.unit])
    recheck = rechecks.draw(evaluation, by=User.objects.get(username="reviewer"))
    rechecks.confirm(recheck, by=User.objects.get(username="reviewer2"), opinion="偏差原因未填写。",
                     answer_deadline=timezone.localdate() + datetime.timedelta(days=3))
    client = Client()
    client.login(username=unit_filler.username, password=PASSWORD)
    client.post(f"/evaluations/{evaluation.pk}/recheck/actions/answer/", {"reason": "偏差原因已在说明中写明。", "version": recheck.version})
    recheck.refresh_from_db()
    assert recheck.status == RecheckStatus.ANSWERED and recheck.answer == "偏差原因已在说明中写明。"
    desk["reviewer"].post(f"/evaluations/{evaluation.pk}/rectifications/", {
        "problem": "15 行扣分指标未填写偏差原因", "requirement": "逐项补充", "deadline": "2099-06-30"})
    html = client.get(f"/evaluations/{evaluation.pk}/recheck/").content.decode()
    assert "15 行扣分指标未填写偏差原因" in html and "反馈整改情况" in html
    bad = desk["reviewer"].post(f"/evaluations/{evaluation.pk}/rectifications/", {
        "problem": "x", "deadline": "明天"}, follow=True).content.decode()
    assert "整改期限格式不正确" in bad and evaluation.rectifications.count() == 1


def test_the_report_page_and_its_background_build(desk, settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path
    reviewer = desk["reviewer"]
    html = reviewer.get("/evaluations/report/?year=2024").content.decode()
    assert "2024年度部门整体支出绩效自评结果汇总分析报告" in html and html.count("<svg") >= 3
    assert "<!doctype" not in html.split("report-preview", 1)[1]  # the body, not a second document
    reviewer.post("/evaluations/report/narrative/", {"year": 2024, "part": "problems", "body": "绩效目标设置偏低。"})
    assert "绩效目标设置偏低。" in reviewer.get("/evaluations/report/?year=2024").content.decode()
    response = reviewer.post("/reports/exports/report/", {"year": 2024, "format": "docx"})
    assert response.status_code == 302
    from django_tasks_db.models import DBTaskResult

    from reports.models import ExportJob
    from reports.tasks import run_export

    job = ExportJob.objects.get(kind="report_docx")
    assert DBTaskResult.objects.count() == 1  # queued for the worker, not built in the request
    run_export.call(str(job.pk))
    download = reviewer.get(f"/reports/exports/{job.pk}/download/")
    assert download.status_code == 200 and "docx" in download["Content-Disposition"]
    body = b"".join(download.streaming_content)
    assert body[:2] == b"PK"
    assert desk["filler"].post("/reports/exports/report/", {"year": 2024}).status_code == 403


def test_the_recheck_letter_prints_both_results_and_every_change(desk):
    import docx
    import pypdf

    from evaluations import rechecks
    from tests.machine import PDF_UNAVAILABLE

    evaluation = Evaluation.objects.get(unit__code="440113-SQZ", framework__year=2024)
    from django.contrib.auth import get_user_model

    User = get_user_model()
    recheck = rechecks.draw(evaluation, by=User.objects.get(username="reviewer"))
    assert desk["reviewer"].get(f"/evaluations/{evaluation.pk}/recheck/letter.docx").status_code == 403  # a draft
    rechecks.rescore(recheck, evaluation.results.get(name="服务对象满意度"), by=User.objects.get(username="reviewer"),
                     score="12", note="满意度问卷无原始记录")
    rechecks.confirm(recheck, by=User.objects.get(username="reviewer2"), opinion="得分较上年提高 26 分，主要依据不足。",
                     answer_deadline=timezone.localdate() + datetime.timedelta(days=7))
    response = desk["reviewer"].get(f"/evaluations/{evaluation.pk}/recheck/letter.docx")
    word = docx.Document(io.BytesIO(response.content))
    text = "\n".join(p.text for p in word.paragraphs)
    assert "关于广州市番禺区石碁镇人民政府2024年度部门整体支出绩效自评的复核意见书" in text
    assert "你单位自评综合得分为 97.20分，自评结果为“优”；经复核，综合得分为 90.20分，复核结果为“优”，较自评减少 7 分" in text
    assert "得分较上年提高 26 分，主要依据不足。" in text
    cells = [c.text for c in word.tables[0].rows[1].cells]
    assert cells == ["服务对象满意度", "20", "19.00", "12.00", "-7", "满意度问卷无原始记录"]
    if not PDF_UNAVAILABLE:
        pdf = desk["reviewer"].get(f"/evaluations/{evaluation.pk}/recheck/letter.pdf")
        pages = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
        assert "复核意见书" in pages and "90.20" in pages


def test_the_results_workbook_for_the_budget_department(desk):
    import openpyxl

    from evaluations.models import ResultConsequence

    framework = Evaluation.objects.get(unit__code="440113-ZCJ", framework__year=2024).framework
    ResultConsequence.objects.create(framework=framework, grade="中", tier="压减 10%", text='=HYPERLINK("x")')
    response = desk["reviewer"].get("/evaluations/results.xlsx?year=2024")
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = {r[0]: r for r in book["结果应用"].iter_rows(min_row=2, values_only=True)}
    zhongcun = rows["440113-ZCJ"]
    assert zhongcun[1] == "广州市番禺区钟村街道办事处" and zhongcun[3] == 71.76 and zhongcun[8] == "中"
    assert zhongcun[9] == "压减 10%" and zhongcun[10] == "'=HYPERLINK(\"x\")"  # a formula stays text
    assert rows["440113-SQZ"][9] == "优先保障" and rows["440113"][2] == "未开始"
    assert desk["filler"].get("/evaluations/results.xlsx?year=2024").status_code == 403
