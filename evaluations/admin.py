import copy

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.forms.models import construct_instance

from evaluations import editing, project_scoring, rule_packs, scoring, text, workflow
from evaluations.forms import FiniteDecimalField
from evaluations.models import (
    EDITABLE_STATUSES,
    ArchivedDocument,
    BudgetLine,
    DeductionReason,
    Evaluation,
    Event,
    Evidence,
    FieldChange,
    Framework,
    Indicator,
    IndicatorResult,
    NarrativeSection,
    Project,
    ProjectFramework,
    ProjectIndicator,
    ProjectTemplateIndicator,
    Recheck,
    RecheckEvent,
    Rectification,
    ResultConsequence,
    ReviewComment,
    ReviewerCharge,
    Unit,
)
from evaluations.spreadsheets.admin import ExcelAdminMixin
from evaluations.spreadsheets.resources import (
    FrameworkResource,
    IndicatorResource,
    IndicatorResultResource,
    UnitResource,
    UserResource,
)
from ops import login_throttle


class SafeAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete widget looks the submitted value up when a form comes back with errors; a value
    that is not an id (text, "1e309", a number past the column's range) would raise there: a 500 instead of
    the form's own error message (issue 7, tests/test_fuzz.py)."""

    def optgroups(self, name, value, attr=None):
        pk = self.field.remote_field.model._meta.pk
        valid = []
        for v in value:
            try:
                number = pk.to_python(v)
            except ValidationError:
                continue
            if number is None or -(2**63) <= number < 2**63:
                valid.append(v)
        return super().optgroups(name, valid, attr)


class SafeInputMixin:
    """Admin forms refuse non-finite decimals and non-numeric autocomplete ids with a form error, not a 500; their
    texts pass the same boundary as the pages' (evaluations/text.py: normalised, bounded)."""

    formfield_overrides = {
        models.DecimalField: {"form_class": FiniteDecimalField},
        models.CharField: {"form_class": text.TextField},
        models.TextField: {"form_class": text.TextField},
    }

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = SafeAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class OpenedVersionForm(forms.ModelForm):
    """An admin change form that carries the record's version as the page was opened: saving a record someone
    else changed meanwhile is refused with the form's error, never written over their change (as the edit pages'
    conflicts are, issue 13)."""

    opened_version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    record_label = "记录"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["opened_version"].initial = self.instance.version

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and cleaned.get("opened_version") != self.instance.version:
            raise ValidationError(
                f"您打开此页后，其他人修改了这份{self.record_label}（或页面不完整），本次保存未生效。"
                "请复制您的修改，刷新页面，核对后再保存。"
            )
        return cleaned


class EvaluationAdminForm(OpenedVersionForm):
    record_label = "自评"

    class Meta:
        model = Evaluation
        fields = ["unit", "framework", "budget_note"]


class SharedChoicesMixin:
    """Foreign-key dropdowns repeated on every inline row are read from the database once per request."""

    shared_choice_fields = ()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name in self.shared_choice_fields and field is not None:
            cache = request.__dict__.setdefault("_shared_choices", {})
            key = (type(self).__name__, db_field.name)
            if key not in cache:
                cache[key] = list(field.choices)
            field.choices = cache[key]
        return field


@admin.register(Unit)
class UnitAdmin(SafeInputMixin, ExcelAdminMixin, admin.ModelAdmin):
    resource_classes = [UnitResource]
    list_display = ["code", "name", "short_name", "parent"]
    list_select_related = ["parent"]
    search_fields = ["code", "name", "short_name"]
    list_filter = [("parent", admin.RelatedOnlyFieldListFilter)]
    autocomplete_fields = ["parent"]
    filter_horizontal = ["members"]

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)


# --- The framework --------------------------------------------------------------------------------


INDICATOR_FIELDS = [
    "parent", "level", "name", "weight", "order", "accepts_unit_rows", "rule", "comparison", "target_value",
    "unit_of_measure", "deduction_per_point", "actual_source", "scoring_standard",
]


class IndicatorInlineFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        kept = [
            form.instance
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.instance.name
        ]
        errors = scoring.framework_errors(kept)
        if errors:
            raise ValidationError(errors)


class IndicatorInline(SafeInputMixin, SharedChoicesMixin, admin.TabularInline):
    model = Indicator
    formset = IndicatorInlineFormSet
    fk_name = "framework"
    extra = 0
    shared_choice_fields = ("parent",)
    fields = INDICATOR_FIELDS

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "parent":
            framework_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = Indicator.objects.filter(framework_id=framework_id, level__lt=3).order_by("level", "order")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


RULE_PACK_FIELDS = [
    "scoring_basis", "execution_steps", "floor_rate", "satisfaction_steps", "deviation_enabled", "deviation_threshold",
    "deviation_deduction", "execution_caps_enabled", "execution_caps",
]


class FrameworkForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        changed = set(self.changed_data) & set(RULE_PACK_FIELDS)
        if changed and self.instance.pk and self.instance.evaluations.exclude(status__in=EDITABLE_STATUSES).exists():
            # Submitted and approved evaluations were scored under the rules they were sent with.
            raise ValidationError("本年度已有自评提交或通过，不能再修改计分规则；如确需修改，请先退回或重新打开这些自评。")
        return cleaned


@admin.register(Framework)
class FrameworkAdmin(SafeInputMixin, ExcelAdminMixin, admin.ModelAdmin):
    resource_classes = [IndicatorResource, FrameworkResource]
    list_display = ["year", "name", "excellent_min", "good_min", "pass_min", "submission_deadline"]
    search_fields = ["name"]
    inlines = [IndicatorInline]
    form = FrameworkForm

    @transaction.atomic
    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if set(form.changed_data) & set(RULE_PACK_FIELDS):
            # The rows' stored scores follow the rules just saved (only drafts and returned ones can be here).
            for evaluation in Evaluation.objects.with_scoring_data().filter(framework=form.instance):
                evaluation.refresh_computed_scores()


class IndicatorForm(forms.ModelForm):
    class Meta:
        model = Indicator
        fields = ["framework", *INDICATOR_FIELDS]

    def clean(self):
        cleaned = super().clean()
        if self.errors or not cleaned.get("framework"):
            return cleaned
        # The whole framework as it would be after this change must still add up.
        changed = construct_instance(self, copy.copy(self.instance))
        others = [i for i in changed.framework.indicators.all() if i.pk != changed.pk]
        errors = scoring.framework_errors([*others, changed])
        if errors:
            raise ValidationError([*errors, "如需同时调整多个分值，请在“年度指标体系”页面一并修改。"])
        return cleaned


@admin.register(Indicator)
class IndicatorAdmin(SafeInputMixin, ExcelAdminMixin, admin.ModelAdmin):
    resource_classes = [IndicatorResource]
    form = IndicatorForm
    list_display = ["name", "level", "parent", "weight", "rule", "framework"]
    list_select_related = ["parent", "framework"]
    list_filter = ["framework", "level", "rule"]
    search_fields = ["name"]
    autocomplete_fields = ["parent"]
    ordering = ["framework", "level", "order"]


# --- Evaluations ----------------------------------------------------------------------------------


class FrameworkRowsStayFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        for form in self.deleted_forms:
            if form.instance.pk and not form.instance.is_unit_row:
                raise ValidationError(f"体系内的指标“{form.instance.name}”不能删除，只能删除单位自设的指标。")


class IndicatorResultInline(SafeInputMixin, SharedChoicesMixin, admin.TabularInline):
    model = IndicatorResult
    formset = FrameworkRowsStayFormSet
    extra = 0
    shared_choice_fields = ("indicator", "category")
    fields = [
        "category", "indicator", "name", "comparison", "target_value", "target_text", "unit_of_measure",
        "actual_value", "actual_text", "weight", "rule", "deduction_per_point", "actual_source", "band", "score",
        "deviation_reason", "order",
    ]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        level = {"indicator": 3, "category": 2}.get(db_field.name)
        if level:
            kwargs["queryset"] = Indicator.objects.filter(level=level).select_related("framework")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class SkeletonInline:
    """Budget lines and sections come from the framework when the evaluation starts: edited, never added or removed."""

    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class BudgetLineInline(SafeInputMixin, SkeletonInline, admin.TabularInline):
    model = BudgetLine
    extra = 0
    max_num = 5


class NarrativeSectionInline(SafeInputMixin, SkeletonInline, admin.StackedInline):
    model = NarrativeSection
    extra = 0
    fields = ["kind", "indicator", "body", "points", "order"]
    raw_id_fields = ["indicator"]


@admin.register(Evaluation)
class EvaluationAdmin(SafeInputMixin, ExcelAdminMixin, admin.ModelAdmin):
    resource_classes = [IndicatorResultResource]
    list_display = ["unit", "year_display", "status", "total_score_display", "published_at", "updated_at"]
    list_select_related = ["unit", "framework"]
    list_filter = ["framework__year", "status", ("published_at", admin.EmptyFieldListFilter)]
    search_fields = ["unit__name", "unit__code", "unit__short_name"]
    readonly_fields = ["status", "version", "published_at", "created_at", "updated_at", "updated_by"]
    actions = ["publish_selected"]
    form = EvaluationAdminForm
    fields = ["unit", "framework", "budget_note", "opened_version", *readonly_fields]
    inlines = [BudgetLineInline, IndicatorResultInline, NarrativeSectionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user).with_total_score()

    @admin.display(description="年度", ordering="framework__year")
    def year_display(self, obj):
        return obj.framework.year

    @admin.display(description="综合得分", ordering="total_score_sum")
    def total_score_display(self, obj):
        return scoring.quantize(obj.total_score_sum) if obj.total_score_sum is not None else "—"

    @admin.action(description="公开所选的已通过自评（信息公开）")
    def publish_selected(self, request, queryset):
        done, refused = 0, []
        for evaluation in queryset.select_related("unit", "framework"):
            try:
                workflow.publish(evaluation, by=request.user)
                done += 1
            except workflow.WorkflowError as error:
                refused.append(f"{evaluation}：{error.message}")
        if done:
            self.message_user(request, f"已公开 {done} 份自评。", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.WARNING)

    def get_inlines(self, request, obj):
        # A new evaluation gets its rows, budget lines and sections from the framework on save.
        return self.inlines if obj else []

    def get_readonly_fields(self, request, obj=None):
        # Moving an evaluation to another unit or year is not an edit of its content.
        return [*self.readonly_fields, "unit", "framework"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            return  # content changes are written by save_related, through editing.save_content
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
        Evaluation.objects.add_skeleton(obj)

    def has_change_permission(self, request, obj=None):
        # Content changes only while the unit may edit too; an approved evaluation never changes (reopen it first).
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.is_editable)

    def save_related(self, request, form, formsets, change):
        if not change:
            super().save_related(request, form, formsets, change)
            Evaluation.objects.with_scoring_data().get(pk=form.instance.pk).refresh_computed_scores()
            return
        # One home for content writes: the changed fields, the new and the removed rows go to editing.save_content
        # (state check, conditional version bump, field history marked 系统管理, rule scores).
        edits = [(form.instance, {n: form.initial.get(n) for n in form.changed_data})]
        created, deleted = [], []
        for formset in formsets:
            # What the admin's own log (construct_change_message) reads from a formset it saved itself.
            formset.new_objects = [f.instance for f in formset.extra_forms
                                   if f.has_changed() and f not in formset.deleted_forms]
            formset.deleted_objects = [f.instance for f in formset.initial_forms if f in formset.deleted_forms]
            changed = [f for f in formset.initial_forms if f.changed_data and f not in formset.deleted_forms]
            formset.changed_objects = [(f.instance, f.changed_data) for f in changed]
            edits += [(f.instance, {n: f.initial.get(n) for n in f.changed_data}) for f in changed]
            created += formset.new_objects
            deleted += formset.deleted_objects
        try:
            editing.save_content(form.instance, by=request.user, channel=editing.CHANNEL.ADMIN,
                                 expected_version=form.cleaned_data["opened_version"], edits=edits, created=created,
                                 deleted=deleted)
        except workflow.WorkflowError as refused:
            self.message_user(request, f"未保存：{refused.message}", messages.ERROR)


class ReadOnlyAdmin(SafeInputMixin, admin.ModelAdmin):
    """The record is for reading: written only by the workflow and the edit page, never by hand, and shown only
    for the evaluations the user may see."""

    def get_queryset(self, request):
        return super().get_queryset(request).filter(
            evaluation__in=Evaluation.objects.visible_to(request.user)
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "evaluation", "action", "from_status", "to_status", "actor", "total_score"]
    list_select_related = ["evaluation__unit", "evaluation__framework", "actor"]
    list_filter = ["action", "to_status", "evaluation__framework__year"]
    search_fields = ["evaluation__unit__name", "actor__username", "reason"]
    date_hierarchy = "created_at"


@admin.register(FieldChange)
class FieldChangeAdmin(ReadOnlyAdmin):
    list_display = ["changed_at", "evaluation", "object_label", "field_label", "old_value", "new_value", "changed_by",
                    "channel"]
    list_select_related = ["evaluation__unit", "evaluation__framework", "changed_by"]
    search_fields = ["evaluation__unit__name", "object_label", "field_label"]
    list_filter = ["evaluation__framework__year", "channel"]


@admin.register(ReviewComment)
class ReviewCommentAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "evaluation", "target_label", "text", "author", "answer"]
    list_select_related = ["evaluation__unit", "evaluation__framework", "author", "result", "section__indicator", "project_row__project"]
    search_fields = ["evaluation__unit__name", "text", "answer"]

    @admin.display(description="针对")
    def target_label(self, obj):
        return obj.target_label


@admin.register(Evidence, ArchivedDocument)
class FileRecordAdmin(ReadOnlyAdmin):
    list_select_related = ["evaluation__unit", "evaluation__framework"]
    search_fields = ["evaluation__unit__name"]

    def get_list_display(self, request):
        return ["evaluation", "__str__", "size", "sha256"]


@admin.register(ReviewerCharge)
class ReviewerChargeAdmin(SafeInputMixin, admin.ModelAdmin):
    list_display = ["reviewer", "unit", "stage", "include_subunits"]
    list_select_related = ["reviewer", "unit"]
    autocomplete_fields = ["unit"]
    search_fields = ["reviewer__username", "unit__name"]


# Users keep Django's admin; the Excel columns are names, units and roles, never passwords.
admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class UserAdmin(SafeInputMixin, ExcelAdminMixin, auth_admin.UserAdmin):
    resource_classes = [UserResource]
    list_display = [*auth_admin.UserAdmin.list_display, "login_locked"]
    actions = ["unlock_login"]

    def get_queryset(self, request):
        return login_throttle.locked_out(super().get_queryset(request))

    @admin.display(description="登录已锁定", boolean=True, ordering="login_locked")
    def login_locked(self, user):
        return user.login_locked

    @admin.action(description="解锁登录（清除所选用户的密码错误记录）", permissions=["change"])
    def unlock_login(self, request, queryset):
        """A 管理员 (not only a superuser) unlocks users locked out by repeated wrong passwords; each unlock is
        written to the user's history in the admin (and to the log)."""
        for user in queryset:
            cleared = login_throttle.unlock(user, by=request.user)
            self.log_change(request, user, f"解锁登录（清除 {cleared} 条密码错误记录）")
        self.message_user(request, f"已解锁 {len(queryset)} 个用户的登录：{'、'.join(u.username for u in queryset)}。")


# --- Projects (issue 16) --------------------------------------------------------------------------


class ProjectTemplateInlineFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        kept = [f.instance for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.instance.name]
        errors = project_scoring.template_errors(kept, self.instance.execution_weight)
        if errors:
            raise ValidationError(errors)


class ProjectTemplateInline(SafeInputMixin, SharedChoicesMixin, admin.TabularInline):
    model = ProjectTemplateIndicator
    formset = ProjectTemplateInlineFormSet
    fk_name = "project_framework"
    extra = 0
    shared_choice_fields = ("parent",)
    fields = ["parent", "level", "name", "kind", "weight", "order"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "parent":
            kwargs["queryset"] = ProjectTemplateIndicator.objects.filter(
                project_framework_id=request.resolver_match.kwargs.get("object_id"), level=1
            ).order_by("order")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ProjectFrameworkForm(forms.ModelForm):
    weighting = forms.ChoiceField(
        label="指标模板", choices=[(key, w.label) for key, w in rule_packs.WEIGHTINGS.items()],
        help_text="新建时按所选国家权重生成一级、二级指标，之后可逐项调整。", required=False,
    )

    class Meta:
        model = ProjectFramework
        fields = [
            "framework", "name", "execution_weight", "scoring_basis", "floor_rate", "execution_steps",
            "satisfaction_steps", "deviation_enabled", "deviation_threshold", "deviation_deduction",
            "execution_caps_enabled", "execution_caps",
        ]


def _project_years_locked(project_framework):
    """Packages already submitted or approved were scored under these rules: they must not change under them."""
    return Project.objects.filter(
        evaluation__framework_id=project_framework.framework_id
    ).exclude(evaluation__status__in=EDITABLE_STATUSES).exists()


@admin.register(ProjectFramework)
class ProjectFrameworkAdmin(SafeInputMixin, admin.ModelAdmin):
    form = ProjectFrameworkForm
    list_display = ["year_display", "name", "execution_weight", "scoring_basis", "deviation_enabled", "execution_caps_enabled"]
    list_select_related = ["framework"]
    fieldsets = [
        (None, {"fields": ["framework", "name", "weighting", "execution_weight"]}),
        ("计分规则", {"fields": ["scoring_basis", "floor_rate", "execution_steps", "satisfaction_steps"]}),
        ("指标偏离", {"fields": ["deviation_enabled", "deviation_threshold", "deviation_deduction"]}),
        ("执行率封顶", {"fields": ["execution_caps_enabled", "execution_caps"]}),
    ]

    @admin.display(description="年度", ordering="framework__year")
    def year_display(self, obj):
        return obj.framework.year

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.fieldsets
        return [(name, {"fields": [f for f in opts["fields"] if f != "weighting"]}) for name, opts in self.fieldsets]

    def get_inlines(self, request, obj):
        return [ProjectTemplateInline] if obj else []

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or not _project_years_locked(obj))

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            obj.apply_weighting(form.cleaned_data.get("weighting") or "10")

    @transaction.atomic
    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # The stored scores of the year's projects follow the rules and weights just saved.
        for project in Project.objects.with_table_data().filter(evaluation__framework_id=form.instance.framework_id):
            project.refresh_scores()


class ProjectIndicatorInline(SafeInputMixin, SharedChoicesMixin, admin.TabularInline):
    model = ProjectIndicator
    extra = 0
    shared_choice_fields = ("category",)
    fields = [
        "category", "name", "comparison", "unit_of_measure", "target_value", "target_text", "actual_value",
        "actual_text", "weight", "method", "band", "score", "deviation_reason", "order",
    ]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "category":
            queryset = ProjectTemplateIndicator.objects.filter(level=2).select_related("parent", "project_framework")
            project = Project.objects.filter(pk=request.resolver_match.kwargs.get("object_id")).only("evaluation").first()
            if project is not None:
                queryset = queryset.filter(project_framework__framework__evaluations=project.evaluation_id)
            kwargs["queryset"] = queryset.order_by("project_framework", "parent__order", "order")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ProjectAdminForm(OpenedVersionForm):
    record_label = "项目"

    class Meta:
        model = Project
        fields = [
            "evaluation", "name", "code", "supervising_department", "implementing_unit",
            *(f"{source}_{column}" for source in ("fiscal", "carryover", "other")
              for column in ("initial", "adjusted", "executed")),
            "execution_note", "goal_expected", "goal_actual", "order",
        ]

    def clean_evaluation(self):
        evaluation = self.cleaned_data["evaluation"]
        if not ProjectFramework.objects.filter(framework_id=evaluation.framework_id).exists():
            raise ValidationError(f"{evaluation.year}年度尚未设置项目支出指标体系，请先在“项目支出指标体系”中新建。")
        if self.instance.pk and evaluation.pk != self.instance.evaluation_id:
            raise ValidationError("项目不能移到另一份自评。")
        if evaluation.status not in EDITABLE_STATUSES:
            raise ValidationError(f"该自评当前为“{evaluation.get_status_display()}”，不能添加或修改项目。")
        return evaluation


@admin.register(Project)
class ProjectAdmin(SafeInputMixin, admin.ModelAdmin):
    form = ProjectAdminForm
    list_display = ["name", "unit_display", "year_display", "code", "status_display", "total_score", "grade_display", "is_demo"]
    list_select_related = ["evaluation__unit", "evaluation__framework"]
    list_filter = ["evaluation__framework__year", "evaluation__status", "is_demo"]
    search_fields = ["name", "code", "evaluation__unit__name"]
    autocomplete_fields = ["evaluation"]
    readonly_fields = ["execution_score", "total_score", "is_demo", "copied_from", "version", "updated_at", "updated_by"]
    inlines = [ProjectIndicatorInline]

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    @admin.display(description="单位", ordering="evaluation__unit__code")
    def unit_display(self, obj):
        return obj.evaluation.unit.short_name or obj.evaluation.unit.name

    @admin.display(description="年度", ordering="evaluation__framework__year")
    def year_display(self, obj):
        return obj.evaluation.framework.year

    @admin.display(description="状态", ordering="evaluation__status")
    def status_display(self, obj):
        return obj.evaluation.get_status_display()

    @admin.display(description="等级")
    def grade_display(self, obj):
        return obj.grade or "—"

    def _editable(self, obj):
        return obj is None or obj.evaluation.status in EDITABLE_STATUSES

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._editable(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._editable(obj)

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        if change:
            obj.version += 1
        super().save_model(request, obj, form, change)

    @transaction.atomic
    def save_related(self, request, form, formsets, change):
        project = form.instance
        edits = [(project, {n: form.initial.get(n) for n in form.changed_data})] if change else []
        for formset in formsets:
            edits += [(f.instance, {n: f.initial.get(n) for n in f.changed_data}) for f in formset.initial_forms
                      if f.changed_data and f not in formset.deleted_forms]
        super().save_related(request, form, formsets, change)
        Evaluation.objects.filter(pk=project.evaluation_id).update(version=models.F("version") + 1)
        version = Evaluation.objects.values_list("version", flat=True).get(pk=project.evaluation_id)
        history = editing.field_changes(project.evaluation, edits, by=request.user, version=version)
        if not change:
            history.append(FieldChange(
                evaluation=project.evaluation, object_label=f"项目“{project.name}”", field_label="新增项目",
                new_value=project.name, changed_by=request.user, version=version,
            ))
        FieldChange.objects.bulk_create(history)
        Project.objects.with_table_data().get(pk=project.pk).refresh_scores()


# --- 复核 and 结果应用 -------------------------------------------------------------------------------
# Admins keep the libraries (standard deduction reasons, what each grade means); the 复核 themselves, their
# scores, 整改 items and their record are written only by evaluations.rechecks and are read here.


@admin.register(DeductionReason)
class DeductionReasonAdmin(SafeInputMixin, admin.ModelAdmin):
    list_display = ["text", "is_active", "order"]
    list_editable = ["is_active", "order"]
    search_fields = ["text"]

    def has_delete_permission(self, request, obj=None):
        return False  # used by past 复核: retire a reason with 可选用 instead


@admin.register(ResultConsequence)
class ResultConsequenceAdmin(SafeInputMixin, admin.ModelAdmin):
    list_display = ["framework", "grade", "tier", "text"]
    list_select_related = ["framework"]
    list_filter = ["framework__year", "grade"]


@admin.register(Recheck)
class RecheckAdmin(ReadOnlyAdmin):
    list_display = ["evaluation", "status", "drafted_by", "confirmed_by", "total_score", "grade", "answer_deadline"]
    list_select_related = ["evaluation__unit", "evaluation__framework", "drafted_by", "confirmed_by"]
    list_filter = ["status", "evaluation__framework__year"]
    search_fields = ["evaluation__unit__name"]


@admin.register(Rectification)
class RectificationAdmin(ReadOnlyAdmin):
    list_display = ["evaluation", "problem", "deadline", "state", "answered_at", "closed_at"]
    list_select_related = ["evaluation__unit", "evaluation__framework"]
    list_filter = ["state", "evaluation__framework__year"]
    search_fields = ["evaluation__unit__name", "problem", "answer"]


@admin.register(RecheckEvent)
class RecheckEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "evaluation", "action", "from_status", "to_status", "actor", "total_score"]
    list_select_related = ["evaluation__unit", "evaluation__framework", "actor"]
    list_filter = ["action", "evaluation__framework__year"]
    search_fields = ["evaluation__unit__name", "reason"]
