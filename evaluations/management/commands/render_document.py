import sys

from django.contrib.staticfiles import finders
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.template.loader import render_to_string

from evaluations.documents import build_document
from evaluations.models import Evaluation


class Command(BaseCommand):
    help = "输出一个单位某年度的《部门整体支出绩效自评表说明》。"

    def add_arguments(self, parser):
        parser.add_argument("--unit", required=True, help="单位编码或单位全称")
        parser.add_argument("--year", required=True, type=int, help="年度，如 2024")
        parser.add_argument("--format", default="html", choices=["html"], help="输出格式")
        parser.add_argument("-o", "--output", help="输出文件；不填则打印到标准输出")

    def handle(self, *args, unit, year, format, output, **options):
        evaluation = (
            Evaluation.objects.with_document_data()
            .filter(Q(unit__code=unit) | Q(unit__name=unit), framework__year=year)
            .first()
        )
        if evaluation is None:
            raise CommandError(f"找不到单位“{unit}”{year}年的自评。请检查单位编码或全称，以及年度。")
        html = render_document_html(evaluation)
        if output:
            with open(output, "w", encoding="utf-8") as f:
                f.write(html)
            self.stderr.write(f"已写入 {output}")
        else:
            sys.stdout.write(html)


def render_document_html(evaluation, standalone=True):
    """The 说明 as one self-contained HTML file (the print CSS inlined, nothing fetched)."""
    css = ""
    if standalone:
        with open(finders.find("css/print.css"), encoding="utf-8") as f:
            css = f.read()
    return render_to_string("evaluations/document.html", {"document": build_document(evaluation), "inline_css": css})
