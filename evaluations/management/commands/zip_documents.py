from django.core.management.base import BaseCommand

from evaluations.documents import archive
from evaluations.models import Evaluation


class Command(BaseCommand):
    help = "把某年度所有已通过审核的说明（审核通过时归档的 PDF）打包为一个 zip。"

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True, help="年度，如 2024")
        parser.add_argument("-o", "--output", required=True, help="输出的 zip 文件")

    def handle(self, *args, year, output, **options):
        count = archive.write_year_zip(Evaluation.objects.for_year(year), output)
        self.stdout.write(self.style.SUCCESS(f"已把 {year} 年 {count} 份已通过的说明写入 {output}。"))
