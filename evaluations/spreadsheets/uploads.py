"""Excel in: checking an uploaded file as a whole before anything reads its rows.

A file is refused, with every reason in Chinese and nothing written, when it is too large, is not a spreadsheet,
unpacks to an enormous size (zip bomb), or holds formulas (issue 5). The unpacked size is checked from the zip's
own directory before openpyxl opens it; Python's zipfile never inflates an entry beyond its declared size, so a
lying directory cannot get past this either. `defusedxml` is installed, so openpyxl parses the XML safely.
"""

import io
import re
import zipfile

from django.conf import settings
from django.db import transaction
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

MB = 1024 * 1024
FORMULA_LIST_LIMIT = 20  # name this many formula cells, then count the rest


def unpacked_size(archive: zipfile.ZipFile) -> int:
    """What a zip's own directory says its entries unpack to, read before anything is inflated: the zip-bomb check
    of every upload (imports here, 佐证材料 in evidence.py). Python's zipfile never inflates an entry beyond its
    declared size, so a lying directory cannot get past it."""
    return sum(e.file_size for e in archive.infolist())


def write_or_preview(write, *, dry_run):
    """Run `write()` in one transaction; on a preview (`dry_run`) roll it back, so the preview has seen exactly what
    the import would do and the database holds nothing of it."""
    with transaction.atomic():
        write()
        if dry_run:
            transaction.set_rollback(True)


def read_all(upload) -> bytes:
    if isinstance(upload, bytes | bytearray):
        return bytes(upload)
    if hasattr(upload, "seek"):
        upload.seek(0)
    data = upload.read()
    if hasattr(upload, "seek"):
        upload.seek(0)
    return data


def _size(upload) -> int:
    return len(upload) if isinstance(upload, bytes | bytearray) else upload.size


def check_upload(upload, kind="xlsx") -> list[str]:
    """Everything wrong with an uploaded file as a whole; empty when its rows may be read."""
    size = _size(upload)
    limit = settings.IMPORT_MAX_FILE_SIZE
    if size > limit:
        return [f"文件大小为 {size / MB:.1f} MB，超过上限 {limit / MB:.0f} MB，请拆分后分批导入。"]
    if size == 0:
        return ["文件是空的。"]
    data = read_all(upload)
    if kind == "csv":
        return _check_csv(data)
    return _check_xlsx(data)


def _check_xlsx(data: bytes) -> list[str]:
    not_excel = "文件不是 Excel（.xlsx）文件，无法读取。如是 .xls 或 WPS 格式，请另存为 .xlsx 后再导入。"
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return [not_excel]
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            names = {e.filename for e in entries}
            unpacked = unpacked_size(archive)
    except (zipfile.BadZipFile, OSError, ValueError):
        return [not_excel]
    if "xl/workbook.xml" not in names:
        return [not_excel]
    if unpacked > settings.IMPORT_MAX_UNPACKED_SIZE:
        return [
            f"文件解压后约 {unpacked / MB:,.0f} MB，超过上限 {settings.IMPORT_MAX_UNPACKED_SIZE / MB:.0f} MB"
            "（可能是“压缩炸弹”），已拒绝。"
        ]
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds on damaged files; all mean the same to the user
        return ["无法读取该 Excel 文件，文件可能已损坏。"]
    if not _has_formula_element(data):  # the common case, without reading every cell
        workbook.close()
        return []
    formulas = []
    try:
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if getattr(cell, "data_type", None) == "f":
                        formulas.append(f"{sheet.title}!{cell.coordinate}")
    finally:
        workbook.close()
    return _formula_problem(formulas)


FORMULA_ELEMENT = re.compile(rb"<(?:\w+:)?f[ >/]")


def _has_formula_element(data: bytes) -> bool:
    """A formula is an <f> element in a worksheet's XML; stream each sheet (bounded by the unpacked-size check)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for entry in archive.infolist():
            if entry.filename.startswith("xl/worksheets/") and entry.filename.endswith(".xml"):
                tail = b""
                with archive.open(entry) as f:
                    while chunk := f.read(1 << 20):
                        if FORMULA_ELEMENT.search(tail + chunk):
                            return True
                        tail = chunk[-16:]
    return False


def _formula_problem(cells) -> list[str]:
    if not cells:
        return []
    named = "、".join(cells[:FORMULA_LIST_LIMIT]) + (f" 等 {len(cells)} 处" if len(cells) > FORMULA_LIST_LIMIT else "")
    return [f"文件中有公式（单元格 {named}）。为防止公式注入，导入不接受公式，请复制后“选择性粘贴为数值”再导入。"]


def _check_csv(data: bytes) -> list[str]:
    if b"\x00" in data[:4096] or zipfile.is_zipfile(io.BytesIO(data)):
        return ["文件不是 CSV 文本文件，无法读取。"]
    text = csv_text(data)
    if text is None:
        return ["无法识别 CSV 文件的编码（应为 UTF-8 或 GBK/GB18030），请在 Excel 中“另存为 CSV UTF-8（逗号分隔）”后再导入。"]
    import csv

    cells = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        for col, value in enumerate(row, start=1):
            if value.startswith("="):
                cells.append(f"{get_column_letter(col)}{number}")
    return _formula_problem(cells)


def csv_text(data: bytes) -> str | None:
    """A CSV's text: UTF-8 (with or without BOM), or GB18030 (a superset of GBK, what Chinese Excel saves as
    "CSV（逗号分隔）" by default). None when it is neither."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None
