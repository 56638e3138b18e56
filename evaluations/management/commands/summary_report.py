from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from evaluations.documents import summary as summary_report
from evaluations.documents.html_pdf import pdf_unavailable_reason
from evaluations.models import Framework, Unit


class Command(BaseCommand):
    help = "生成某年度的《部门整体支出绩效自评结果汇总分析报告》（Word 或 PDF），全部数字取自系统数据。"

    def add_arguments(self, parser):
        parser.add_argument("--year", required=True, type=int, help="年度，如 2024")
        parser.add_argument("--format", default="docx", choices=["docx", "pdf"], help="输出格式：docx 或 pdf")
        parser.add_argument("-o", "--output", help="输出文件；不填则按年度命名写入当前目录")

    def handle(self, *args, year, format, output, **options):
        if not Framework.objects.filter(year=year).exists():
            years = "、".join(str(y) for y in Framework.objects.order_by("-year").values_list("year", flat=True))
            raise CommandError(f"没有 {year} 年的指标体系。已有年度：{years or '无'}。")
        if format == "pdf" and (reason := pdf_unavailable_reason()):
            raise CommandError(reason)
        report = summary_report.build_summary(Unit.objects.all(), year)
        data = summary_report.render_docx(report) if format == "docx" else summary_report.render_pdf(report)
        path = Path(output or summary_report.filename(year, format))
        try:
            path.write_bytes(data)
        except OSError as error:
            raise CommandError(f"无法写入 {path}：{error.strerror}。请检查路径和权限。") from None
        figures = report.figures
        self.stderr.write(
            f"已写入 {path}：{figures['units']} 个单位，已提交 {figures['submitted']} 个，"
            f"平均 {figures['average'] if figures['average'] is not None else '—'} 分，复核 {figures['rechecks_confirmed']} 个。"
        )
