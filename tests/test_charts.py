"""Charts: one definition, an SVG for the page (text as text, links to the lists) and a PNG for the reports."""

import re

from evaluations import charts

GRADES = charts.Chart(
    "bar", "等级分布", x_label="等级", y_label="单位数",
    bars=(charts.Bar("优", 5, "/overview/?grade=优"), charts.Bar("良", 3, "/overview/?grade=良"), charts.Bar("中", 0)),
)


def test_svg_is_inline_markup_with_chinese_text_and_links():
    markup = charts.svg(GRADES)
    assert markup.startswith("<svg") and "<?xml" not in markup and "<style" not in markup
    assert "等级分布" in markup and ">单位数<" in markup  # text stays text, readable and searchable
    assert 'aria-label="等级分布：优 5，良 3，中 0。"' in markup
    assert 'xlink:href="/overview/?grade=优"' in markup and 'xlink:href="/overview/?grade=良"' in markup
    assert not re.search(r'(href|src)="(https?:)?//', markup)  # nothing fetched from elsewhere


def test_png_is_drawn_with_a_chinese_font():
    from matplotlib import font_manager

    data = charts.png(GRADES)
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5000
    found = font_manager.findfont(font_manager.FontProperties(family=charts.FONT_FAMILIES), fallback_to_default=False)
    assert found in charts.FONT_FILES


def test_the_same_chart_gives_the_same_svg_and_other_data_another():
    assert charts._draw_svg(GRADES) == charts._draw_svg(GRADES)
    other = charts.Chart("bar", "等级分布", bars=(charts.Bar("优", 6),))
    assert charts.svg(other) != charts.svg(GRADES)


def test_an_empty_chart_says_so():
    assert "暂无数据" in charts.svg(charts.Chart("bar", "等级分布"))


def test_thousands_of_points_stay_light():
    points = tuple(charts.Point(60 + i % 40, 50 + i % 50) for i in range(5000))
    markup = charts.svg(charts.Chart("scatter", "执行率与综合得分", points=points))
    assert len(markup) < 300_000 and "<image" in markup


def test_histogram_bins_close_the_last_band():
    assert charts.histogram_bins([59.99, 60, 89.5, 90, 100, None], [0, 60, 70, 80, 90, 100]) == [1, 1, 0, 1, 2]
