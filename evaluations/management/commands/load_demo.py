from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from evaluations import access, demo, demo_projects
from evaluations.models import (
    ArchivedDocument,
    ArchivedProjectDocument,
    BudgetLine,
    Evaluation,
    Event,
    Evidence,
    Framework,
    Indicator,
    IndicatorResult,
    Recheck,
    RecheckEvent,
    Rectification,
    ReviewComment,
    ReviewerCharge,
    ReviewStage,
    SectionKind,
    Unit,
)

DEMO_USERS = [
    # username, password, role, full name
    ("filler", "demo-filler-2024", access.FILLER, "化龙镇填报人"),
    ("reviewer", "demo-reviewer-2024", access.REVIEWER, "财政局审核人"),
    ("admin", "demo-admin-2024", access.ADMIN, "系统管理员"),
]


def load_default_framework(year):
    """Create or update the default framework of a year (docs/domain.md §3). Weights and rules stay editable."""
    framework, _ = Framework.objects.get_or_create(year=year, defaults={"name": f"{year}年度部门整体支出绩效评价指标体系"})
    for n1, (name1, weight1, categories) in enumerate(demo.DEFAULT_FRAMEWORK, start=1):
        top, _ = Indicator.objects.update_or_create(
            framework=framework, parent=None, name=name1, defaults={"level": 1, "weight": weight1, "order": n1}
        )
        for n2, (name2, weight2, open_to_units, leaves) in enumerate(categories, start=1):
            category, _ = Indicator.objects.update_or_create(
                framework=framework, parent=top, name=name2,
                defaults={"level": 2, "weight": weight2, "order": n2, "accepts_unit_rows": open_to_units},
            )
            for n3, (name3, weight3, rule, comparison, target, uom, per_point, source, standard) in enumerate(leaves, 1):
                Indicator.objects.update_or_create(
                    framework=framework, parent=category, name=name3,
                    defaults={
                        "level": 3, "weight": weight3, "order": n3, "rule": rule, "comparison": comparison,
                        "target_value": target, "unit_of_measure": uom, "deduction_per_point": per_point,
                        "actual_source": source, "scoring_standard": standard,
                    },
                )
    return framework


def remove_evaluations(evaluations):
    """Remove evaluations with everything gathered around them: events, archived PDFs, comments, evidence, field
    history, and the stored files. Events and archives are never removed in use (they are PROTECTed, Event.delete
    refuses); the demo is the one place that starts over (issue 13: a second `make run` failed here)."""
    files = [
        (item.file.storage, item.file.name)
        for model in (Evidence, ArchivedDocument, ArchivedProjectDocument)
        for item in model.objects.filter(evaluation__in=evaluations)
        if item.file.name
    ]
    files += [(item.evidence.storage, item.evidence.name)
              for item in Rectification.objects.filter(evaluation__in=evaluations) if item.evidence.name]
    RecheckEvent.objects.filter(evaluation__in=evaluations).delete()  # 复核's record, then 整改 and the 复核
    Rectification.objects.filter(evaluation__in=evaluations).delete()
    Recheck.objects.filter(evaluation__in=evaluations).delete()
    ReviewComment.objects.filter(evaluation__in=evaluations).delete()  # they point at the events they went with
    ArchivedDocument.objects.filter(evaluation__in=evaluations).delete()
    ArchivedProjectDocument.objects.filter(evaluation__in=evaluations).delete()
    Event.objects.filter(evaluation__in=evaluations).delete()  # a QuerySet's delete, not Event.delete
    evaluations.delete()  # rows, budget, sections, evidence, field history
    transaction.on_commit(lambda: [storage.delete(name) for storage, name in files])


class Command(BaseCommand):
    help = "载入演示数据：默认指标体系、化龙镇 2024 年自评和每个角色一个用户（可重复运行）。"

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="在 DEBUG 关闭（生产配置）时也载入。")
        parser.add_argument(
            "--peers", action="store_true",
            help="另载入番禺区其他 6 个镇街 2023、2024 年已通过的自评和第二名审核人 reviewer2（总览、复核抽样、汇总分析报告用）。",
        )

    def handle(self, *args, force=False, peers=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("当前为生产配置（DEBUG 关闭），演示数据会设置公开的演示密码。确需载入请加 --force。")
        with transaction.atomic():
            framework = load_default_framework(demo.DEMO_YEAR)
            units = self.load_units()
            evaluation = self.load_evaluation(units[demo.DEMO_UNIT_CODE], framework)
            demo_projects.load_demo_projects(evaluation)
            self.load_users(units)
            if peers:
                self.load_peers(units["440113"])
        card = evaluation.scorecard()
        self.stdout.write(self.style.SUCCESS(f"已载入 {evaluation}：综合得分 {card.total} 分，自评结果“{card.grade}”。"))
        self.stdout.write("演示用户（用户名 / 密码 / 角色）：")
        for username, password, role, _ in DEMO_USERS:
            self.stdout.write(f"  {username} / {password} / {role}")

    def load_units(self):
        units = {}
        for code, name, short, parent in demo.DEMO_UNITS:
            unit, _ = Unit.objects.update_or_create(
                code=code, defaults={"name": name, "short_name": short, "parent": units.get(parent)}
            )
            units[code] = unit
        return units

    def load_evaluation(self, unit, framework):
        # Rebuilt from scratch each time, so the demo reads as the seed whatever was done to it.
        remove_evaluations(Evaluation.objects.filter(unit=unit, framework=framework))
        evaluation = Evaluation.objects.start(unit=unit, framework=framework)
        self.fill_budget(evaluation)
        categories = {i.name: i for i in framework.indicators.filter(level=2)}
        for row in evaluation.results.select_related("indicator"):
            if row.name in demo.DEMO_FRAMEWORK_SCORES:
                row.band, row.score, row.actual_text, row.deviation_reason = demo.DEMO_FRAMEWORK_SCORES[row.name]
            row.deviation_reason = demo.DEMO_RULE_REASONS.get(row.name, row.deviation_reason)
            row.save()
        IndicatorResult.objects.bulk_create(
            IndicatorResult(
                evaluation=evaluation, category=categories[category], name=name, rule=rule, comparison=comparison,
                target_value=target, target_text=target_text, unit_of_measure=uom, actual_value=actual,
                actual_text=actual_text, weight=weight, band=band, score=score, order=order,
            )
            for order, (category, name, rule, comparison, target, target_text, uom, actual, actual_text, weight, band, score)
            in enumerate(demo.DEMO_UNIT_ROWS, start=1)
        )
        for section in evaluation.sections.select_related("indicator"):
            key = section.indicator.name if section.kind == SectionKind.ANALYSIS else section.kind
            text = demo.DEMO_NARRATIVE[key]
            section.body = "\n".join(text["body"])
            section.points = list(text["points"])
            section.save()
        evaluation = Evaluation.objects.with_document_data().get(pk=evaluation.pk)
        evaluation.refresh_computed_scores()
        return evaluation

    def fill_budget(self, evaluation):
        for line in BudgetLine.objects.filter(evaluation=evaluation):
            line.initial_budget, line.adjusted_budget, line.executed = demo.DEMO_BUDGET[line.item]
            line.save()

    def load_users(self, units):
        User = get_user_model()
        for username, password, role, full_name in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username)
            user.first_name, user.is_active = full_name, True
            user.email = f"{username}@example.invalid"
            user.is_staff = role == access.ADMIN
            user.set_password(password)
            user.save()
            user.groups.set([Group.objects.get(name=role)])
            axes_reset(username=username)  # a locked-out demo user can log in again
        User.objects.get(username="filler").filler_units.set([units[demo.DEMO_UNIT_CODE]])
        reviewer = User.objects.get(username="reviewer")
        reviewer.review_charges.exclude(unit=units["440113"], stage=ReviewStage.FINANCE).delete()
        ReviewerCharge.objects.update_or_create(
            reviewer=reviewer, unit=units["440113"], stage=ReviewStage.FINANCE, defaults={"include_subunits": True}
        )


    def load_peers(self, district):
        """The district's other towns, two approved years each (demo.DEMO_PEERS), and a second reviewer to
        confirm 复核 (one drafts, another confirms)."""
        from datetime import timedelta
        from decimal import Decimal

        from django.utils import timezone

        from evaluations.models import EvaluationStatus

        User = get_user_model()
        second, _ = User.objects.get_or_create(username="reviewer2")
        second.first_name, second.email = "财政局复核确认人", "reviewer2@example.invalid"
        second.set_password("demo-reviewer2-2024")
        second.save()
        second.groups.set([Group.objects.get(name=access.REVIEWER)])
        ReviewerCharge.objects.get_or_create(reviewer=second, unit=district, defaults={"include_subunits": True})
        frameworks = {year: load_default_framework(year) for year in demo.DEMO_PEER_YEARS}
        for code, name, short, years in demo.DEMO_PEERS:
            unit, _ = Unit.objects.update_or_create(
                code=code, defaults={"name": name, "short_name": short, "parent": district}
            )
            for year, (rate, adjustment, quality, targets, actuals, reasons) in years.items():
                framework = frameworks[year]
                remove_evaluations(Evaluation.objects.filter(unit=unit, framework=framework))
                evaluation = Evaluation.objects.start(unit=unit, framework=framework)
                initial = Decimal("20000")
                adjusted = (initial * (1 + adjustment / 100)).quantize(Decimal("0.01"))
                BudgetLine.objects.filter(evaluation=evaluation, item="fiscal").update(
                    initial_budget=initial, adjusted_budget=adjusted, executed=(adjusted * rate / 100).quantize(Decimal("0.01"))
                )
                categories = {i.name: i for i in framework.indicators.filter(level=2)}
                rows = [
                    IndicatorResult(
                        evaluation=evaluation, category=categories["产出"], name=output, rule="proportional",
                        comparison=">=", target_value=Decimal(target), unit_of_measure="%" if output.endswith("率") else "项",
                        actual_value=Decimal(actual), weight=Decimal("6"), order=n,
                    )
                    for n, (output, target, actual) in enumerate(zip(demo._OUTPUTS, targets, actuals, strict=True), 1)
                ]
                rows.append(IndicatorResult(
                    evaluation=evaluation, category=categories["效益"], name="服务对象满意度", rule="manual",
                    comparison="qualitative", target_text="满意", weight=Decimal("20"),
                    score=(Decimal("20") * quality).quantize(Decimal("0.01")), order=len(rows) + 1,
                ))
                IndicatorResult.objects.bulk_create(rows)
                for row in evaluation.results.filter(rule="qualitative"):
                    row.band = "achieved" if quality >= Decimal("0.8") else "partly"
                    row.score = (row.weight * quality).quantize(Decimal("0.01"))
                    row.save()
                evaluation = Evaluation.objects.with_document_data().get(pk=evaluation.pk)
                card = evaluation.refresh_computed_scores()
                losing = [r.row for r in card.rows if (r.score or 0) < r.row.weight]
                for row in losing:
                    row.deviation_reason = (
                        f"{row.name}未达到年度目标：部分任务受项目进度影响延后，下一步加强调度，按月跟踪完成情况。"
                        if reasons == "full" else reasons
                    )
                IndicatorResult.objects.bulk_update(losing, ["deviation_reason"])
                for section in evaluation.sections.all():
                    section.body = f"{unit.short_name}{year}年{section.title}。"
                    section.save()
                submitted = timezone.now() - timedelta(days=30 * (2025 - year))
                Evaluation.objects.filter(pk=evaluation.pk).update(
                    status=EvaluationStatus.APPROVED, submitted_at=submitted, budget_note="部分项目年内未能全部支付。"
                )
        self.stdout.write(f"已载入 {len(demo.DEMO_PEERS)} 个镇街 {len(demo.DEMO_PEER_YEARS)} 个年度的自评（已通过）；"
                          "第二名审核人 reviewer2 / demo-reviewer2-2024（确认复核用）。")
