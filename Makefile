# The two commands of the README: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PO := web/translations/bg/LC_MESSAGES/messages.po
MO := $(PO:.po=.mo)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-test translations lint format vendor clean

## run: install, migrate the SQLite database under instance/, load the demo data, serve on :8000
##      with the provisioning worker beside it
run: install
	APP_ENV=development $(FLASK) db upgrade
	APP_ENV=development $(FLASK) demo seed --base-url http://$(HOST):$(PORT)
	@# the provisioning worker writes zone files and mail maps under instance/provision
	APP_ENV=development $(FLASK) provision run & worker=$$!; \
		trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
		APP_ENV=development $(BIN)/gunicorn --workers 2 --bind $(HOST):$(PORT) \
		--access-logfile - wsgi:app

## test: install with the test extras and run the whole suite, in parallel (pytest-xdist)
# Each worker has its own PostgreSQL database (TEST_DATABASE_URL's name + _gw0, _gw1...).
# PYTEST_ARGS="-n 0" runs in one process (on the database as given); -n in PYTEST_ARGS wins.
PYTEST_WORKERS ?= -n 2
test: install-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_WORKERS) --cov --cov-report=term:skip-covered $(PYTEST_ARGS)

install: $(VENV)/.installed $(MO)
install-test: $(VENV)/.installed-test $(MO)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

$(MO): $(PO) | $(VENV)/.installed
	$(BIN)/pybabel compile -d web/translations -D messages -l bg >/dev/null

## translations: collect new strings from the code and templates into the catalogue
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 \
		--no-location --sort-output \
		--project "Partner Program" -o web/translations/messages.pot .
	$(BIN)/pybabel update -i web/translations/messages.pot -d web/translations \
		--ignore-obsolete --width 100

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## vendor: refresh htmx and Pico CSS from npm into web/static/vendor (versions in package.json)
vendor:
	npm install --no-save --no-package-lock
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/htmx.org/LICENSE web/static/vendor/htmx/
	cp node_modules/@picocss/pico/css/pico.min.css node_modules/@picocss/pico/LICENSE.md \
		web/static/vendor/pico/

clean:
	rm -rf $(VENV) $(MO) .pytest_cache .ruff_cache
