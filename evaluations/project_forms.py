"""Forms of the project pages: the shape of what is typed (evaluations/forms.py's field rules: finite decimals,
normalised and bounded text). Meaning is checked by the models' clean(); saving goes through editing.py."""

from django import forms
from django.conf import settings
from django.forms import BaseModelFormSet, modelformset_factory

from evaluations import text
from evaluations.forms import EditPageForm, _style, form_field
from evaluations.models import Project, ProjectIndicator, ProjectTemplateIndicator

FUND_FIELDS = [f"{source}_{column}" for source in ("fiscal", "carryover", "other")
               for column in ("initial", "adjusted", "executed")]
HEADER_FIELDS = ["name", "code", "supervising_department", "implementing_unit"]
GOAL_LIMIT = 2000  # 年度总体目标 and the 执行率 note, as the 预算执行情况说明 (text.BUDGET_NOTE_LIMIT)


def _bounded(db_field, **kwargs):
    if db_field.name in ("goal_expected", "goal_actual", "execution_note"):
        kwargs.setdefault("max_length", GOAL_LIMIT)
    if db_field.name == "deviation_reason":
        kwargs.setdefault("max_length", text.DEVIATION_REASON_LIMIT)
    return form_field(db_field, **kwargs)


class NewProjectForm(forms.ModelForm):
    """A project added by hand: its header; funds, goals and indicators are filled on its page."""

    class Meta:
        model = Project
        fields = HEADER_FIELDS
        formfield_callback = _bounded

    def __init__(self, *args, evaluation, **kwargs):
        super().__init__(*args, **kwargs)
        self.evaluation = evaluation
        if not self.is_bound:
            unit = evaluation.unit
            self.initial.setdefault("supervising_department", unit.name)
            self.initial.setdefault("implementing_unit", unit.name)
        _style(self)

    def clean_name(self):
        name = self.cleaned_data["name"]
        if self.evaluation.projects.filter(name=name).exists():
            raise forms.ValidationError(f"本单位本年度已有项目“{name}”。")
        return name

    def clean_code(self):
        code = self.cleaned_data["code"]
        if code and self.evaluation.projects.filter(code=code).exists():
            raise forms.ValidationError(f"本单位本年度已有项目编码“{code}”。")
        return code


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = [*HEADER_FIELDS, *FUND_FIELDS, "goal_expected", "goal_actual", "execution_note"]
        formfield_callback = _bounded
        widgets = {
            "goal_expected": forms.Textarea(attrs={"rows": 3}),
            "goal_actual": forms.Textarea(attrs={"rows": 3}),
            "execution_note": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)

    def validate_unique(self):
        """The database says which name or code is taken, in Chinese (Django's message names the constraint)."""
        others = Project.objects.filter(evaluation_id=self.instance.evaluation_id).exclude(pk=self.instance.pk)
        name, code = self.cleaned_data.get("name"), self.cleaned_data.get("code")
        if name and others.filter(name=name).exists():
            self.add_error("name", f"本单位本年度已有项目“{name}”。")
        if code and others.filter(code=code).exists():
            self.add_error("code", f"本单位本年度已有项目编码“{code}”。")


ROW_FIELDS = [
    "category", "name", "comparison", "target_value", "target_text", "unit_of_measure", "actual_value", "actual_text",
    "weight", "method", "band", "score", "deviation_reason", "order",
]


class LoadedChoiceField(forms.ModelChoiceField):
    """A choice among objects already loaded (the template's 二级): a posted id is looked up among them, not in the
    database, so a save takes the same queries for 3 rows or 30."""

    def __init__(self, *args, objects=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.objects = {}
        self.set_objects(objects)

    def set_objects(self, objects):
        self.objects = {str(o.pk): o for o in objects}
        self.choices = [("", "请选择")] + [(o.pk, str(o)) for o in objects]

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return self.objects[str(value)]
        except KeyError:
            raise forms.ValidationError("请选择本年度项目支出指标体系中的二级指标。", code="invalid_choice") from None

    def validate(self, value):
        if self.required and value is None:
            raise forms.ValidationError(self.error_messages["required"], code="required")

    def has_changed(self, initial, data):
        return str(getattr(initial, "pk", initial) or "") != str(data or "")


class ProjectIndicatorForm(forms.ModelForm):
    order = forms.IntegerField(label="排序", required=False, min_value=0, max_value=2**31 - 1)

    class Meta:
        model = ProjectIndicator
        fields = ROW_FIELDS
        formfield_callback = _bounded
        widgets = {
            "deviation_reason": forms.Textarea(attrs={"rows": 2}),
            "target_text": forms.TextInput(attrs={"placeholder": "定性目标"}),
            "actual_text": forms.TextInput(attrs={"placeholder": "定性完成情况"}),
            "unit_of_measure": forms.TextInput(attrs={"size": 4}),
        }

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"] = LoadedChoiceField(
            label="二级指标", queryset=ProjectTemplateIndicator.objects.none(), objects=categories,
        )
        if self.instance.pk is None:
            self.empty_permitted = True
        # What a screen reader says for each cell: the row's name and the column (the table shows them apart).
        row = self.instance.name or "新增指标"
        for field in self.fields.values():
            field.widget.attrs.setdefault("aria-label", f"{row}{field.label}")
        _style(self)

    def clean_order(self):
        return self.cleaned_data.get("order") or 0


class BaseProjectRowFormSet(BaseModelFormSet):
    def __init__(self, *args, categories=(), **kwargs):
        self.categories = list(categories)
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "categories": self.categories}

    @property
    def empty_form(self):
        form = self.form(auto_id=self.auto_id, prefix=self.add_prefix("__prefix__"), empty_permitted=True,
                         use_required_attribute=False, categories=self.categories)
        self.add_fields(form, None)
        return form


ProjectRowFormSet = modelformset_factory(
    ProjectIndicator, form=ProjectIndicatorForm, formset=BaseProjectRowFormSet, extra=2, can_delete=True,
)


class ProjectContentForm:
    """The project form and its rows together, and the edits they make (for editing.save_project)."""

    def __init__(self, project, template, data=None):
        self.project = project
        categories = sorted((t for t in template if t.level == 2), key=lambda c: (c.parent.order, c.order, c.pk))
        self.header = ProjectForm(data, instance=project, prefix="project")
        self.rows = ProjectRowFormSet(data, queryset=project.indicators.all(), prefix="rows", categories=categories)

    def is_valid(self):
        header_ok = self.header.is_valid()
        rows_ok = self.rows.is_valid()
        return header_ok and rows_ok

    def kept_rows(self):
        """The rows as they would be after saving (existing and new, without those marked for removal)."""
        kept = []
        for form in self.rows.forms:
            if self._deleted(form) or (form.instance.pk is None and not form.has_changed()):
                continue
            kept.append(form.instance)
        return kept

    def _deleted(self, form):
        return form.instance.pk is not None and bool(getattr(form, "cleaned_data", {}).get("DELETE"))

    def changes(self):
        edits, created, deleted = [], [], []
        if self.header.changed_data:
            edits.append((self.header.instance, {n: self.header.initial.get(n) for n in self.header.changed_data}))
        for form in self.rows.forms:
            if self._deleted(form):
                deleted.append(form.instance)
            elif form.instance.pk is None:
                if form.has_changed():
                    created.append(form.instance)
            elif form.changed_data:
                edits.append((form.instance, {
                    n: (form.initial.get(n) if n != "category" else self._category(form.initial.get(n)))
                    for n in form.changed_data if n != "DELETE"
                }))
        return {"edits": edits, "created": created, "deleted": deleted}

    def created_and_deleted(self):
        changes = self.changes()
        return {"created": changes["created"], "deleted": changes["deleted"]}

    def _editable_fields(self):
        """(object, [field names], form) for every field of the project and its saved rows the page may change."""
        pairs = [(self.header.instance, [n for n in self.header.fields if n in self.header._meta.fields], self.header)]
        for form in self.rows.forms:
            if form.instance.pk is not None and not (self.rows.is_bound and self._deleted(form)):
                category = self._category(form.instance.category_id)
                if category is not None and not ProjectIndicator.category.is_cached(form.instance):
                    form.instance.category = category  # the 二级 already loaded, not a query per row
                pairs.append((form.instance, [n for n in form.fields if n in form._meta.fields], form))
        return pairs

    def token_fields(self):
        """For editing.project_page_token: what the page was opened with."""
        return [(obj, names) for obj, names, _form in self._editable_fields()]

    def proposals(self):
        """For editing.save_project_page: (object holding what was posted, {field: value stored when loaded})."""
        return [
            (obj, {n: (self._category(form.initial.get(n)) if n == "category" else form.initial.get(n)) for n in names})
            for obj, names, form in self._editable_fields()
        ]

    def _category(self, pk):
        return next((c for c in self.rows.categories if c.pk == pk), None)


class ProjectPageForm(EditPageForm):
    """What the edit page posts beside the project's content: the token it was opened with and the choices made in
    the conflict box, as the evaluation's edit page (EditPageForm; editing.save_project_page merges). A missing or
    garbled token counts as a stale page, so the save is refused, never applied blind."""


class ProjectDeleteForm(forms.Form):
    """The page's 确认删除 box posts "1"; nothing else deletes."""

    confirm = forms.ChoiceField(choices=[("1", "确认删除")], error_messages=dict.fromkeys(
        ("required", "invalid_choice"), "请勾选“确认删除”后再删除项目。"))


class ProjectEvidenceForm(forms.Form):
    """佐证材料 for a project or one of its rows: the file is checked by evaluations.evidence (type by content, size);
    the row is chosen among the project's own rows, already loaded (a posted id of another project's row is refused)."""

    file = forms.FileField(label="上传文件", error_messages={"required": "请选择要上传的文件。"})
    row = forms.ChoiceField(label="对应指标（可选）", required=False)

    def __init__(self, *args, project, rows, types="", **kwargs):
        kwargs.setdefault("auto_id", "evidence-%s")  # apart from the comment form's ids on the same page
        super().__init__(*args, **kwargs)
        self.project = project
        self.rows_by_pk = {str(r.pk): r for r in rows if r.pk is not None}
        self.fields["row"].choices = [("", "（整个项目）")] + [(pk, r.name) for pk, r in self.rows_by_pk.items()]
        self.fields["row"].error_messages["invalid_choice"] = "所选指标不属于这个项目，请刷新页面后重新选择。"
        self.fields["file"].help_text = f"{types}，不超过 {settings.EVIDENCE_MAX_SIZE // 1024 // 1024} MB。"
        self.fields["file"].widget.attrs.update(accept=".pdf,.docx,.xlsx,.jpg,.jpeg,.png", **{"class": "form-control form-control-sm"})
        _style(self)

    def clean_row(self):
        return self.rows_by_pk.get(self.cleaned_data["row"])
