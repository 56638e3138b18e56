"""The 自评表's lines as _indicator_table.html prints them (the 自评表 page, the public table).

Each line is written once in Python (as forms.RowView writes the edit page's rows): the template prints the whole
body with one lookup, where it printed each line with about twenty properties, filters and comparisons (issue 14;
tests/test_views.py holds the template it replaced and checks both write the same HTML)."""

from django import template
from django.template.defaultfilters import linebreaksbr
from django.utils.safestring import mark_safe

from evaluations import scoring
from evaluations.form_renderer import escape
from evaluations.models import Comparison

register = template.Library()

COMPARISONS = dict(Comparison.choices)  # row.get_comparison_display(), without its per-call choice lookup


def _parts(scored):
    """What both tables print alike of a row: whether it lost points, its 得分 (as the template printed the Decimal:
    zh-hans, no grouping, to the cent), the 单位自设 badge and the 偏差原因 (the template's own linebreaksbr). Every
    other text is escaped where it is written, once (form_renderer.escape: as {{ }} escapes)."""
    row, result = scored.row, scored.result
    lost = result.score is not None and row.weight is not None and result.score < row.weight
    score = "—" if result.score is None else f"{result.score:f}"
    badge = ' <span class="badge text-bg-light">单位自设</span>' if row.is_unit_row else ""
    reason = linebreaksbr(row.deviation_reason, autoescape=True) if row.deviation_reason else ""
    return lost, score, badge, reason


def _group_cell(unit, rowspan):
    """The cell of a 一级 or 二级指标 opening its rows: its name, 分值 and score."""
    return (f'<th scope="rowgroup" rowspan="{rowspan}" class="fw-normal">{escape(unit.indicator.name)}<br>'
            f'<small class="text-muted">分值 {escape(scoring.plain(unit.weight))}，得 {unit.score:f}</small></th>')


def _row_cells(scored, with_explanations):
    """A row's cells, 三级指标 … 偏差原因."""
    row, result = scored.row, scored.result
    lost, score, badge, reason = _parts(scored)
    explanation = f'<td class="small">{escape(result.explanation)}</td>' if with_explanations else ""
    return (
        f"<td>{escape(row.name)}{badge}</td><td>{escape(COMPARISONS.get(row.comparison, row.comparison))}</td>"
        f"<td>{escape(row.target_display)}</td><td>{escape(row.unit_of_measure)}</td>"
        f"<td>{escape(row.actual_display)}</td><td class=\"text-end\">{escape(scoring.plain(row.weight))}</td>"
        f"<td class=\"text-end{' text-danger' if lost else ''}\">{escape(score)}</td>{explanation}"
        f"<td class=\"small\">{reason}</td>"
    )


@register.filter
def table_body(scorecard, with_explanations=False):
    """The 自评表's lines (its <tbody>), in order: one per row, opening its dimension's and its category's cells
    (spanning their rows) where it is their first line, and one per category without rows. Written here once per
    line, as forms.RowView writes the edit page's rows: the template printed each line with some twenty lookups."""
    lines = []
    for dimension in scorecard.dimensions:
        opening = _group_cell(dimension, dimension.row_count)
        for category in dimension.categories:
            if not category.rows:
                lines.append(
                    f'<tr>{opening}<th scope="row" class="fw-normal">{escape(category.indicator.name)}<br>'
                    f'<small class="text-muted">分值 {escape(scoring.plain(category.weight))}</small></th>'
                    f'<td colspan="{9 if with_explanations else 8}" class="text-muted">尚无三级指标</td></tr>'
                )
                opening = ""
            for n, scored in enumerate(category.rows):
                category_cell = _group_cell(category, len(category.rows)) if n == 0 else ""
                lines.append(f'<tr id="row-{scored.row.pk}">{opening}{category_cell}'
                             f'{_row_cells(scored, with_explanations)}</tr>')
                opening = ""
    return mark_safe("\n".join(lines))


@register.filter
def review_cells(scored):
    """A row's cells on the review page (_review_table.html), 三级指标 to 偏差原因, worked out once as the 自评表's
    lines are: the target with its unit, no 指标性质 or 度量单位 column, the 得分说明 always."""
    row, result = scored.row, scored.result
    lost, score, badge, reason = _parts(scored)
    unit = f" {escape(row.unit_of_measure)}" if row.unit_of_measure and row.target_value is not None else ""
    return mark_safe(
        f'<th scope="row" class="fw-normal">{escape(row.name)}{badge}</th>'
        f"<td>{escape(row.target_display)}{unit}</td><td>{escape(row.actual_display)}</td>"
        f'<td class="text-end">{escape(scoring.plain(row.weight))}</td>'
        f'<td class="text-end{" text-danger" if lost else ""}">{escape(score)}</td>'
        f'<td class="small">{escape(result.explanation)}</td><td class="small">{reason}</td>'
    )


class CommentPlaces:
    """Where the review page's comments stand (a row, a section of the 说明, the whole evaluation), with the form
    that adds one there (hidden until “提意见”): _comment_place.html's HTML, written once per row in Python as the
    rows' cells are (some forty rows and ten sections a page; issue 14). Made by the view for one page: the
    evaluation's comments by target (forms.comments_by_target), the comment form's address, the page's CSRF input
    (only where the reviewer may comment) and `comment_html`, one comment as _comment.html prints it."""

    def __init__(self, comments_by, *, can_comment, add_url, csrf_input, limit, comment_html):
        self.comments_by, self.can_comment, self.add_url = comments_by, can_comment, escape(add_url)
        self.csrf_input, self.limit, self.comment_html = csrf_input, limit, comment_html

    def place(self, kind, pk, about, part=""):
        """_comment_place.html: the list of comments (part "list"), the form ("form"), or both."""
        html = ""
        if part != "form":
            comments = self.comments_by.get(("whole", None) if kind == "whole" else (kind, pk), ())
            empty = "" if comments else " data-empty"
            listed = "".join(self.comment_html(comment) for comment in comments)
            html = f'<div class="comment-place" id="comments-{kind}-{pk}"{empty}>{listed}</div>\n'
        if self.can_comment and part != "list":
            place, url = f"{kind}-{pk}", self.add_url
            html += (
                f'<form method="post" action="{url}" class="comment-form" id="comment-form-{place}" hidden\n'
                f'      hx-post="{url}" hx-target="#comments-{place}" hx-swap="beforeend" data-comment-form>\n'
                f'  {self.csrf_input}<input type="hidden" name="{kind}" value="{pk}">\n'
                f'  <label class="form-label small mb-0" for="comment-text-{place}">对“{escape(about)}”的意见</label>\n'
                f'  <textarea class="form-control form-control-sm" name="text" id="comment-text-{place}" rows="2"'
                f' required aria-describedby="comment-limit-{place}"></textarea>\n'
                f'  <div class="form-text" id="comment-limit-{place}">不超过 {self.limit} 字。</div>\n'
                f'  <div class="text-danger small" id="comment-error-{place}" role="alert"></div>\n'
                f'  <button class="btn btn-sm btn-primary mt-1" type="submit">记录意见</button>\n'
                f'  <button class="btn btn-sm btn-outline-secondary mt-1" type="button"'
                f' data-comment-close="comment-form-{place}">取消</button>\n</form>\n'
            )
        return mark_safe(html)

    def row(self, scored):
        """A row of _review_table.html: its cells, “提意见” for the reviewer, and the line of its comments under it
        (hidden while it has none)."""
        row = scored.row
        pk, name = row.pk, escape(row.name)
        button = (
            f'<td class="text-nowrap"><button type="button" class="btn btn-sm btn-outline-primary"'
            f' data-comment-open="comment-form-result-{pk}" aria-expanded="false" aria-controls="comment-form-result-{pk}"'
            f' aria-label="对“{name}”提意见">提意见</button></td>' if self.can_comment else ""
        )
        hidden = "" if self.comments_by.get(("result", pk)) else " hidden"
        return mark_safe(
            f'<tr id="row-{pk}">{review_cells(scored)}{button}</tr>\n'
            f'<tr class="row-comments"{hidden}><td colspan="{8 if self.can_comment else 7}">'
            f'{self.place("result", pk, row.name)}</td></tr>\n'
        )


@register.filter
def review_row(scored, places):
    return places.row(scored)


@register.simple_tag
def comment_place(places, kind, pk, about, part=""):
    return places.place(kind, pk, about, part)
