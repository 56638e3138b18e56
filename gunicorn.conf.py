"""gunicorn settings for `make serve` and the systemd unit (docs/deploy.md); each can be overridden from the
environment. gunicorn reads this file from the working directory, or with `-c gunicorn.conf.py`."""

import multiprocessing
import os

# Behind nginx on the same host; GUNICORN_BIND=0.0.0.0:8000 only where a load balancer elsewhere connects.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# gunicorn's advice: (2 × cores) + 1 workers; a worker waiting on the database lets another use the core.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
# At most workers − 1 of them render a PDF of the 说明 at once (config/settings.py, PDF_RENDER_SLOTS); the others
# answer "正在生成" at once, so pages and /healthz always have a worker (issue 13). Read by the workers' settings.
os.environ.setdefault("PDF_RENDER_SLOTS", str(max(1, workers - 1)))
# One request at a time per worker (sync), behind nginx, which buffers slow clients: the pages are CPU-bound Python
# and a second thread gains nothing under the GIL. Measured: docs/benchmarks.md「What made the difference」.
# GUNICORN_THREADS > 1 selects gthread instead, for clients that reach gunicorn without a buffering proxy.
worker_class = "sync"
threads = int(os.environ.get("GUNICORN_THREADS", 1))
# The longest a request may run before its worker is restarted (a sync worker is busy for the whole request): as
# long as nginx waits for an answer (proxy_read_timeout 120s, docs/deploy.md). The 说明 PDF takes about a second;
# the official workbook of a large evaluation a few.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 120))
graceful_timeout = 30
keepalive = 5  # gthread only: a sync worker closes each connection after its response
# Recycle workers now and then so that a slow leak cannot grow without bound; jitter keeps them from all
# restarting at once.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 2000))
max_requests_jitter = max_requests // 10
# Trust X-Forwarded-* only from nginx on this host.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None  # empty: no access log
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
wsgi_app = "config.wsgi:application"
# Load the application once, in the master, before forking: a recycled worker starts in milliseconds and the workers
# share the code's memory; nothing connects to the database while loading (docs/benchmarks.md, gain 6).
# GUNICORN_PRELOAD=0 loads in each worker instead.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") != "0"


def _freeze():
    """The loaded application's objects live as long as the process: gc.freeze() takes them out of the collector's
    full passes (docs/benchmarks.md, gain 9)."""
    import gc

    gc.collect()
    gc.freeze()


def _load_pdf_renderer():
    """Import WeasyPrint and check the fonts (fc-list) before serving: otherwise every worker does both on its
    first PDF download, a second or more of CPU each while pages wait (docs/benchmarks.md「说明 PDF 下载时的响应」)."""
    from evaluations.documents import html_pdf, rendered

    if html_pdf.pdf_unavailable_reason() is None:
        rendered.renderer_stamp()


def when_ready(server):
    # Preloaded: frozen once in the master, so every worker inherits them frozen and no worker's collection touches
    # (and so copies) the memory they share.
    if server.cfg.preload_app:
        _load_pdf_renderer()
        _freeze()


def post_worker_init(worker):
    if not worker.cfg.preload_app:  # each worker loaded the application itself
        _load_pdf_renderer()
        _freeze()
