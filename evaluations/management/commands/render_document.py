import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from evaluations.documents import html_pdf, word
from evaluations.documents.outline import document_filename
from evaluations.documents.project_table import project_filename
from evaluations.models import Evaluation, Project

FORMATS = {"html", "pdf", "docx"}
PROJECT_FORMATS = {"html", "pdf", "docx", "xlsx"}


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
        parser.add_argument(
            "--format", default="html", choices=sorted(PROJECT_FORMATS),
            help="输出格式：html、pdf 或 docx；--projects 时还可为 xlsx（官方格式，可重新导入）",
        )
        parser.add_argument(
            "--projects", action="store_true",
            help="输出项目支出绩效自评表：每个项目一个文件，写入 -o 指定的目录",
        )
        parser.add_argument(
            "-o", "--output",
            help="输出文件（--all 时为输出目录）；html 不填则打印到标准输出，pdf/docx 不填则按单位命名写入当前目录",
        )

    def handle(self, *args, unit, all, year, format, output, projects=False, **options):
        if format == "pdf" and (reason := html_pdf.pdf_unavailable_reason()):
            raise CommandError(reason)
        if projects:
            self.render_projects(unit, year, format, output)
            return
        if format not in FORMATS:
            raise CommandError("xlsx 格式只用于项目支出绩效自评表（加 --projects）；部门整体自评表的 Excel 请在页面下载。")
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


    def render_projects(self, unit, year, format, output):
        """One file per project: of one unit's package, or (--all) of every package of the year."""
        if not output:
            raise CommandError("使用 --projects 时请用 -o 指定输出目录（每个项目一个文件）。")
        directory = Path(output)
        if directory.exists() and not directory.is_dir():
            raise CommandError(f"{directory} 不是目录。")
        projects = Project.objects.with_table_data().for_year(year).order_by("evaluation__unit__code", "order", "pk")
        if unit:
            projects = projects.filter(Q(evaluation__unit__code=unit) | Q(evaluation__unit__name=unit))
        directory.mkdir(parents=True, exist_ok=True)
        count = 0
        for project in projects.iterator(chunk_size=20):
            path = directory / project_filename(project, format)
            content = PROJECT_RENDERERS[format](project)
            path.write_text(content, encoding="utf-8") if isinstance(content, str) else path.write_bytes(content)
            count += 1
            self.stderr.write(f"[{count}] 已写入 {path}")
        if not count:
            whose = f"单位“{unit}”" if unit else ""
            raise CommandError(f"{whose}{year}年没有任何项目支出绩效自评表。请检查单位编码或全称，以及年度。")
        self.stderr.write(self.style.SUCCESS(f"共写入 {count} 份项目支出绩效自评表到 {directory}"))


def _project_xlsx(project):
    from evaluations.spreadsheets.project_official import write_project_workbook

    return write_project_workbook(project)


PROJECT_RENDERERS = {
    "html": html_pdf.render_project_html, "pdf": html_pdf.render_project_pdf, "docx": word.render_project_docx,
    "xlsx": _project_xlsx,
}
RENDERERS = {"html": html_pdf.render_html, "pdf": html_pdf.render_pdf, "docx": word.render_docx}


def write(path, evaluation, format):
    content = RENDERERS[format](evaluation)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)

