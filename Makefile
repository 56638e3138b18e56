# Two commands do all set-up on a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1:8000

.PHONY: install run serve test test-fast lint check clean deps-debian fonts

# What the PDF of the 说明 needs from the system (README「PDF 与字体」): WeasyPrint's Pango / HarfBuzz libraries and
# TrueType Chinese fonts (song, kai, hei). Not needed to run or test the rest: PDF tests skip without them.
DEBIAN_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig \
                   fonts-arphic-uming fonts-arphic-ukai fonts-wqy-zenhei
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-s3.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "需要 Python 3.11 或更高版本（当前 %s）。可用 make PYTHON=python3.11 指定。" % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools  # Python 3.11's venv brings setuptools 65.5 (known vulnerabilities)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed var/secret_key

run: install
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py load_demo
	@echo "在浏览器打开 http://$(HOST)/ （按 Ctrl+C 停止）"
	@# Background exports run inside the request here; production runs `manage.py db_worker` beside the server.
	DEBUG=1 TASKS_BACKEND=django_tasks.backends.immediate.ImmediateBackend $(PY) manage.py runserver $(HOST)

# The production configuration on this machine (docs/deploy.md): DEBUG off, PostgreSQL, hashed and compressed
# static files served by whitenoise, gunicorn, and the worker for background exports beside it. Plain HTTP here
# (HTTPS=0), since no nginx terminates TLS in front; the secret key is made once and kept in var/ (settings read it).
SERVE_ENV = DEBUG=0 HTTPS=$(or $(HTTPS),0) DATABASE_URL=$(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/jixiao)

var/secret_key:
	@mkdir -p var && umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@

serve: install
	$(SERVE_ENV) $(PY) manage.py ensure_database
	$(SERVE_ENV) $(PY) manage.py collectstatic --noinput -v 0
	$(SERVE_ENV) $(PY) manage.py migrate --noinput
	@echo "生产配置：http://$${GUNICORN_BIND:-127.0.0.1:8000}/ ，后台任务进程 db_worker 同时运行（按 Ctrl+C 停止）"
	$(SERVE_ENV) $(PY) manage.py db_worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(SERVE_ENV) $(VENV)/bin/gunicorn -c gunicorn.conf.py

# axe-core (the browser tests' accessibility check) from the npm registry, into tests/browser/node_modules: the
# tests inject it into the pages; the application never serves it. Without npm those checks skip, saying why.
AXE := tests/browser/node_modules/axe-core/axe.min.js

$(AXE): tests/browser/package.json tests/browser/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error && touch $@; \
	  else echo "未安装 npm（Node.js）：无障碍检查（axe-core）的浏览器测试将跳过。"; fi

# The whole suite (browser tests and the tests that start other processes included); .ci/run runs it on SQLite and
# on PostgreSQL.
test: install $(AXE)
	$(PY) -m pytest

# The in-process suite, for every change: no browser, no other processes (markers in pyproject.toml), 8 rather
# than 25 random examples per property and fuzzed form (FUZZ_EXAMPLES), one pytest-xdist worker per CPU
# (TEST_WORKERS=0 runs it in this one process). docs/benchmarks.md has its time.
test-fast: install
	FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),8) $(PY) -m pytest -m "not browser and not multiprocess" -n $(or $(TEST_WORKERS),auto)

lint: install
	$(PY) -m ruff check .
	SECRET_KEY=check $(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) staticfiles test_db.sqlite3* tests/browser/node_modules

deps-debian:
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEBIAN_PACKAGES)

fonts: deps-debian
