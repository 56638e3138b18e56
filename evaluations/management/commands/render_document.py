import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from evaluations.documents import html_pdf, word
from evaluations.documents.outline import document_filename
from evaluations.models import Evaluation

FORMATS = {"html", "pdf", "docx"}


class Command(BaseCommand):
    help = (
        "输出《部门整体支出绩效自评表说明》（含附件自评表）：一个单位某年度的一份，"
        "或用 --all 把某年度全部单位的说明逐份写入一个目录。"
    )

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--unit", help="单位编码或单位全称")
        target.add_argument("--all", action="store_true", help="该年度的全部自评，每份一个文件，写入 -o 指定的目录")
        parser.add_argument("--year", required=True, type=int, help="年度，如 2024")
        parser.add_argument("--format", default="html", choices=sorted(FORMATS), help="输出格式：html、pdf 或 docx")
        parser.add_argument(
            "-o", "--output",
            help="输出文件（--all 时为输出目录）；html 不填则打印到标准输出，pdf/docx 不填则按单位命名写入当前目录",
        )

    def handle(self, *args, unit, all, year, format, output, **options):
        if format == "pdf" and (reason := html_pdf.pdf_unavailable_reason()):
            raise CommandError(reason)
        if all:
            self.render_all(year, format, output)
            return
        evaluation = (
            Evaluation.objects.with_document_data()
            .filter(Q(unit__code=unit) | Q(unit__name=unit), framework__year=year)
            .first()
        )
        if evaluation is None:
            raise CommandError(f"找不到单位“{unit}”{year}年的自评。请检查单位编码或全称，以及年度。")
        if format == "html" and not output:
            sys.stdout.write(html_pdf.render_html(evaluation))
            return
        path = Path(output or document_filename(evaluation, format))
        write(path, evaluation, format)
        self.stderr.write(f"已写入 {path}")

    def render_all(self, year, format, output):
        if not output:
            raise CommandError("使用 --all 时请用 -o 指定输出目录。")
        directory = Path(output)
        if directory.exists() and not directory.is_dir():
            raise CommandError(f"{directory} 不是目录。")
        directory.mkdir(parents=True, exist_ok=True)
        evaluations = Evaluation.objects.with_document_data().for_year(year).order_by("unit__code")
        count = 0
        # One document at a time, prefetched in small chunks: memory stays flat however many units there are.
        for evaluation in evaluations.iterator(chunk_size=20):
            path = directory / document_filename(evaluation, format)
            write(path, evaluation, format)
            count += 1
            self.stderr.write(f"[{count}] 已写入 {path}")
        if not count:
            raise CommandError(f"{year}年没有任何自评。")
        self.stderr.write(self.style.SUCCESS(f"共写入 {count} 份说明到 {directory}"))


RENDERERS = {"html": html_pdf.render_html, "pdf": html_pdf.render_pdf, "docx": word.render_docx}


def write(path, evaluation, format):
    content = RENDERERS[format](evaluation)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)

