# MemberCare: `make demo` installs everything and runs the demo; `make test` runs the whole suite.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export MEMBERCARE_VAR_DIR ?= $(CURDIR)/var
export DJANGO_SETTINGS_MODULE := membercare.settings
HOST ?= 127.0.0.1:8000

.PHONY: install demo run test test-sqlite test-postgres lint messages bench-data bench clean lock dist

PIP_VERSION := 26.3
LOCK := requirements.lock

$(BIN)/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "Python 3.11 is required"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q 'pip==$(PIP_VERSION)'

# every dependency at the version in the lock file (pyproject.toml keeps the ranges the code supports)
$(VENV)/.installed: pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/pip install -q -c $(LOCK) -e '.[dev]'
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

src/membercare/locale/%/LC_MESSAGES/django.mo: src/membercare/locale/%/LC_MESSAGES/django.po
	@command -v msgfmt >/dev/null 2>&1 || apt-get install -y -qq gettext >/dev/null
	msgfmt --check-format -o $@ $<

MO_FILES := $(patsubst %.po,%.mo,$(wildcard src/membercare/locale/*/LC_MESSAGES/django.po))

install: $(VENV)/.installed node_modules/.package-lock.json $(MO_FILES)

# the release artifact: one wheel with the compiled translations and the front-end files it serves
# (pip install dist/membercare-*.whl; membercare migrate; gunicorn membercare.wsgi) — see docs/deploy.md
VENDOR := src/membercare/web/static/vendor
DIST ?= dist
dist: install
	rm -rf $(DIST) build $(VENDOR)
	mkdir -p $(VENDOR)/htmx $(VENDOR)/chartjs
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx/
	cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/chartjs/
	$(BIN)/pip wheel -q --no-deps -w $(DIST) .
	rm -rf build $(VENDOR)
	@ls $(DIST)/*.whl

# the demo's own keys, made once (production mode refuses the public defaults); kept with its database in var/
KEYS := $(MEMBERCARE_VAR_DIR)/keys.env
$(KEYS): | $(BIN)/python
	mkdir -p $(MEMBERCARE_VAR_DIR)
	$(BIN)/python -c 'import secrets; from cryptography.fernet import Fernet; \
	  print("export DJANGO_SECRET_KEY=\"$${DJANGO_SECRET_KEY:-" + secrets.token_urlsafe(50) + "}\""); \
	  print("export MEMBERCARE_FIELD_KEY=\"$${MEMBERCARE_FIELD_KEY:-" + Fernet.generate_key().decode() + "}\"")' > $@
	chmod 600 $@

# the demo is plain HTTP on this machine; members' links (surveys, RSVP, also those demo_load writes) point at the
# host it serves on; the delivery worker runs beside the web server (the demo has no Celery beat), sending due
# messages to var/outbox/ every 2 s, and stops with it
# (served on every interface, HOST=0.0.0.0:…, links take the host each page is opened with: none is set)
PUBLIC_URL = MEMBERCARE_PUBLIC_URL=$${MEMBERCARE_PUBLIC_URL:-$(if $(filter 0.0.0.0:%,$(HOST)),,http://$(HOST))}
demo: install $(KEYS)
	. $(KEYS) && $(BIN)/membercare migrate --noinput -v 0
	. $(KEYS) && $(PUBLIC_URL) $(BIN)/membercare demo_load --if-empty
	. $(KEYS) && export DJANGO_DEBUG=$${DJANGO_DEBUG:-0} MEMBERCARE_HTTPS=$${MEMBERCARE_HTTPS:-0} $(PUBLIC_URL) \
	  MEMBERCARE_DEMO=1 CELERY_TASK_ALWAYS_EAGER=$${CELERY_TASK_ALWAYS_EAGER:-1} && \
	  { $(BIN)/membercare messages_worker --loop --interval 2 & worker=$$!; \
	    trap 'kill $$worker 2>/dev/null' EXIT; trap 'exit 130' INT TERM; \
	    $(BIN)/membercare runserver $(HOST) --noreload; }

run: install
	$(BIN)/membercare runserver $(HOST)

test: install
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/pytest -q $(PYTEST_ARGS)

test-postgres: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/membercare} $(BIN)/pytest -q $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src tests $(wildcard bench)

messages: install
	cd src/membercare && ../../$(BIN)/membercare makemessages -l zh_Hans -l en --no-obsolete --no-location

# refresh the lock file on purpose: newest versions within pyproject's ranges, every extra; then run the suite
lock:
	rm -rf .venv-lock && $(PY) -m venv .venv-lock && .venv-lock/bin/pip install -q 'pip==$(PIP_VERSION)'
	.venv-lock/bin/pip install -q -e '.[dev,bench]'
	{ sed -n '1,2p' $(LOCK); .venv-lock/bin/pip freeze --exclude-editable; } > $(LOCK).new && mv $(LOCK).new $(LOCK)
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) node_modules var
