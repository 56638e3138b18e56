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
# One request at a time per worker process: gunicorn's sync worker, behind nginx, which buffers slow clients (the
# setting gunicorn's documentation gives for it). The pages are CPU-bound Python. A second thread in a worker gains
# no CPU (the GIL), and each request back from the database then waits for the other thread to let go of the GIL.
# Under the load test: page p95 100-270 ms with sync workers (three runs), 200-240 ms with gthread and one thread
# (one run), 230-480 ms with gthread and two (docs/benchmarks.md「负载测试」). Sync rather than gthread with one
# thread: a sync worker only accepts a connection when it is free, where gthread's accepts and queues it.
# GUNICORN_THREADS > 1 makes gunicorn use its gthread worker instead: for clients that reach gunicorn without a
# buffering proxy in front.
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
# Load the application once, in the master, before the workers are forked: a worker recycled by max_requests starts
# in a few milliseconds instead of importing Django and the project again (about a second of CPU, taken from the
# requests being served), and the workers share the loaded code's memory. Nothing connects to the database while
# loading. GUNICORN_PRELOAD=0 loads in each worker instead.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") != "0"


def _freeze():
    """The loaded application's objects (modules, settings, URL patterns) live as long as the process: gc.freeze()
    takes them out of the garbage collector's full passes, which otherwise walk every one of them (about 90 ms a
    pass on the load test's pages; docs/benchmarks.md「负载测试」)."""
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
