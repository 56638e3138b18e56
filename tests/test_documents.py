"""The printed 说明 reads as the seed document, and its score sentence comes from the data."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.test import Client

from evaluations.documents.outline import Block, Document, build_document, chinese_numeral
from evaluations.models import Evaluation
from tests.factories import PASSWORD, make_user
from tests.seed import html_paragraphs, normalise, seed_paragraphs

SCORE_SENTENCE = "2024年广州市番禺区化龙镇人民政府自评综合得分为 94.96分，自评结果为“优”。"


def assert_same_as_seed(paragraphs):
    expected = [normalise(p) for p in seed_paragraphs()]
    actual = [normalise(p) for p in paragraphs]
    for n, (want, got) in enumerate(zip(expected, actual, strict=False), start=1):
        assert got == want, f"第 {n} 段不同：\n期望：{want}\n实际：{got}"
    assert len(actual) == len(expected)


def test_seed_reading_finds_the_outline():
    paragraphs = seed_paragraphs()
    assert len(paragraphs) == 19
    assert paragraphs[0].startswith("2024 年广州市番禺区化龙镇人民政府")
    assert paragraphs[8].startswith("- 2.") is False and paragraphs[8].startswith("2.")
    assert "加强珠江水系环境巡查" in paragraphs[9]


def test_demo_document_reads_as_the_seed_paragraph_by_paragraph(demo):
    document = build_document(Evaluation.objects.with_document_data().get(pk=demo.pk))
    assert_same_as_seed(document.paragraphs())


def test_render_document_command_writes_the_seed_text(demo, tmp_path):
    out = tmp_path / "说明.html"
    call_command("render_document", "--unit", "440113-HLZ", "--year", "2024", "--format", "html", "-o", str(out))
    html = out.read_text(encoding="utf-8")
    assert_same_as_seed(html_paragraphs(html))
    assert SCORE_SENTENCE in html
    assert "<style>" in html and "@page" in html  # self-contained, prints on A4


def test_render_document_accepts_the_full_name(demo, capsys):
    call_command("render_document", "--unit", "广州市番禺区化龙镇人民政府", "--year", "2024")
    assert SCORE_SENTENCE in capsys.readouterr().out


def test_render_document_unknown_unit_says_what_to_check(demo):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="找不到单位“不存在”2024年的自评"):
        call_command("render_document", "--unit", "不存在", "--year", "2024")


def test_document_page_reads_as_the_seed(demo):
    client = Client()
    client.login(username="filler", password="demo-filler-2024")
    response = client.get(f"/evaluations/{demo.pk}/document/")
    html = response.content.decode()
    assert_same_as_seed(html_paragraphs(html))
    assert "navbar" not in html  # no app chrome on the print page


def test_score_sentence_follows_the_data(demo):
    row = demo.results.get(name="预算编制科学性")
    row.score = Decimal("3")
    row.save()
    document = build_document(Evaluation.objects.with_document_data().get(pk=demo.pk))
    assert "自评综合得分为 93.96分，自评结果为“优”。" in document.paragraphs()[5]
    assert SCORE_SENTENCE not in document.paragraphs()[5]


def test_analysis_sections_follow_the_framework(demo):
    top = demo.framework.indicators.get(level=1, name="管理效率")
    top.name = "综合管理"
    top.save()
    paragraphs = build_document(Evaluation.objects.with_document_data().get(pk=demo.pk)).paragraphs()
    assert "（四）综合管理分析" in paragraphs


def test_points_are_numbered_when_printed_not_typed(demo):
    section = demo.sections.get(indicator__name="履职效能")
    section.points = ["第二条。", *section.points]
    section.save()
    paragraphs = build_document(Evaluation.objects.with_document_data().get(pk=demo.pk)).paragraphs()
    start = paragraphs.index("（三）履职效能分析")
    assert paragraphs[start + 1] == "1. 第二条。"
    assert paragraphs[start + 2].startswith("2. 坚持抓项目")
    assert paragraphs[start + 6].startswith("6. 坚持改作风")


def test_chinese_numerals():
    assert [chinese_numeral(n) for n in (1, 4, 10, 12, 20, 23)] == ["一", "四", "十", "十二", "二十", "二十三"]


def test_a_filler_of_another_unit_cannot_open_the_document(demo):
    stranger = make_user("填报人")
    client = Client()
    client.login(username=stranger.username, password=PASSWORD)
    assert client.get(f"/evaluations/{demo.pk}/document/").status_code == 404


@pytest.mark.parametrize(
    "unit, parts",
    [
        ("广州市番禺区化龙镇人民政府", ["2024年广州市", "番禺区", "化龙镇", "人民政府"]),
        ("广州市市场监督管理局", ["2024年广州市", "市场监督管理局"]),  # 市场 is a word, not 市 + 场
        ("新疆维吾尔自治区财政厅", ["2024年新疆维吾尔自治区", "财政厅"]),
        ("某镇", ["2024年某镇"]),
    ],
)
def test_title_breaks_only_between_words(unit, parts):
    evaluation = SimpleNamespace(year=2024, unit=SimpleNamespace(name=unit))
    title = f"2024年{unit}部门整体支出绩效自评表说明"
    document = Document(evaluation, None, [Block("title", title)])
    assert document.title_parts == [*parts, "部门整体支出", "绩效自评表说明"]
    assert "".join(document.title_parts) == title
