"""The 说明's PDF for download: rendered once per version and kept in storage, and rendered by at most
PDF_RENDER_SLOTS requests at a time, so that PDFs cannot take every worker (issue 13, item 9).

- **Once per version.** A rendered PDF is stored (Django's default storage, like the archive) under a key naming
  what it was made from: the evaluation and its content version, the unit and framework it prints (names,
  weights, grade thresholds), the template, the print CSS and the renderer's version. Any change gives a new key.
  The key is found with two small queries, without loading or rendering the document, so that answering a
  download of a stored PDF, or "正在生成", costs next to nothing.
- **A few at a time.** Rendering holds one of PDF_RENDER_SLOTS lock files (gunicorn.conf.py sets it to its workers
  − 1) and the evaluation's own lock file, both taken without waiting: a request that gets neither answers
  "正在生成，请稍候" at once and the page asks again. Lock files (flock) rather than rows or Redis keys: the limit is
  about this machine's workers, it works the same on SQLite and PostgreSQL, and the kernel releases a lock when its
  process dies (a worker killed at its timeout), so nothing is left locked.
- **Giving way.** The render runs in a thread of lower CPU priority (nice +10): on a machine with fewer cores than
  rendering workers, the worker left free for pages and /healthz still gets the CPU it needs.
"""

import fcntl
import hashlib
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from datetime import timedelta
from functools import cache
from importlib.metadata import version
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.template.loader import get_template
from django.utils import timezone

from evaluations.documents import html_pdf
from evaluations.models import Evaluation, Indicator, RenderedDocument

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
    """The template, the print CSS and the renderer, as read by this process (once: they change with a deploy)."""
    digest = hashlib.sha256(f"{RENDERER_VERSION}; WeasyPrint {version('weasyprint')}".encode())
    for name in html_pdf.TEMPLATES:
        digest.update(get_template(name).template.source.encode())
    with open(finders.find("css/print.css"), "rb") as f:
        digest.update(f.read())
    return digest.hexdigest()


def _fields(obj):
    return [getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields]


def document_key(evaluation) -> str:
    """What the evaluation's PDF is made from (loaded with its unit and framework): its version and time of last
    change (every content write bumps them), the unit and framework rows it prints and its framework's indicators
    (an admin may rename one), and renderer_stamp()."""
    indicators = Indicator.objects.filter(framework_id=evaluation.framework_id).order_by("pk").values_list()
    parts = [
        renderer_stamp(), evaluation.pk, evaluation.version, evaluation.updated_at,
        _fields(evaluation.unit), _fields(evaluation.framework), list(indicators),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


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
    """The stored PDF of the evaluation's current 说明 (loaded with at least its unit and framework), rendered
    now if it was not yet, when a slot is free within `wait` seconds; otherwise Busy."""
    if found := stored(document_key(evaluation)):
        return found
    with render_slot(evaluation, wait=wait):
        loaded = Evaluation.objects.with_document_data().get(pk=evaluation.pk)
        key = document_key(loaded)  # of what is rendered, should it have changed since
        if found := stored(key):  # rendered by another request while this one waited
            return found
        html = html_pdf.render_html(loaded)
        pdf = _render_thread().submit(html_pdf.html_to_pdf, html).result()
        return _store(loaded, key, pdf)


_threads = {}


def _render_thread() -> ThreadPoolExecutor:
    """This process's render thread, at lower CPU priority (per process: gunicorn forks after loading)."""
    pid = os.getpid()
    if pid not in _threads:
        _threads[pid] = ThreadPoolExecutor(1, thread_name_prefix="pdf-render", initializer=_lower_priority)
    return _threads[pid]


def _lower_priority():
    with suppress(AttributeError, OSError):  # not Linux: the render runs at the worker's priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), settings.PDF_RENDER_NICENESS)  # Linux: this thread


def _store(evaluation, key: str, pdf: bytes) -> RenderedDocument:
    document = RenderedDocument(
        evaluation=evaluation, key=key, sha256=hashlib.sha256(pdf).hexdigest(), size=len(pdf)
    )
    document.file.save(f"{key}.pdf", ContentFile(pdf), save=False)  # named by rendered_path
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
