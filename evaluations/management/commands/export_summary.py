from django.core.management.base import BaseCommand, CommandError

from evaluations.models import Framework
from evaluations.spreadsheets import summary


class Command(BaseCommand):
    help = "导出某年度的自评汇总表（.xlsx，流式写入，内存占用不随数据量增长）。"

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True, help="年度")
        parser.add_argument("-o", "--output", required=True, help="输出文件，如 汇总.xlsx")

    def handle(self, *args, year, output, **options):
        if not Framework.objects.filter(year=year).exists():
            raise CommandError(f"{year} 年度的指标体系不存在。")
        count = summary.write_summary(output, year)
        self.stdout.write(self.style.SUCCESS(f"已导出 {year} 年度汇总表：{count} 个单位 → {output}"))
