"""Charts drawn on the server: one definition (a `Chart` of plain values) gives the SVG for pages and the PNG for
the Word and PDF reports, so the dashboard and the 汇总分析报告 show the same picture.

matplotlib with its Agg renderer (no display, no CDN, no JavaScript); the Chinese fonts are the ones the PDFs use
(文泉驿正黑, AR PL UMing: README "PDF 与字体"). In the SVG the text stays text and each bar or point carries the link
to the list it summarises.
"""

from __future__ import annotations

import io
import re
import threading
from dataclasses import dataclass, field
from decimal import Decimal

FONT_FILES = ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "/usr/share/fonts/truetype/arphic/uming.ttc")
FONT_FAMILIES = ["WenQuanYi Zen Hei", "AR PL UMing CN", "Noto Sans CJK SC", "SimHei", "DejaVu Sans"]
BLUE, GREY = "#2f6db5", "#8a94a6"
GRADE_COLOURS = {"优": "#2e7d32", "良": "#2f6db5", "中": "#f0a500", "差": "#c62828"}
WIDTH, HEIGHT = 6.4, 3.6  # inches: fits a page column and an A4 portrait text width

_lock = threading.Lock()  # pyplot's state is global; the object API below needs no lock, the font setup does
_ready = False


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal | int | float
    url: str = ""
    colour: str = BLUE


@dataclass(frozen=True)
class Point:
    x: Decimal | float
    y: Decimal | float
    label: str = ""
    url: str = ""


@dataclass(frozen=True)
class Chart:
    kind: str  # "bar" (vertical), "barh" (horizontal, for long labels), "scatter"
    title: str
    x_label: str = ""
    y_label: str = ""
    bars: tuple[Bar, ...] = ()
    points: tuple[Point, ...] = ()
    y_max: float | None = None
    x_max: float | None = None
    empty_text: str = "暂无数据"
    guides: tuple = field(default=())  # (axis "x"|"y", value, label): a threshold line such as 90 分 or 执行率 90%

    @property
    def is_empty(self):
        return not self.bars and not self.points

    @property
    def summary(self):
        """The chart as one sentence, for screen readers and for the figure's caption."""
        if self.kind == "scatter":
            return f"{self.title}：共 {len(self.points)} 个单位。"
        return f"{self.title}：" + "，".join(f"{b.label} {_plain(b.value)}" for b in self.bars) + "。"


def _plain(value):
    text = f"{value}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _setup():
    global _ready
    if _ready:
        return
    with _lock:
        if _ready:
            return
        import logging

        import matplotlib

        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # "using weight 500": harmless
        matplotlib.use("Agg", force=True)
        from matplotlib import font_manager

        for path in FONT_FILES:
            try:
                font_manager.fontManager.addfont(path)
            except (FileNotFoundError, RuntimeError):
                continue
        matplotlib.rcParams.update({
            "font.family": "sans-serif",
            "font.sans-serif": FONT_FAMILIES,
            "axes.unicode_minus": False,  # the minus sign is missing from the CJK fonts
            "svg.fonttype": "none",  # text as text: selectable, small, read by the browser's fonts
            "svg.hashsalt": "charts",  # the same chart gives the same SVG (ids are stable)
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 12,
            "font.size": 9,
        })
        _ready = True


def figure(chart: Chart):
    """The matplotlib Figure of a chart (no pyplot: a figure per call, safe in threads)."""
    _setup()
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH, HEIGHT), layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(chart.title)
    if chart.is_empty:
        ax.text(0.5, 0.5, chart.empty_text, ha="center", va="center", transform=ax.transAxes, color=GREY, fontsize=12)
        ax.set_xticks([])
        ax.set_yticks([])
        return fig
    if chart.kind == "scatter":
        _scatter(ax, chart)
    else:
        _bars(ax, chart)
    for axis, value, label in chart.guides:
        line = ax.axhline if axis == "y" else ax.axvline
        line(float(value), color=GREY, linestyle="--", linewidth=0.8)
        if axis == "y":
            ax.annotate(label, (1, float(value)), xycoords=("axes fraction", "data"), ha="right", va="bottom", color=GREY)
        else:
            ax.annotate(label, (float(value), 1), xycoords=("data", "axes fraction"), ha="left", va="top", color=GREY)
    ax.set_xlabel(chart.x_label)
    ax.set_ylabel(chart.y_label)
    return fig


def _bars(ax, chart):
    labels = [b.label for b in chart.bars]
    values = [float(b.value) for b in chart.bars]
    colours = [b.colour for b in chart.bars]
    if chart.kind == "barh":
        drawn = ax.barh(labels, values, color=colours)
        ax.invert_yaxis()  # the first (largest) at the top
    else:
        drawn = ax.bar(labels, values, color=colours)
        if len(labels) > 8:
            ax.tick_params(axis="x", labelrotation=45)
    ax.bar_label(drawn, labels=[_plain(b.value) for b in chart.bars], padding=2, fontsize=8)
    for patch, bar in zip(drawn.patches, chart.bars, strict=True):
        if bar.url:
            patch.set_url(bar.url)
    limit = chart.x_max if chart.kind == "barh" else chart.y_max
    # Room for the value labels, on both sides of zero.
    pad = (max(values + [1]) - min(values + [0])) * 0.15
    low = min(values) - pad if min(values + [0]) < 0 else 0
    top = limit if limit is not None else max(values + [1]) + pad
    (ax.set_xlim if chart.kind == "barh" else ax.set_ylim)(low, top)
    if low < 0:
        (ax.axvline if chart.kind == "barh" else ax.axhline)(0, color=GREY, linewidth=0.8)


def _scatter(ax, chart):
    xs = [float(p.x) for p in chart.points]
    ys = [float(p.y) for p in chart.points]
    collection = ax.scatter(xs, ys, s=14 if len(xs) < 500 else 4, color=BLUE, alpha=0.7, linewidths=0)
    urls = [p.url for p in chart.points]
    if len(xs) <= 1000:
        if any(urls):
            collection.set_urls(urls)
    else:
        # Thousands of dots as vector shapes weigh a megabyte; as a picture inside the SVG, a few kilobytes (a dot
        # among thousands cannot be aimed at anyway: the list the chart links to is the way in).
        collection.set_rasterized(True)
    if chart.x_max is not None:
        ax.set_xlim(min(xs + [chart.x_max]) - 2, chart.x_max)
    if chart.y_max is not None:
        ax.set_ylim(min(ys + [chart.y_max]) - 2, chart.y_max)


_PROLOGUE = re.compile(r"^.*?(<svg\b)", re.S)
_STYLE = re.compile(r"<style[^>]*>.*?</style>", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>", re.S)


def svg(chart: Chart) -> str:
    """The chart as inline SVG markup: no XML prologue, no <style> block (the page's CSP allows no inline style
    sheets; matplotlib's one rule only sets line joins), a title for screen readers, links kept.

    Drawing takes 50-150 ms; the same data gives the same picture, so it is kept in the cache under a digest of
    the definition (a change in the data is a new key: nothing to invalidate)."""
    import hashlib

    from django.core.cache import cache

    key = "chart-svg:" + hashlib.sha256(repr(chart).encode()).hexdigest()
    markup = cache.get(key)
    if markup is None:
        markup = _draw_svg(chart)
        cache.set(key, markup, 24 * 3600)
    return markup


def _draw_svg(chart: Chart) -> str:
    buffer = io.StringIO()
    figure(chart).savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    markup = _METADATA.sub("", _STYLE.sub("", _PROLOGUE.sub(r"\1", buffer.getvalue(), count=1)))
    title = chart.summary.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    markup = markup.replace(">", f' role="img" aria-label="{title}" class="chart">', 1)
    return markup


def png(chart: Chart, dpi=200) -> bytes:
    buffer = io.BytesIO()
    figure(chart).savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


# --- Histograms -----------------------------------------------------------------------------------


def histogram_bins(values, edges):
    """Counts per [edge_i, edge_i+1) (the last bin closed): 综合得分 in bands of ten points, for example."""
    counts = [0] * (len(edges) - 1)
    for value in values:
        if value is None:
            continue
        for i in range(len(edges) - 1):
            last = i == len(edges) - 2
            if edges[i] <= value < edges[i + 1] or (last and value == edges[i + 1]):
                counts[i] += 1
                break
    return counts
