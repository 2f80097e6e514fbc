# RiskDesk: `make run` serves the console with demo data; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export RISKDESK_HOME ?= $(CURDIR)/var
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run setup test test-sqlite test-postgres test-e2e lint bench clean messages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/riskdesk migrate
	$(BIN)/riskdesk demo --if-empty
	$(BIN)/riskdesk serve

# Every test on SQLite, then the database tests again on PostgreSQL when it answers.
test: $(STAMP)
	$(BIN)/python scripts/run_tests.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

messages: $(STAMP)
	cd src/riskdesk && ../../$(BIN)/django-admin makemessages -l zh_Hans -l zh_Hant -l en --settings=riskdesk.site.settings && ../../$(BIN)/django-admin compilemessages --settings=riskdesk.site.settings

clean:
	rm -rf $(VENV) var .pytest_cache
