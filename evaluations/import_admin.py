"""How every admin import and export behaves (issue 5); the column lists themselves are in `resources.py`.

- the file is checked before any row is read (size, zip bomb, not a spreadsheet, formulas: `workbooks.py`), and an
  .xlsx is read once, at upload: the preview and the confirm both import the rows kept from that reading;
- headers are checked first: a missing or unknown column stops the import with one message naming them all;
- every row problem is collected (never the first one only), keyed by its Chinese column, with the row number as
  the spreadsheet shows it (the header is row 1);
- unknown units, years and indicators are reported, never created; duplicate rows are reported;
- all or nothing: one transaction, rolled back on any problem (also on the confirm step);
- exported text is neutralised against formula injection (`exports.neutralise`); only admins import or export.
"""

import json
from decimal import Decimal, InvalidOperation

import tablib
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import connections, router
from import_export import fields, resources, widgets
from import_export.admin import ImportExportMixin
from import_export.formats import base_formats
from import_export.forms import ImportForm
from import_export.results import Result

from evaluations import access, scoring, workbooks
from evaluations.exports import neutralise, unneutralise

# ---------------------------------------------------------------------------------------------
# Widgets with Chinese messages
# ---------------------------------------------------------------------------------------------


class NumberWidget(widgets.Widget):
    """A decimal with a range: "abc" and out-of-range values are reported in Chinese, never a traceback."""

    def __init__(self, label, min_value=Decimal("0"), max_value=None, places=2):
        super().__init__(coerce_to_string=False)
        self.label, self.min_value, self.max_value, self.places = label, min_value, max_value, places

    def clean(self, value, row=None, **kwargs):
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, bool):
            raise ValueError(f"“{self.label}”应为数字，现为“{value}”。")
        try:
            number = Decimal(str(value).strip().replace(",", "").replace("，", ""))
        except (InvalidOperation, ValueError):
            raise ValueError(f"“{self.label}”应为数字，现为“{value}”。") from None
        if not number.is_finite():
            raise ValueError(f"“{self.label}”应为数字，现为“{value}”。")
        if (self.min_value is not None and number < self.min_value) or (
            self.max_value is not None and number > self.max_value
        ):
            upper = f"到 {scoring.plain(self.max_value)}" if self.max_value is not None else "以上"
            raise ValueError(f"“{self.label}”应在 {scoring.plain(self.min_value)} {upper}之间，现为 {scoring.plain(number)}。")
        if number != number.quantize(Decimal(1).scaleb(-self.places)):
            raise ValueError(f"“{self.label}”最多保留 {self.places} 位小数，现为 {number}。")
        return number

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else value


class ChoiceWidget(widgets.Widget):
    """Accepts the Chinese label (or the stored value); renders the label."""

    def __init__(self, label, choices, aliases=None, blank=True):
        super().__init__(coerce_to_string=True)
        self.label, self.blank = label, blank
        self.to_label = {str(v): str(lbl) for v, lbl in choices}
        self.to_value = {str(lbl): str(v) for v, lbl in choices} | {str(v): str(v) for v, _ in choices} | (aliases or {})

    def clean(self, value, row=None, **kwargs):
        text = unneutralise("" if value is None else str(value).strip())
        if not text:
            if self.blank:
                return ""
            raise ValueError(f"请填写“{self.label}”。")
        if text not in self.to_value:
            allowed = "、".join(f"“{lbl}”" for lbl in self.to_label.values() if lbl)
            raise ValueError(f"“{self.label}”应为 {allowed} 之一，现为“{text}”。")
        return self.to_value[text]

    def render(self, value, obj=None, **kwargs):
        return self.to_label.get(str(value or ""), str(value or ""))


class TextWidget(widgets.CharWidget):
    """Text as typed; a value we neutralised on export ("'=...") comes back as it was."""

    def __init__(self, label=None, required=False, max_length=None):
        super().__init__(coerce_to_string=True, allow_blank=True)
        self.label, self.required, self.max_length = label, required, max_length

    def clean(self, value, row=None, **kwargs):
        text = unneutralise("" if value is None else str(value).strip())
        if isinstance(value, float) and value.is_integer():  # 440113 typed as a number in Excel
            text = str(int(value))
        if self.required and not text:
            raise ValueError(f"请填写“{self.label}”。")
        if self.max_length and len(text) > self.max_length:
            raise ValueError(f"“{self.label}”最多 {self.max_length} 个字，现为 {len(text)} 个字。")
        return text


class YesNoWidget(widgets.Widget):
    def __init__(self, label):
        super().__init__(coerce_to_string=True)
        self.label = label

    def clean(self, value, row=None, **kwargs):
        text = "" if value is None else str(value).strip()
        if text in ("是", "1", "TRUE", "True", "true"):
            return True
        if text in ("", "否", "0", "FALSE", "False", "false"):
            return False
        raise ValueError(f"“{self.label}”应为“是”或“否”，现为“{text}”。")

    def render(self, value, obj=None, **kwargs):
        return "是" if value else "否"


def text(attribute, column, required=False, max_length=None, readonly=False):
    return fields.Field(
        attribute=attribute, column_name=column, readonly=readonly,
        widget=TextWidget(column, required=required, max_length=max_length),
    )


def number(attribute, column, **kwargs):
    return fields.Field(attribute=attribute, column_name=column, widget=NumberWidget(column, **kwargs))


def choice(attribute, column, choices, **kwargs):
    return fields.Field(attribute=attribute, column_name=column, widget=ChoiceWidget(column, choices, **kwargs))


COMPARISON_ALIASES = {">=": ">=", "<=": "<=", "≥": ">=", "≤": "<=", "定性": "qualitative"}


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


class ChineseResource(resources.ModelResource):
    #: Columns that must be present on import (Chinese headers). Export-only columns may be present and are ignored.
    required_columns = ()

    def get_result_class(self):
        return SpreadsheetResult

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


def problems_of(result):
    """Every problem of an import as one line each: "第 3 行“得分”：…" (for messages and tests)."""
    lines = [str(e.error) for e in result.base_errors]
    for number, errors in result.row_errors():
        lines.extend(f"第 {number} 行：{e.error}" for e in errors)
    for row in result.invalid_rows:
        for column, messages in row.field_specific_errors.items():
            lines.extend(f"第 {row.number} 行“{column}”：{m}" for m in messages)
        lines.extend(f"第 {row.number} 行：{m}" for m in row.non_field_specific_errors)
    return lines


def update_rows(instances, field_names):
    """Write changed rows with one UPDATE statement run for each (executemany): one query, compiled once.

    Django's bulk_update builds one CASE WHEN per column and row (79 s for 10,000 rows on SQLite) and save()
    compiles a query per row (about half the time of a 10,000-row admin import before this).
    """
    if not instances:
        return
    model = type(instances[0])
    meta = model._meta
    columns = [meta.get_field(name) for name in field_names]
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    sql = (f"UPDATE {quote(meta.db_table)} SET " + ", ".join(f"{quote(f.column)} = %s" for f in columns)
           + f" WHERE {quote(meta.pk.column)} = %s")
    params = [
        [f.get_db_prep_save(f.pre_save(obj, False), connection) for f in columns]
        + [meta.pk.get_db_prep_value(obj.pk, connection)]
        for obj in instances
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


# ---------------------------------------------------------------------------------------------
# The admin's import: the file is checked before any row is read, and read once
# ---------------------------------------------------------------------------------------------


class XLSX(base_formats.XLSX):
    """An .xlsx read once. At upload its rows are kept, as JSON, in the temporary file that the preview and the
    confirm both import; openpyxl takes about 3 s to read 10,000 rows × 20 columns, the JSON 0.1 s."""

    KEPT_ROWS = b'{"xlsx-rows":'

    def create_dataset(self, in_stream):
        if in_stream.startswith(self.KEPT_ROWS):
            kept = json.loads(in_stream)
            dataset = tablib.Dataset(headers=kept["headers"])
            for row in kept["rows"]:
                dataset.append(row)
            return dataset
        return super().create_dataset(in_stream)

    def keep_rows(self, data: bytes) -> bytes:
        """What the temporary file holds: the rows as JSON, or the file itself when it cannot be read (the preview
        then reports that as usual) or holds values JSON does not keep as they are (dates)."""
        try:
            dataset = self.create_dataset(data)
        except Exception:
            return data
        rows = [list(row) for row in dataset]
        plain = (str, int, float, bool, type(None))
        if not all(isinstance(v, plain) for row in [dataset.headers or [], *rows] for v in row):
            return data
        return json.dumps({"xlsx-rows": 1, "headers": dataset.headers, "rows": rows}, ensure_ascii=False).encode()


class SafeImportForm(ImportForm):
    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("import_file")
        fmt = cleaned.get("format")
        if upload is None or fmt in (None, ""):
            return cleaned
        title = str(dict(self.fields["format"].choices).get(str(fmt), "")).lower()
        kind = "csv" if "csv" in title else "xlsx"
        problems = workbooks.check_upload(upload, kind)
        if problems:
            self.add_error("import_file", problems)
        return cleaned


class _Kept:
    """The upload as the temporary storage writes it (django-import-export reads `chunks()`)."""

    def __init__(self, data):
        self.data = data

    def chunks(self):
        yield self.data


class ExcelAdminMixin(ImportExportMixin):
    """What every ModelAdmin with Excel import/export shares: .xlsx and .csv, checked files, admins only."""

    formats = [XLSX, base_formats.CSV]
    import_form_class = SafeImportForm
    import_error_display = ("message",)

    def has_import_permission(self, request):
        return access.is_admin(request.user)

    def has_export_permission(self, request):
        return access.is_admin(request.user)

    def write_to_tmp_storage(self, import_file, input_format):
        # Only a file SafeImportForm accepted gets here, so no formula, bomb or oversize file is read.
        if isinstance(input_format, XLSX):
            import_file = _Kept(input_format.keep_rows(b"".join(import_file.chunks())))
        return super().write_to_tmp_storage(import_file, input_format)
