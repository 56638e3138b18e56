from django.core.management.base import BaseCommand

from reports.tasks import purge_expired


class Command(BaseCommand):
    help = "删除下载链接已过期的导出文件（以及不再属于任何导出任务的文件）；导出任务记录保留。可由 cron 每小时运行。"

    def handle(self, *args, **options):
        deleted = purge_expired()
        self.stdout.write(self.style.SUCCESS(f"已删除 {len(deleted)} 个过期的导出文件。"))
