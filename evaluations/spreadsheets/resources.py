"""django-import-export resources: the admin's Excel / CSV columns, each declared once, headers in Chinese, and
what every import and export through them does (issue 5):

- the file is checked before any row is read (size, zip bomb, not a spreadsheet, formulas: `uploads.py`), and an
  .xlsx is read once, at upload: the preview and the confirm both import the rows kept from that reading
  (`admin.py`);
- headers are checked first: a missing or unknown column stops the import with one message naming them all;
- every row problem is collected (never the first one only), keyed by its Chinese column, with the row number as
  the spreadsheet shows it (the header is row 1);
- unknown units, years and indicators are reported, never created; duplicate rows are reported;
- all or nothing: one transaction, rolled back on any problem (also on the confirm step);
- exported text is neutralised against formula injection (`cells.neutralise`); only admins import or export.
"""

import logging
import re
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from import_export import fields, resources, widgets
from import_export.results import Error, Result

from evaluations import access, editing, scoring, workflow
from evaluations.models import (
    ActualSource,
    Comparison,
    Evaluation,
    Framework,
    Indicator,
    IndicatorResult,
    QualitativeBand,
    ScoringRule,
    Unit,
)
from evaluations.spreadsheets.cells import FRAMEWORK_ROW, UNIT_ROW, neutralise
from evaluations.spreadsheets.widgets import (
    COMPARISON_ALIASES,
    TextWidget,
    YesNoWidget,
    choice,
    number,
    text,
)
from evaluations.text import DEVIATION_REASON_LIMIT

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# The common behaviour
# ---------------------------------------------------------------------------------------------


class SpreadsheetResult(Result):
    """Row numbers as the spreadsheet shows them: the header is row 1, the first data row is row 2."""

    def append_invalid_row(self, number, row, validation_error):
        super().append_invalid_row(number + 1, row, validation_error)

    def append_error_row(self, number, row, errors):
        super().append_error_row(number + 1, row, errors)


class ProblemsFound(ValueError):
    """A file-level problem (headers, the framework as a whole): one message listing everything."""


UNEXPECTED = "导入时发生了意外错误，未导入任何数据。请检查文件内容，或把文件发给系统管理员。"


class ChineseError(Error):
    """An import error as the page shows it: our own messages as they are; anything else (a bug, a database
    error) as one Chinese sentence, logged with its traceback for the administrator, never shown."""

    def __init__(self, error, row=None, number=None):
        if not isinstance(error, ProblemsFound | workflow.WorkflowError):
            logger.error("Unexpected import error", exc_info=error)
            error = ProblemsFound(UNEXPECTED)
        super().__init__(error, row=row, number=number)

    @property
    def traceback(self):
        return ""


class ChineseResource(resources.ModelResource):
    #: Columns that must be present on import (Chinese headers). Export-only columns may be present and are ignored.
    required_columns = ()

    def get_result_class(self):
        return SpreadsheetResult

    def get_error_result_class(self):
        return ChineseError

    def export(self, queryset=None, **kwargs):
        dataset = super().export(queryset, **kwargs)
        dataset.title = self.sheet_title()  # not tablib's "Tablib Dataset"
        return dataset

    def sheet_title(self):
        # Excel allows 31 characters and none of []:*?/\ in a sheet's name.
        name = str(getattr(self._meta, "name", "") or self._meta.model._meta.verbose_name)
        return re.sub(r"[\[\]:*?/\\（）()]", "", name.split("（")[0])[:31] or "数据"

    def import_data(self, dataset, dry_run=False, raise_errors=False, use_transactions=None,
                    collect_failed_rows=False, rollback_on_validation_errors=False, **kwargs):
        # All or nothing, also on the confirm step: a row that fails validation rolls everything back.
        return super().import_data(
            dataset, dry_run=dry_run, raise_errors=raise_errors, use_transactions=True,
            collect_failed_rows=collect_failed_rows, rollback_on_validation_errors=True, **kwargs,
        )

    # --- headers ---------------------------------------------------------------------------------

    def known_columns(self):
        return {f.column_name for f in self.fields.values()}

    def before_import(self, dataset, **kwargs):
        dataset.headers = [str(h or "").strip() for h in (dataset.headers or [])]
        headers = [h for h in dataset.headers if h]
        problems = []
        missing = [c for c in self.required_columns if c not in headers]
        if missing:
            problems.append("缺少必需的列：" + "、".join(f"“{c}”" for c in missing) + "。")
        unknown = [h for h in headers if h not in self.known_columns()]
        if unknown:
            problems.append("无法识别的列：" + "、".join(f"“{c}”" for c in unknown) + "（请使用导出的模板，表头不要改动）。")
        repeated = sorted({h for h in headers if headers.count(h) > 1})
        if repeated:
            problems.append("列名重复：" + "、".join(f"“{c}”" for c in repeated) + "。")
        if problems:
            del dataset[0:len(dataset)]  # no row is read against headers that are wrong
            raise ProblemsFound("".join(problems))
        self._seen_keys = {}
        self.prepare(dataset)

    def prepare(self, dataset):
        """Load what the rows refer to, once per file (not once per row)."""

    # --- rows ------------------------------------------------------------------------------------

    def row_key(self, row):
        """What makes a row unique in the file; a second row with the same key is reported."""
        return None

    def before_import_row(self, row, row_number=None, **kwargs):
        self._row_problems = {}
        key = self.row_key(row)
        if key is not None and all(key):
            first = self._seen_keys.setdefault(key, row_number)
            if first != row_number:
                self._row_problems[NON_FIELD_ERRORS] = [f"与第 {first + 1} 行重复。"]
        self.resolve(row)

    def resolve(self, row):
        """Look up what the row refers to; add to self._row_problems what cannot be found."""

    def problem(self, column, message):
        self._row_problems.setdefault(column, []).append(message)

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as e:
            errors = e.update_error_dict(errors)
        for key, messages in self._row_problems.items():
            errors.setdefault(key, []).extend(ValidationError(m) for m in messages)
        if errors:
            raise ValidationError(errors)

    def row_checks(self, instance):
        """Checks that need the whole row (after the fields are set). Returns {column: message}."""
        return {}

    #: Relations the resource resolved itself from its caches: not looked up again, row by row, by full_clean.
    clean_exclude = ()
    check_unique = False

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        if not any(k in errors for k in self._row_problems):  # the row refers to something unknown: say only that
            for attr, message in self.row_checks(instance).items():
                errors.setdefault(attr, []).append(ValidationError(message))
            try:
                # The model's own rules (e.g. scoring.row_errors: a score above its 分值) apply to every row.
                instance.full_clean(exclude=[*errors, *self.clean_exclude], validate_unique=self.check_unique)
            except ValidationError as e:
                errors = e.update_error_dict(errors)
        if errors:
            raise ValidationError(self._in_chinese_columns(errors))

    def _in_chinese_columns(self, errors):
        names = {}
        for name, field in self.fields.items():
            names[name] = field.column_name
            if field.attribute:
                names[field.attribute] = field.column_name
        out = {}
        for key, messages in errors.items():
            out.setdefault(names.get(key, key), []).extend(messages)
        return out

    # --- export ----------------------------------------------------------------------------------

    def export_field(self, field, instance, **kwargs):
        return neutralise(super().export_field(field, instance, **kwargs))





# ---------------------------------------------------------------------------------------------
# Units
# ---------------------------------------------------------------------------------------------


class UnitResource(ChineseResource):
    code = text("code", "单位编码", required=True, max_length=50)
    name = text("name", "单位全称", required=True, max_length=200)
    short_name = text("short_name", "简称", max_length=50)
    parent_code = fields.Field(column_name="上级单位编码", attribute=None, widget=TextWidget("上级单位编码"))

    required_columns = ("单位编码", "单位全称")
    clean_exclude = ("parent", "path")
    check_unique = True

    class Meta:
        model = Unit
        name = "单位"
        fields = ("code", "name", "short_name", "parent_code")
        import_id_fields = ("code",)
        skip_unchanged = True

    def dehydrate_parent_code(self, unit):
        return unit.parent.code if unit.parent_id else ""

    def prepare(self, dataset):
        self.units = {u.code: u for u in Unit.objects.all()}

    def row_key(self, row):
        return (TextWidget().clean(row.get("单位编码")),)

    def resolve(self, row):
        self._parent = None
        parent_code = TextWidget().clean(row.get("上级单位编码"))
        if parent_code:
            self._parent = self.units.get(parent_code)
            if self._parent is None:
                self.problem("上级单位编码", f"上级单位编码“{parent_code}”不存在（请先导入或新建上级单位，且放在本行之前）。")
            elif parent_code == TextWidget().clean(row.get("单位编码")):
                self.problem("上级单位编码", "上级单位不能是本单位。")

    def import_instance(self, instance, row, **kwargs):
        super().import_instance(instance, row, **kwargs)
        if "上级单位编码" in row:
            instance.parent = self._parent

    def after_save_instance(self, instance, row, **kwargs):
        self.units[instance.code] = instance  # later rows may name it as their parent

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("parent")


# ---------------------------------------------------------------------------------------------
# Users: names, units and roles; never passwords
# ---------------------------------------------------------------------------------------------


def _split(value):
    text_value = "" if value is None else str(value)
    for sep in ("，", "、", ";", "；"):
        text_value = text_value.replace(sep, ",")
    return [p.strip() for p in text_value.split(",") if p.strip()]


class UserResource(ChineseResource):
    username = text("username", "用户名", required=True, max_length=150)
    first_name = text("first_name", "姓名", max_length=150)
    email = text("email", "邮箱", max_length=254)
    is_active = fields.Field(attribute="is_active", column_name="启用", widget=YesNoWidget("启用"))
    roles = fields.Field(column_name="角色", attribute=None, widget=TextWidget("角色"))
    unit_codes = fields.Field(column_name="所属单位编码", attribute=None, widget=TextWidget("所属单位编码"))

    required_columns = ("用户名", "角色")
    clean_exclude = ("password",)
    check_unique = True

    class Meta:
        model = get_user_model()
        name = "用户"
        fields = ("username", "first_name", "email", "is_active", "roles", "unit_codes")
        import_id_fields = ("username",)

    def dehydrate_roles(self, user):
        return "，".join(g.name for g in user.groups.all())

    def dehydrate_unit_codes(self, user):
        return "，".join(u.code for u in user.filler_units.all())

    def filter_export(self, queryset, **kwargs):
        return queryset.prefetch_related("groups", "filler_units")

    def prepare(self, dataset):
        self.groups = {g.name: g for g in Group.objects.filter(name__in=access.ROLES)}
        self.units = {u.code: u for u in Unit.objects.all()}

    def row_key(self, row):
        return (TextWidget().clean(row.get("用户名")),)

    def resolve(self, row):
        self._roles, self._units = [], []
        for name in _split(row.get("角色")):
            if name in self.groups:
                self._roles.append(self.groups[name])
            else:
                self.problem("角色", f"角色“{name}”不存在，应为 " + "、".join(f"“{r}”" for r in access.ROLES) + "。")
        if not _split(row.get("角色")):
            self.problem("角色", "请填写“角色”。")
        for code in _split(row.get("所属单位编码")):
            if code in self.units:
                self._units.append(self.units[code])
            else:
                self.problem("所属单位编码", f"单位编码“{code}”不存在。")

    def before_save_instance(self, instance, row, **kwargs):
        if instance._state.adding:
            instance.set_unusable_password()  # passwords are never imported: new users set theirs by reset
        instance.is_staff = any(g.name == access.ADMIN for g in self._roles)

    def after_save_instance(self, instance, row, **kwargs):
        instance.groups.set(self._roles)
        if "所属单位编码" in row:
            instance.filler_units.set(self._units)


# ---------------------------------------------------------------------------------------------
# The yearly framework and its indicator tree
# ---------------------------------------------------------------------------------------------


class FrameworkResource(ChineseResource):
    year = number("year", "年度", min_value=Decimal(2000), max_value=Decimal(2100), places=0)
    name = text("name", "名称", required=True, max_length=200)
    excellent_min = number("excellent_min", "“优”最低分", max_value=Decimal(100))
    good_min = number("good_min", "“良”最低分", max_value=Decimal(100))
    pass_min = number("pass_min", "“中”最低分", max_value=Decimal(100))
    submission_deadline = fields.Field(
        attribute="submission_deadline", column_name="提交截止日期", widget=widgets.DateWidget("%Y-%m-%d")
    )

    required_columns = ("年度", "名称")

    class Meta:
        model = Framework
        name = "年度指标体系（年度、名称、等级分数线）"
        fields = ("year", "name", "excellent_min", "good_min", "pass_min", "submission_deadline")
        import_id_fields = ("year",)

    def row_key(self, row):
        return (str(row.get("年度") or "").strip(),)

    def get_instance(self, instance_loader, row):
        try:
            year = int(Decimal(str(row.get("年度")).strip()))
        except (InvalidOperation, ValueError, TypeError):
            return None
        return Framework.objects.filter(year=year).first()


class IndicatorResource(ChineseResource):
    """One row per indicator; its place in the tree is given by the names of its 一级/二级/三级 columns."""

    year = fields.Field(column_name="年度", attribute=None, widget=TextWidget("年度"))
    level1 = fields.Field(column_name="一级指标", attribute=None, widget=TextWidget("一级指标"))
    level2 = fields.Field(column_name="二级指标", attribute=None, widget=TextWidget("二级指标"))
    level3 = fields.Field(column_name="三级指标", attribute=None, widget=TextWidget("三级指标"))
    weight = number("weight", "分值", max_value=Decimal(100))
    order = number("order", "排序", max_value=Decimal(100000), places=0)
    accepts_unit_rows = fields.Field(
        attribute="accepts_unit_rows", column_name="单位可自设指标", widget=YesNoWidget("单位可自设指标")
    )
    rule = choice("rule", "计分方法", ScoringRule.choices)
    comparison = choice("comparison", "指标性质", Comparison.choices, aliases=COMPARISON_ALIASES)
    target_value = number("target_value", "年度指标值", max_value=Decimal("999999999999"))
    unit_of_measure = text("unit_of_measure", "度量单位", max_length=20)
    deduction_per_point = number("deduction_per_point", "每超1个百分点扣分", max_value=Decimal(100))
    actual_source = choice("actual_source", "实际完成值来源", ActualSource.choices)
    scoring_standard = text("scoring_standard", "评分标准")

    required_columns = ("年度", "一级指标", "二级指标", "三级指标", "分值")

    class Meta:
        model = Indicator
        name = "指标（年度指标体系的指标树）"
        fields = (
            "year", "level1", "level2", "level3", "weight", "order", "accepts_unit_rows", "rule", "comparison",
            "target_value", "unit_of_measure", "deduction_per_point", "actual_source", "scoring_standard",
        )
        import_id_fields = ()

    def export(self, queryset=None, **kwargs):
        if queryset is not None and queryset.model is Framework:
            queryset = Indicator.objects.filter(framework__in=queryset)
        return super().export(queryset, **kwargs)

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("framework", "parent__parent").order_by("framework__year", "level", "order", "pk")

    def _path(self, indicator):
        names = [indicator.name]
        node = indicator
        while node.parent_id:
            node = node.parent
            names.insert(0, node.name)
        return names + [""] * (3 - len(names))

    def dehydrate_year(self, indicator):
        return indicator.framework.year

    def dehydrate_level1(self, indicator):
        return self._path(indicator)[0]

    def dehydrate_level2(self, indicator):
        return self._path(indicator)[1]

    def dehydrate_level3(self, indicator):
        return self._path(indicator)[2]

    def prepare(self, dataset):
        self.frameworks = {str(f.year): f for f in Framework.objects.all()}
        self.nodes = {}  # (year, 一级, 二级, 三级) → Indicator
        for i in Indicator.objects.select_related("framework", "parent__parent"):
            self.nodes[(str(i.framework.year), *self._path(i))] = i
        self.touched = set()
        self.added_parents = {}  # pk → Indicator created for rows that name it as their parent

    def _key(self, row):
        year = TextWidget().clean(row.get("年度"))
        year = year[:-2] if year.endswith(".0") else year
        return (year, *(TextWidget().clean(row.get(c)) for c in ("一级指标", "二级指标", "三级指标")))

    def row_key(self, row):
        year, a, b, c = self._key(row)
        return (year, a, b or "-", c or "-")

    def resolve(self, row):
        year, l1, l2, l3 = self._key(row)
        self._framework, self._parent, self._level = self.frameworks.get(year), None, None
        if self._framework is None:
            self.problem("年度", f"{year or '（空）'} 年度的指标体系不存在，请先在“年度指标体系”中新建。")
            return
        if not l1:
            self.problem("一级指标", "请填写“一级指标”。")
            return
        if l3 and not l2:
            self.problem("二级指标", "填写了三级指标，也必须填写其所属的二级指标。")
            return
        self._level = 3 if l3 else 2 if l2 else 1
        if self._level > 1:
            parent_key = (year, l1, l2 if self._level == 3 else "", "")
            self._parent = self.nodes.get(parent_key) or self._add_parents(year, parent_key[1:3])

    def _add_parents(self, year, names):
        """The 一级/二级 indicators a row names that do not exist yet, created (as published 得分表 are laid out:
        one row per 三级 indicator with its 一级 and 二级 named on each row). Their 分值 is the sum of their
        children's, set after the import (after_import); a row naming them itself sets it instead."""
        names = [n for n in names if n]
        key = (year, *names, *[""] * (3 - len(names)))
        if key in self.nodes:
            return self.nodes[key]
        parent = self._add_parents(year, names[:-1]) if len(names) > 1 else None
        siblings = [n for k, n in self.nodes.items() if k[0] == year and n.parent_id == (parent.pk if parent else None)]
        node = Indicator.objects.create(
            framework=self._framework, parent=parent, level=len(names), name=names[-1], weight=Decimal(0),
            order=max((n.order for n in siblings), default=0) + 1,
        )
        self.nodes[key] = node
        self.added_parents[node.pk] = node
        self.touched.add(node.framework_id)
        return node

    def get_instance(self, instance_loader, row):
        return self.nodes.get(self._key(row))

    def init_instance(self, row=None):
        return Indicator()

    def import_instance(self, instance, row, **kwargs):
        super().import_instance(instance, row, **kwargs)
        year, *names = self._key(row)
        instance.framework, instance.parent, instance.level = self._framework, self._parent, self._level
        instance.name = names[(self._level or 1) - 1]

    def after_save_instance(self, instance, row, **kwargs):
        self.nodes[self._key(row)] = instance
        self.touched.add(instance.framework_id)
        self.added_parents.pop(instance.pk, None)  # named by a row of its own: its 分值 is the row's

    def after_import(self, dataset, result, **kwargs):
        if result.has_errors() or result.has_validation_errors():
            return
        for level in (2, 1):  # the parents created for the rows: 分值 the sum of their children's
            for node in [n for n in self.added_parents.values() if n.level == level]:
                node.weight = sum((c.weight for c in Indicator.objects.filter(parent=node)), Decimal(0))
                node.save(update_fields=["weight"])
        problems = []
        for framework in Framework.objects.filter(pk__in=self.touched):
            problems += [f"{framework.year} 年度：{e}" for e in scoring.framework_errors(framework.indicators.all())]
        if problems:
            raise ProblemsFound("导入后指标体系分值不平衡：" + "".join(problems))


# ---------------------------------------------------------------------------------------------
# Evaluations with their rows (one row per 三级指标 of a unit's 自评表)
# ---------------------------------------------------------------------------------------------


class IndicatorResultResource(ChineseResource):
    unit_code = fields.Field(column_name="单位编码", attribute=None, widget=TextWidget("单位编码"))
    unit_name = fields.Field(column_name="单位名称", attribute=None, readonly=True)
    year = fields.Field(column_name="年度", attribute=None, widget=TextWidget("年度"))
    level1 = fields.Field(column_name="一级指标", attribute=None, readonly=True)
    category_name = fields.Field(column_name="二级指标", attribute=None, widget=TextWidget("二级指标"))
    name = text("name", "三级指标", required=True, max_length=200)
    kind = fields.Field(column_name="指标类型", attribute=None, widget=TextWidget("指标类型"))
    comparison = choice("comparison", "指标性质", Comparison.choices, aliases=COMPARISON_ALIASES)
    target_value = number("target_value", "年度指标值", max_value=Decimal("999999999999"))
    target_text = text("target_text", "年度指标值（定性）", max_length=200)
    unit_of_measure = text("unit_of_measure", "度量单位", max_length=20)
    actual_value = number("actual_value", "实际完成值", max_value=Decimal("999999999999"))
    actual_text = text("actual_text", "实际完成情况（定性）", max_length=500)
    weight = number("weight", "分值", max_value=Decimal(100))
    rule = choice("rule", "计分方法", ScoringRule.choices)
    deduction_per_point = number("deduction_per_point", "每超1个百分点扣分", max_value=Decimal(100))
    band = choice("band", "定性评价", QualitativeBand.choices)
    score = number("score", "得分", max_value=Decimal(100))
    deviation_reason = text("deviation_reason", "偏差原因分析及改进措施", max_length=DEVIATION_REASON_LIMIT)
    order = number("order", "排序", max_value=Decimal(100000), places=0)

    required_columns = ("单位编码", "年度", "二级指标", "三级指标", "分值")

    class Meta:
        model = IndicatorResult
        name = "自评指标得分（每行一个三级指标）"
        fields = (
            "unit_code", "unit_name", "year", "level1", "category_name", "name", "kind", "comparison", "target_value",
            "target_text", "unit_of_measure", "actual_value", "actual_text", "weight", "rule", "deduction_per_point",
            "band", "score", "deviation_reason", "order",
        )
        import_id_fields = ()
        use_bulk = True  # rows are validated one by one, then written 1,000 at a time
        batch_size = 1000
        # A row-by-row diff of thousands of rows is unreadable and costs a deep copy per row; the preview still
        # lists every problem with its values, and the counts of new and changed rows.
        skip_diff = True

    clean_exclude = ("evaluation", "category", "indicator")

    def get_bulk_update_fields(self):
        return [f.attribute for f in self.get_import_fields() if f.attribute and not f.readonly]

    # --- export ------------------------------------------------------------------------------------

    def export(self, queryset=None, **kwargs):
        if queryset is not None and queryset.model is Evaluation:
            queryset = IndicatorResult.objects.filter(evaluation__in=queryset.order_by())
        return super().export(queryset, **kwargs)

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related(
            "evaluation__unit", "evaluation__framework", "category__parent"
        ).order_by("evaluation__framework__year", "evaluation__unit__code", "category__parent__order",
                   "category__order", "order", "pk")

    def dehydrate_unit_code(self, row):
        return row.evaluation.unit.code

    def dehydrate_unit_name(self, row):
        return row.evaluation.unit.name

    def dehydrate_year(self, row):
        return row.evaluation.framework.year

    def dehydrate_level1(self, row):
        return row.category.parent.name if row.category.parent_id else ""

    def dehydrate_category_name(self, row):
        return row.category.name

    def dehydrate_kind(self, row):
        return UNIT_ROW if row.is_unit_row else FRAMEWORK_ROW

    # --- import ------------------------------------------------------------------------------------

    def prepare(self, dataset):
        codes = {TextWidget().clean(c) for c in dataset["单位编码"]}
        self.units = {u.code: u for u in Unit.objects.filter(code__in=codes)}
        self.frameworks = {str(f.year): f for f in Framework.objects.all()}
        self.categories, self.indicators = {}, {}
        for i in Indicator.objects.filter(level__in=(2, 3)).select_related("framework"):
            if i.level == 2:
                self.categories[(i.framework_id, i.name)] = i
            else:
                self.indicators[(i.parent_id, i.name)] = i
        self.evaluations = {
            (e.unit_id, e.framework_id): e
            for e in Evaluation.objects.filter(unit__in=self.units.values()).select_related("framework")
        }
        self.pending = {}  # evaluation id → editing.ContentChange: written together by after_import
        self.results = {}
        for r in IndicatorResult.objects.filter(evaluation__in=self.evaluations.values()):
            key = (r.evaluation_id, "i", r.indicator_id) if r.indicator_id else (r.evaluation_id, "u", r.category_id, r.name)
            self.results.setdefault(key, r)
        self.touched = set()

    def _key(self, row):
        year = TextWidget().clean(row.get("年度"))
        year = year[:-2] if year.endswith(".0") else year
        return (TextWidget().clean(row.get("单位编码")), year, TextWidget().clean(row.get("二级指标")),
                TextWidget().clean(row.get("三级指标")))

    def row_key(self, row):
        return self._key(row)

    def resolve(self, row):
        code, year, category_name, name = self._key(row)
        self._evaluation = self._category = self._indicator = None
        unit = self.units.get(code)
        framework = self.frameworks.get(year)
        if not code:
            self.problem("单位编码", "请填写“单位编码”。")
        elif unit is None:
            self.problem("单位编码", f"单位编码“{code}”不存在（导入不会新建单位，请先在“单位”中新建）。")
        if framework is None:
            self.problem("年度", f"{year or '（空）'} 年度的指标体系不存在。")
            return
        self._category = self.categories.get((framework.pk, category_name))
        if self._category is None:
            self.problem("二级指标", f"二级指标“{category_name}”不在 {year} 年度指标体系中。")
            return
        kind = TextWidget().clean(row.get("指标类型"))
        if kind and kind not in (FRAMEWORK_ROW, UNIT_ROW):
            self.problem("指标类型", f"“指标类型”应为“{FRAMEWORK_ROW}”或“{UNIT_ROW}”，现为“{kind}”。")
        self._indicator = self.indicators.get((self._category.pk, name))
        if kind == FRAMEWORK_ROW and self._indicator is None:
            self.problem("三级指标", f"三级指标“{name}”不在 {year} 年度指标体系“{category_name}”下。")
        elif self._indicator is None and not self._category.accepts_unit_rows:
            self.problem("三级指标", f"三级指标“{name}”不在 {year} 年度指标体系“{category_name}”下，且该二级指标不允许单位自设指标。")
        if kind == UNIT_ROW:
            self._indicator = None
        if unit is None or self._row_problems:
            return
        evaluation = self.evaluations.get((unit.pk, framework.pk))
        if evaluation is not None and not evaluation.is_editable:  # imports change only what the unit may edit
            self.problem("单位编码", f"{unit.name} {year} 年的自评状态为“{evaluation.get_status_display()}”，不能通过导入修改。")
            return
        if evaluation is None:
            # The unit's evaluation of that year starts from the framework, as when created in the admin.
            evaluation = Evaluation.objects.start(unit=unit, framework=framework)
            self.evaluations[(unit.pk, framework.pk)] = evaluation
            for r in evaluation.results.all():
                self.results[(evaluation.pk, "i", r.indicator_id)] = r
        self._evaluation = evaluation

    def get_instance(self, instance_loader, row):
        if self._evaluation is None:
            return None
        if self._indicator is not None:
            return self.results.get((self._evaluation.pk, "i", self._indicator.pk))
        return self.results.get((self._evaluation.pk, "u", self._category.pk, self._key(row)[3]))

    def init_instance(self, row=None):
        # A framework row missing from the evaluation starts from the framework's defaults.
        defaults = self._indicator.row_defaults() if self._indicator is not None else {}
        return IndicatorResult(evaluation=self._evaluation, category=self._category, indicator=self._indicator, **defaults)

    def row_checks(self, row):
        # Manual and qualitative scores are checked by the model (scoring.row_errors); rule-scored rows here.
        message = scoring.stored_score_over_weight(row)
        return {"score": message} if message else {}

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        if instance.evaluation_id is None and not import_validation_errors and not self._row_problems:
            return
        super().validate_instance(instance, import_validation_errors, validate_unique)

    def import_instance(self, instance, row, **kwargs):
        # What the row held before the file's values are set: the history says old → new.
        fields = self.get_bulk_update_fields()
        self._before = {name: getattr(instance, name) for name in fields} if instance.pk else None
        super().import_instance(instance, row, **kwargs)

    def save_instance(self, instance, is_create, row, **kwargs):
        """Nothing is written row by row: every change goes, with the others of its evaluation, to
        editing.save_many in after_import (state check, conditional version bump, history, rule scores)."""
        change = self.pending.get(instance.evaluation_id)
        if change is None:
            change = self.pending[instance.evaluation_id] = editing.ContentChange(self._evaluation, [], [], [])
        if is_create:
            change.created.append(instance)
        else:
            old = {}
            for name, value in self._before.items():
                if name == "score" and scoring.is_rule_scored(instance.rule):
                    instance.score = value  # decided by the rule, stored after the import
                elif editing.as_text(value) != editing.as_text(getattr(instance, name)):
                    old[name] = value
            change.edits.append((instance, old))
        self.after_save_instance(instance, row, **kwargs)

    def after_save_instance(self, instance, row, **kwargs):
        if instance.indicator_id is None:
            self.results[(instance.evaluation_id, "u", instance.category_id, instance.name)] = instance

    def after_import(self, dataset, result, dry_run=False, user=None, **kwargs):
        pending = getattr(self, "pending", {})
        if result.has_errors() or result.has_validation_errors() or not pending:
            return
        changes = list(pending.values())
        before = editing.scorecards([c.evaluation.pk for c in changes])
        after = editing.save_many(changes, by=user, channel=editing.CHANNEL.ADMIN_IMPORT)
        # What the preview shows per evaluation: the total and grade before and after, and every change.
        result.content_summary = [
            {"evaluation": c.evaluation, "before": before.get(c.evaluation.pk), "after": after[c.evaluation.pk][0],
             "changes": after[c.evaluation.pk][1]}
            for c in sorted(changes, key=lambda c: c.evaluation.unit_id)
        ]
