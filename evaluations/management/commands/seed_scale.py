"""Realistic data at scale for the benchmarks: N units, each with an evaluation of R indicator rows (and, with
--projects, P projects of their own rows each).

Rows are built in memory and written with bulk_create in batches; scores decided by rules are computed by
`scoring.build_scorecard` from the same budget figures, exactly as `Evaluation.refresh_computed_scores` would
(without its per-evaluation queries).
"""

import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat

from evaluations import access, project_scoring, scoring
from evaluations.management.commands.load_demo import load_default_framework
from evaluations.models import (
    FUNDING_SOURCES,
    SPENDING_KINDS,
    BudgetItem,
    BudgetLine,
    Evaluation,
    EvaluationStatus,
    IndicatorResult,
    Project,
    ProjectFramework,
    ProjectIndicator,
    ReviewerCharge,
    Unit,
    insert_totals,
)

BATCH = 500  # evaluations per transaction
STATUSES = [EvaluationStatus.DRAFT, EvaluationStatus.SUBMITTED, EvaluationStatus.RETURNED, EvaluationStatus.APPROVED]
LABELS = dict(BudgetItem.choices)
OUTPUT_TARGETS = [("巡查涉水污染源", "家次", 500), ("问题企业完成整改", "家", 20), ("培训人次", "人次", 300),
                  ("项目完成数", "个", 12), ("案件办结率", "%", 100), ("道路维护里程", "公里", 40)]
BENEFITS = ["经济效益", "社会效益", "生态效益", "可持续影响", "服务对象满意度"]


class Command(BaseCommand):
    help = "生成大规模测试数据（基准测试用）：N 个单位，每个单位一份含 R 个三级指标的自评。"

    def add_arguments(self, parser):
        parser.add_argument("--units", type=int, required=True)
        parser.add_argument("--rows", type=int, default=40, help="每份自评的三级指标行数（含体系指标）")
        parser.add_argument("--year", type=int, default=2024)
        parser.add_argument("--prefix", default="S", help="单位编码前缀")
        parser.add_argument("--seed", type=int, default=2024)
        parser.add_argument("--users", type=int, default=0,
                            help="负载测试用：为前 N 个单位各建一名填报人 filler<n>，每 50 个单位一名审核人 reviewer<k>")
        parser.add_argument("--password", default="load-test-password", help="--users 所建用户的密码")
        parser.add_argument("--projects", type=int, default=0, help="每个单位的项目数（项目支出绩效自评表）")
        parser.add_argument("--project-rows", type=int, default=15, help="每个项目的三级指标行数")

    def handle(self, *args, units, rows, year, prefix, seed, users=0, password="", projects=0, project_rows=15,
               **options):
        framework = load_default_framework(year)
        project_plan = self.project_plan(framework, project_rows) if projects else None
        indicators = list(framework.indicators.order_by("level", "order", "pk"))
        leaves = [i for i in indicators if i.level == 3]
        if rows < len(leaves) + 2:
            raise CommandError(f"--rows 至少为 {len(leaves) + 2}（体系指标 {len(leaves)} 个，加产出、效益各一个）。")
        output = next(i for i in indicators if i.level == 2 and i.name == "产出")
        benefit = next(i for i in indicators if i.level == 2 and i.name == "效益")
        rng = random.Random(seed)
        start = Unit.objects.filter(code__startswith=prefix).count()
        root, _ = Unit.objects.get_or_create(code=f"{prefix}-ROOT", defaults={"name": f"{prefix} 测试上级单位"})
        for first in range(0, units, BATCH):
            with transaction.atomic():
                batch = [
                    Unit(code=f"{prefix}{n:06d}", name=f"{prefix}测试单位{n:06d}", short_name=f"单位{n}", parent=root)
                    for n in range(start + first, start + min(units, first + BATCH))
                ]
                Unit.objects.bulk_create(batch)
                created = list(Unit.objects.filter(code__in=[u.code for u in batch]))
                Unit.objects.filter(pk__in=[u.pk for u in created]).update(
                    path=Concat(Value(root.path), Cast("pk", CharField()), Value("/"))
                )
                evaluations = Evaluation.objects.bulk_create(
                    Evaluation(unit=u, framework=framework, status=rng.choice(STATUSES)) for u in created
                )
                evaluations = list(Evaluation.objects.filter(unit__in=created, framework=framework))
                lines, results = [], []
                for evaluation in evaluations:
                    budget = self.budget(evaluation, rng)
                    lines += budget
                    results += self.rows(evaluation, leaves, output, benefit, rows, budget, framework, indicators, rng)
                BudgetLine.objects.bulk_create(lines)
                IndicatorResult.objects.bulk_create(results, batch_size=2000)
                loaded = {e.pk: ([], []) for e in evaluations}
                for row in results:
                    loaded[row.evaluation_id][0].append(row)
                for line in lines:
                    loaded[line.evaluation_id][1].append(line)
                insert_totals(loaded)  # what refresh_computed_scores stores with the rows (EvaluationTotals)
                if project_plan:
                    self.projects(evaluations, projects, project_plan, framework, rng)
            self.stdout.write(f"  {min(units, first + BATCH)}/{units}")
        self.stdout.write(self.style.SUCCESS(f"已生成 {units} 个单位、{units * rows} 个三级指标（{year} 年）。"))
        if projects:
            self.stdout.write(f"以及 {units * projects} 个项目、{units * projects * project_rows} 个项目指标。")
        if users:
            self.users(prefix, users, password)
        if connection.vendor == "postgresql":
            # The freshly loaded tables as autovacuum leaves them in a database in use, now rather than whenever it
            # gets to them: statistics for the planner, the visibility map for index-only scans, and hint bits set
            # (otherwise the first reads of every page also write it). VACUUM cannot run inside a transaction (a
            # test's): there, the statistics only.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE" if connection.get_autocommit() else "ANALYZE")

    def project_plan(self, framework, count):
        """The year's project framework (the 10号 weighting unless set) and where each of `count` rows goes:
        满意度 one row, 效益 a third of the rest, 产出 the others; each 一级's weight shared equally."""
        try:
            project_framework = framework.project_framework
        except ProjectFramework.DoesNotExist:
            project_framework = ProjectFramework.objects.create_from_weighting(framework, "10")
        template = project_framework.linked_template()
        tops = {t.kind: t for t in template if t.level == 1}
        first_category = {}
        for t in sorted((t for t in template if t.level == 2), key=lambda t: t.order):
            first_category.setdefault(t.parent_id, t)
        if count < 3 or not {"output", "benefit", "satisfaction"} <= set(tops):
            raise CommandError("--project-rows 至少为 3，且项目支出指标体系需有产出、效益、满意度一级指标。")
        benefits = (count - 1) // 3
        plan = []
        for kind, n in (("output", count - 1 - benefits), ("benefit", benefits), ("satisfaction", 1)):
            top = tops[kind]
            share = (top.weight / n).quantize(Decimal("0.01"))
            for k in range(n):
                plan.append((first_category[top.pk], kind, share if k < n - 1 else top.weight - share * (n - 1)))
        return project_framework, template, plan

    def projects(self, evaluations, per_unit, plan, framework, rng):
        project_framework, template, rows_plan = plan
        pack = project_framework.rule_pack()
        built, rows = [], []
        for evaluation in evaluations:
            for n in range(per_unit):
                adjusted = Decimal(rng.randint(50, 3000))
                project = Project(
                    evaluation=evaluation, name=f"测试项目{n + 1:02d}", code=f"{evaluation.unit_id}-{n + 1:02d}",
                    supervising_department="测试主管部门", implementing_unit="测试实施单位", order=n + 1,
                    fiscal_initial=adjusted, fiscal_adjusted=adjusted,
                    fiscal_executed=(adjusted * Decimal(rng.uniform(0.6, 1.0))).quantize(Decimal("0.01")),
                    goal_expected="完成年度建设任务。", goal_actual="基本完成年度建设任务。",
                )
                project_rows = []
                for k, (category, kind, weight) in enumerate(rows_plan, start=1):
                    target = Decimal(90 if kind == "satisfaction" else rng.randint(5, 500))
                    actual = (target * Decimal(rng.uniform(0.7, 1.2))).quantize(Decimal("0.01"))
                    project_rows.append(ProjectIndicator(
                        category=category, name=f"指标{k:02d}", comparison=">=", target_value=target,
                        actual_value=actual, unit_of_measure="%" if kind == "satisfaction" else "项", weight=weight,
                        order=k, deviation_reason="" if actual >= target else "受年中调整影响未完成，下一步加快进度。",
                    ))
                card = project_scoring.build_scorecard(
                    project, template, project_rows, pack=pack, execution_weight=project_framework.execution_weight,
                    thresholds=framework.grade_thresholds,
                )
                for scored in card.rows:
                    scored.row.score = scored.score
                project.execution_score, project.total_score = card.execution.score, card.total
                built.append((project, project_rows))
        Project.objects.bulk_create([p for p, _ in built], batch_size=1000)
        for project, project_rows in built:
            for row in project_rows:
                row.project = project
                rows.append(row)
        ProjectIndicator.objects.bulk_create(rows, batch_size=2000)

    def users(self, prefix, count, password):
        """Fillers filler<n> (one unit each) and reviewers reviewer<k> (50 units each), one shared hash."""
        User = get_user_model()
        hashed = make_password(password)
        units = list(Unit.objects.filter(code__startswith=prefix).exclude(code=f"{prefix}-ROOT").order_by("code")[:count])
        reviewers = (len(units) + 49) // 50
        with transaction.atomic():
            User.objects.bulk_create(
                [User(username=f"filler{n}", password=hashed) for n in range(len(units))]
                + [User(username=f"reviewer{k}", password=hashed) for k in range(reviewers)],
                ignore_conflicts=True,
            )
            by_name = dict(User.objects.filter(username__regex=r"^(filler|reviewer)[0-9]+$").values_list("username", "pk"))
            fillers, checkers = Group.objects.get(name=access.FILLER), Group.objects.get(name=access.REVIEWER)
            Membership = User.groups.through
            Membership.objects.bulk_create(
                [Membership(user_id=by_name[f"filler{n}"], group=fillers) for n in range(len(units))]
                + [Membership(user_id=by_name[f"reviewer{k}"], group=checkers) for k in range(reviewers)],
                ignore_conflicts=True,
            )
            Unit.members.through.objects.bulk_create(
                [Unit.members.through(unit_id=u.pk, user_id=by_name[f"filler{n}"]) for n, u in enumerate(units)],
                ignore_conflicts=True,
            )
            ReviewerCharge.objects.bulk_create(
                [ReviewerCharge(reviewer_id=by_name[f"reviewer{n // 50}"], unit=u, include_subunits=False)
                 for n, u in enumerate(units)],
                ignore_conflicts=True,
            )
        self.stdout.write(f"已建 {len(units)} 名填报人（filler0…）、{reviewers} 名审核人（reviewer0…），密码 {password}。")

    def budget(self, evaluation, rng):
        lines = []
        for item in (*FUNDING_SOURCES, *SPENDING_KINDS):
            initial = Decimal(rng.randint(100, 50000))
            adjusted = (initial * Decimal(rng.uniform(0.95, 1.2))).quantize(Decimal("0.01"))
            executed = (adjusted * Decimal(rng.uniform(0.85, 1.0))).quantize(Decimal("0.01"))
            lines.append(BudgetLine(evaluation=evaluation, item=item, initial_budget=initial,
                                    adjusted_budget=adjusted, executed=executed))
        return lines

    def rows(self, evaluation, leaves, output, benefit, count, budget, framework, indicators, rng):
        rows = []
        for i in leaves:
            row = IndicatorResult(
                evaluation=evaluation, indicator=i, category_id=i.parent_id, name=i.name, order=i.order,
                **i.row_defaults(),
            )
            if i.rule == "qualitative":
                row.band = rng.choice(["achieved", "achieved", "partly"])
                low, high = scoring.band_range(row.band, row.weight)
                row.score = high if row.band == "achieved" else low
                row.actual_text = "按要求完成" if row.band == "achieved" else "部分完成"
                if row.score < row.weight:
                    row.deviation_reason = "部分工作未达预期，下一步加强管理。"
            rows.append(row)
        extra = count - len(leaves)
        outputs, benefits = extra - extra // 3, extra // 3
        for category, n, weight in ((output, outputs, Decimal("30")), (benefit, benefits, Decimal("20"))):
            share = (weight / n).quantize(Decimal("0.01"))
            for k in range(n):
                w = share if k < n - 1 else weight - share * (n - 1)
                if category is output:
                    name, uom, target = OUTPUT_TARGETS[k % len(OUTPUT_TARGETS)]
                    actual = Decimal(round(target * rng.uniform(0.8, 1.1)))
                    rows.append(IndicatorResult(
                        evaluation=evaluation, category=category, name=f"{name}（{k + 1}）", rule="proportional",
                        comparison=">=", target_value=Decimal(target), unit_of_measure=uom, actual_value=actual,
                        weight=w, order=k + 1,
                        deviation_reason="" if actual >= target else "受年中任务调整影响未完成，下一步加快进度。",
                    ))
                else:
                    rows.append(IndicatorResult(
                        evaluation=evaluation, category=category, name=f"{BENEFITS[k % len(BENEFITS)]}（{k + 1}）",
                        rule="manual", comparison="qualitative", target_text="效益明显", actual_text="达到预期",
                        weight=w, score=w, order=k + 1,
                    ))
        summary = scoring.summarize_budget(budget, FUNDING_SOURCES, SPENDING_KINDS, LABELS)
        card = scoring.build_scorecard(indicators, rows, summary, framework.grade_thresholds)
        measures = summary.measures()
        for scored in card.rows:
            if scoring.is_rule_scored(scored.row.rule):
                scored.row.score = scored.score
                scored.row.actual_value = scoring.actual_of(scored.row, measures)
        return rows
