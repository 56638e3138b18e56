from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from evaluations.documents import archive
from evaluations.models import ArchivedProjectDocument


class Command(BaseCommand):
    help = "检查一个说明或项目支出绩效自评表 PDF 是否与某次审核通过时归档的文件完全一致。"

    def add_arguments(self, parser):
        parser.add_argument("file", help="要检查的 PDF 文件")

    def handle(self, *args, file, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"找不到文件：{file}")
        data = path.read_bytes()
        event = archive.find(data)
        if event is None:
            raise CommandError(
                f"不一致：该文件（SHA-256 {archive.sha256(data)}）与任何审核通过时归档的说明都不相同，可能已被修改。"
            )
        actor = event.actor.get_full_name() or event.actor.username
        project = ArchivedProjectDocument.objects.filter(event=event, sha256=archive.sha256(data)).first()
        what = f"项目“{project.project_name}”的项目支出绩效自评表" if project else "说明"
        self.stdout.write(self.style.SUCCESS(
            f"一致：该文件就是“{event.evaluation}”于 {event.created_at.astimezone():%Y-%m-%d %H:%M} "
            f"由 {actor} 审核通过时归档的{what}（流程记录 #{event.pk}，当时综合得分 {event.total_score} 分）。"
        ))
