# Keti — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test test-stack services services-stop services-status setup install migrate browser messages diagram clean

demo: setup  ## set up, load the demo data and serve on 127.0.0.1:8000
	$(PY) manage.py runserver $(HOST):$(PORT)

test: setup browser  ## set up as for the demo, then run the whole suite
	$(PY) -m pytest -q

# The suite on the production stack (CI's second run): DATABASE_URL and CELERY_BROKER_URL point at
# PostgreSQL and Redis (.ci/with-postgres.sh, .ci/with-redis.sh); tasks run in a real worker.
test-stack: migrate browser
	$(PY) -m pytest -q

# The production stack on this machine (PostgreSQL, Redis, Celery worker and beat, gunicorn on
# 127.0.0.1:8000, DEBUG off); state, logs and pids under var/services/. See README "Production".
services:
	bash scripts/services.sh start

services-stop:
	bash scripts/services.sh stop

services-status:
	bash scripts/services.sh status

# The end-to-end tests drive Debian's Chromium (Playwright's own browser download is not used).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Install Debian's chromium (apt-get install chromium) for the end-to-end tests."; exit 1; fi; }

setup: install migrate
	$(PY) manage.py load_demo
	$(PY) manage.py rebuild_archive_index

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	mkdir -p var/static
	$(PY) manage.py migrate --noinput

messages: install  ## rebuild the translation catalogue (needs gettext's msgfmt)
	$(PY) manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=var
	$(PY) manage.py compilemessages -l zh_Hans --ignore=.venv

diagram: install  ## regenerate docs/state-machines.md from the code
	$(PY) manage.py export_workflow_diagram

clean:
	rm -rf $(VENV) var
