"""The tests' shared helpers: make_* for the default framework, units, users in their roles and evaluations of any
size, load_demo() for the demo (run once, then written back), and login() for a test client signed in as one of them
(the shared cast is the `cast` fixture, conftest.py)."""

import io
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client, override_settings

from evaluations import access
from evaluations.management.commands.load_demo import load_default_framework
from evaluations.models import (
    Evaluation,
    Framework,
    IndicatorResult,
    Project,
    ProjectFramework,
    ProjectIndicator,
    ReviewerCharge,
    Unit,
)

PASSWORD = "correct-horse-battery-staple"
FAST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # every test's (conftest.py)
_counter = {"n": 0}


def login(user, password=PASSWORD):
    """A test client signed in as `user` (the login must succeed)."""
    client = Client()
    assert client.login(username=user.username, password=password)
    return client


def _next():
    _counter["n"] += 1
    return _counter["n"]


def make_framework(year=2024):
    framework = Framework.objects.filter(year=year).first()
    return framework or load_default_framework(year)


def make_unit(name=None, parent=None, code=None):
    n = _next()
    return Unit.objects.create(
        name=name or f"测试单位{n}", short_name=f"单位{n}", code=code or f"T{n:05d}", parent=parent
    )


def make_user(role=None, units=(), charge=None, include_subunits=True, username=None):
    user = get_user_model().objects.create_user(username or f"user{_next()}", password=PASSWORD)
    if role:
        group = Group.objects.get_or_create(name=role)[0]
        if role == access.ADMIN and not group.permissions.exists():
            # A transactional test's flush empties what the migrations granted the role: grant it again, as they do.
            group.permissions.set(Permission.objects.filter(content_type__app_label__in=["evaluations", "auth"]))
        user.groups.add(group)
    if role == access.ADMIN:
        user.is_staff = True
        user.save()
    for unit in units:
        unit.members.add(user)
    if charge is not None:
        ReviewerCharge.objects.create(reviewer=user, unit=charge, include_subunits=include_subunits)
    return user


def make_evaluation(unit=None, framework=None, extra_rows=0, scored=True):
    """An evaluation with every framework row scored in full and `extra_rows` unit rows under 产出."""
    framework = framework or make_framework()
    evaluation = Evaluation.objects.start(unit=unit or make_unit(), framework=framework)
    output = framework.indicators.get(level=2, name="产出")
    benefit = framework.indicators.get(level=2, name="效益")
    rows = []
    n = max(extra_rows, 1)
    for i in range(n):
        weight = (Decimal("30") / n).quantize(Decimal("0.01")) if i < n - 1 else Decimal("30") - (Decimal("30") / n).quantize(Decimal("0.01")) * (n - 1)
        rows.append(IndicatorResult(
            evaluation=evaluation, category=output, name=f"产出指标{i + 1}", rule="proportional", comparison=">=",
            target_value=Decimal("10"), actual_value=Decimal("10"), unit_of_measure="项", weight=weight, order=i,
        ))
    rows.append(IndicatorResult(
        evaluation=evaluation, category=benefit, name="服务对象满意度", rule="manual", comparison="qualitative",
        target_text="满意", weight=Decimal("20"), score=Decimal("20"), order=1,
    ))
    IndicatorResult.objects.bulk_create(rows)
    if scored:
        evaluation.budget_lines.filter(item="fiscal").update(
            initial_budget=Decimal("100"), adjusted_budget=Decimal("100"), executed=Decimal("100")
        )
        for row in evaluation.results.filter(rule="qualitative"):
            row.band, row.score = "achieved", row.weight
            row.save()
    for section in evaluation.sections.all():
        section.body = f"{section.title}的内容。"
        section.save()
    evaluation = Evaluation.objects.with_document_data().get(pk=evaluation.pk)
    evaluation.refresh_computed_scores()
    return evaluation


def make_project_framework(weighting="10", year=2024, **fields):
    """The year's project framework with a national weighting (created once per year)."""
    framework = make_framework(year)
    existing = ProjectFramework.objects.filter(framework=framework).first()
    return existing or ProjectFramework.objects.create_from_weighting(framework, weighting, **fields)


def make_project(evaluation, name=None, fiscal=(Decimal("100"), Decimal("100"), Decimal("100")), rows=None, **fields):
    """A project with its funds and rows given as (一级, 二级, 三级, comparison, target, actual, weight)."""
    project = Project.objects.create(
        evaluation=evaluation, name=name or f"测试项目{_next()}", supervising_department="主管部门",
        implementing_unit="实施单位", goal_expected="预期目标", goal_actual="实际完成情况",
        fiscal_initial=fiscal[0], fiscal_adjusted=fiscal[1], fiscal_executed=fiscal[2], **fields,
    )
    template = evaluation.framework.project_framework.template.filter(level=2).select_related("parent")
    categories = {(c.parent.name, c.name): c for c in template}
    rows = rows if rows is not None else [
        ("产出指标", "数量指标", "完成数量", ">=", Decimal("10"), Decimal("10"), Decimal("50")),
        ("效益指标", "社会效益指标", "受益人数", ">=", Decimal("100"), Decimal("100"), Decimal("30")),
        ("满意度指标", "服务对象满意度指标", "满意度", ">=", Decimal("90"), Decimal("95"), Decimal("10")),
    ]
    ProjectIndicator.objects.bulk_create(
        ProjectIndicator(project=project, category=categories[(top, cat)], name=name, comparison=comparison,
                         target_value=target, actual_value=actual, weight=weight, order=n)
        for n, (top, cat, name, comparison, target, actual, weight) in enumerate(rows)
    )
    project = Project.objects.with_table_data().get(pk=project.pk)
    project.refresh_scores()
    return project


# What `load_demo` wrote, per set of arguments, with the database it started from: {args: (before, after)}.
_DEMO_WRITES = {}


def _tables():
    """{table: {primary key: row}} of every table, read as the database stores it."""
    with connection.cursor() as cursor:
        names = sorted(connection.introspection.table_names(cursor))
        contents = {}
        for table in names:
            pk = connection.introspection.get_primary_key_column(cursor, table)
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            columns = [c[0] for c in cursor.description]
            at = columns.index(pk)
            contents[table] = (pk, columns, {row[at]: row for row in cursor.fetchall()})
    return contents


def load_demo(*args):
    """`manage.py load_demo *args` in the test's transaction (DEBUG on, as the command asks).

    The command is deterministic, so on SQLite it runs once per set of arguments: its writes are kept and, in a later
    test whose database holds exactly what the first one's did before the command, written back as they were
    (same rows, same keys) in a few milliseconds instead of the command's second (`--peers`). Anywhere else (a
    database that differs, PostgreSQL) the command runs."""
    if connection.vendor != "sqlite":
        call_command("load_demo", *args, stdout=io.StringIO())
        return
    before = _tables()
    known = _DEMO_WRITES.get(args)
    if known is not None and known[0] == before:
        _write_back(before, known[1])
        return
    call_command("load_demo", *args, stdout=io.StringIO())
    _DEMO_WRITES[args] = (before, _tables())


def _write_back(before, after):
    with connection.cursor() as cursor:
        for table, (pk, columns, rows) in after.items():
            old = before.get(table, (pk, columns, {}))[2]
            gone = [key for key, row in old.items() if rows.get(key) != row]
            new = [row for key, row in rows.items() if old.get(key) != row]
            name = connection.ops.quote_name(table)
            if gone:
                cursor.executemany(f"DELETE FROM {name} WHERE {connection.ops.quote_name(pk)} = %s",
                                   [(key,) for key in gone])
            if new:
                cursor.executemany(
                    f"INSERT INTO {name} ({', '.join(map(connection.ops.quote_name, columns))}) "
                    f"VALUES ({', '.join(['%s'] * len(columns))})", new)


def from_the_demo(django_db_blocker, tmp_path_factory, make):
    """`make(evaluation)` of the demo's evaluation, for a module-scoped fixture: what several tests read back is made
    once. The demo is loaded in a transaction rolled back at once, with every test's settings (conftest.py)."""
    base = tmp_path_factory.getbasetemp()
    with django_db_blocker.unblock(), override_settings(
        DEBUG=True, PASSWORD_HASHERS=FAST_PASSWORD_HASHERS, MEDIA_ROOT=base / "media", PDF_RENDER_LOCK_DIR=base / "locks"
    ), transaction.atomic():
        load_demo()
        made = make(Evaluation.objects.with_document_data().get(unit__code="440113-HLZ", framework__year=2024))
        transaction.set_rollback(True)
    return made
