from django.conf import settings
from django.core.mail import send_mass_mail
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from evaluations.models import EvaluationStatus, Framework, Unit

NOT_SUBMITTED = (EvaluationStatus.DRAFT, EvaluationStatus.RETURNED)


class Command(BaseCommand):
    help = "提醒尚未提交某年度自评的单位的填报人（按年度截止日期）。"

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True, help="年度，如 2024")
        parser.add_argument("--dry-run", action="store_true", help="只列出将提醒的单位，不发送")

    def handle(self, *args, year, dry_run=False, **options):
        framework = Framework.objects.filter(year=year).first()
        if framework is None:
            raise CommandError(f"没有 {year} 年的指标体系。")
        deadline = framework.submission_deadline
        if deadline is None:
            raise CommandError(f"{year} 年的指标体系未设置提交截止日期，请先在系统管理中设置。")
        days_left = (deadline - timezone.localdate()).days
        submitted = Unit.objects.filter(evaluations__framework=framework).exclude(
            evaluations__framework=framework, evaluations__status__in=NOT_SUBMITTED
        )
        pending = (
            Unit.objects.filter(members__isnull=False).exclude(pk__in=submitted.values("pk")).distinct().order_by("code")
        )
        when = f"还有 {days_left} 天" if days_left >= 0 else f"已逾期 {-days_left} 天"
        messages = []
        for unit in pending.prefetch_related("members"):
            recipients = [u.email for u in unit.members.all() if u.email and u.is_active]
            subject = f"【提醒】请于 {deadline:%Y年%m月%d日} 前提交{year}年部门整体支出绩效自评"
            body = (
                f"{unit.name}：\n您单位{year}年部门整体支出绩效自评尚未提交，提交截止日期为 {deadline:%Y年%m月%d日}（{when}）。"
                "\n请登录绩效自评系统填写并提交。"
            )
            messages += [(subject, body, settings.DEFAULT_FROM_EMAIL, [r]) for r in recipients]
            self.stdout.write(f"{unit.name}：{len(recipients)} 位填报人")
        if not dry_run:
            send_mass_mail(messages, fail_silently=False)
        self.stdout.write(self.style.SUCCESS(f"{'将' if dry_run else '已'}提醒 {len(messages)} 人次（{pending.count()} 个单位，{when}）。"))


