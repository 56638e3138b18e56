"""The 说明's PDF for download: rendered once per text and kept in storage, and rendered by at most
PDF_RENDER_SLOTS requests at a time, so that PDFs cannot take every worker (issue 13, item 9).

- **Once per text.** A rendered PDF is stored (Django's default storage, like the archive) under a key naming
  exactly what was rendered: the evaluation, the standalone HTML it was rendered from (so the content version, the
  template, the print CSS, and the framework's and unit's names printed in it) and the renderer's version. Any
  change gives a new key; the HTML costs milliseconds, the PDF seconds.
- **A few at a time.** Rendering holds one of PDF_RENDER_SLOTS lock files (gunicorn.conf.py sets it to its workers
  − 1) and the evaluation's own lock file, both taken without waiting: a request that gets neither answers
  "正在生成，请稍候" at once and the page asks again. Lock files (flock) rather than rows or Redis keys: the limit is
  about this machine's workers, it works the same on SQLite and PostgreSQL, and the kernel releases a lock when its
  process dies (a worker killed at its timeout), so nothing is left locked.
"""

import fcntl
import hashlib
import logging
import time
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from functools import cache
from importlib.metadata import version
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from evaluations.documents import html_pdf
from evaluations.models import RenderedDocument

logger = logging.getLogger(__name__)

# Bump when a change in our code (not in the template or the CSS, which the key reads) changes the PDF of the
# same HTML, e.g. a new URL fetcher or WeasyPrint option.
RENDERER_VERSION = "1"
# Renders of older texts are kept this long after a newer one, for downloads already under way.
KEEP_SUPERSEDED = timedelta(minutes=10)


class Busy(Exception):
    """Every render slot is taken, or this evaluation is being rendered: ask again in a moment."""


@cache
def renderer_stamp() -> str:
    return f"{RENDERER_VERSION}; WeasyPrint {version('weasyprint')}"


def document_key(evaluation, html: str) -> str:
    digest = hashlib.sha256(f"{renderer_stamp()}\n{evaluation.pk}\n".encode())
    digest.update(html.encode())
    return digest.hexdigest()


def _try_lock(stack, path: Path) -> bool:
    handle = open(path, "ab")  # noqa: SIM115 (closed by the stack, which releases the lock)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return False
    stack.callback(handle.close)
    return True


@contextmanager
def render_slot(evaluation, wait: float = 0):
    """Hold this evaluation's lock and one of the PDF_RENDER_SLOTS slots for the body, or raise Busy after `wait`
    seconds (0: at once). Locks are per open file, so threads of one process exclude each other as well."""
    directory = Path(settings.PDF_RENDER_LOCK_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    while True:
        with ExitStack() as stack:
            if _try_lock(stack, directory / f"evaluation-{evaluation.pk}.lock") and any(
                _try_lock(stack, directory / f"slot-{n}.lock") for n in range(max(1, settings.PDF_RENDER_SLOTS))
            ):
                yield
                return
        if time.monotonic() >= deadline:
            raise Busy
        time.sleep(0.2)


def stored(key: str):
    return RenderedDocument.objects.filter(key=key).first()


def pdf_document(evaluation, *, wait: float = 0) -> RenderedDocument:
    """The stored PDF of the evaluation's current 说明 (load it with Evaluation.objects.with_document_data()),
    rendered now if it was not yet, when a slot is free within `wait` seconds; otherwise Busy."""
    html = html_pdf.render_html(evaluation)
    key = document_key(evaluation, html)
    if found := stored(key):
        return found
    with render_slot(evaluation, wait=wait):
        if found := stored(key):  # rendered by another request while this one waited
            return found
        pdf = html_pdf.html_to_pdf(html)
        return _store(evaluation, key, pdf)


def _store(evaluation, key: str, pdf: bytes) -> RenderedDocument:
    document = RenderedDocument(
        evaluation=evaluation, key=key, sha256=hashlib.sha256(pdf).hexdigest(), size=len(pdf)
    )
    document.file.save(f"{key}.pdf", ContentFile(pdf), save=False)
    try:
        with transaction.atomic():
            document.save()
    except IntegrityError:  # another server sharing the database stored the same text first
        document.file.delete(save=False)
        return RenderedDocument.objects.get(key=key)
    _remove_superseded(evaluation, keep=document)
    return document


def _remove_superseded(evaluation, keep):
    cutoff = timezone.now() - KEEP_SUPERSEDED
    for old in RenderedDocument.objects.filter(evaluation=evaluation, created_at__lt=cutoff).exclude(pk=keep.pk):
        old.file.delete(save=False)
        old.delete()


def read(document: RenderedDocument) -> bytes:
    with document.file.open("rb") as f:
        return f.read()
