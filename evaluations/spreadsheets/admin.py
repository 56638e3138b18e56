"""The admin's Excel import and export: the file is checked before any row is read, and an .xlsx is read once."""

import json

import tablib
from import_export.admin import ImportExportMixin
from import_export.formats import base_formats
from import_export.forms import ImportForm

from evaluations import access
from evaluations.spreadsheets import uploads


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
        problems = uploads.check_upload(upload, kind)
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
