# Tradeplane. Two commands on a fresh machine:  make demo  |  make test
PY      := .venv/bin/python
TP      := .venv/bin/tradeplane
PYTEST  := $(PY) -m pytest
STAMP   := .venv/.bootstrapped
# Domain folders (functions/<domain>/ with a tp_<domain> package) import like Lambda's /var/task.
DOMAIN_PATH := $(subst $(eval) ,:,$(patsubst %/,%,$(dir $(wildcard functions/*/tp_*))))
# uv (bootstrap and the layer build) trusts the platform's certificate store.
export UV_SYSTEM_CERTS := 1

.PHONY: setup demo up down status logs test test-unit test-integration test-e2e test-stress lint format bench clean openapi alpaca-trade-api-env alpaca-trade-api-lock

$(STAMP): pyproject.toml uv.lock scripts/bootstrap.sh
	./scripts/bootstrap.sh
	@touch $(STAMP)

setup: $(STAMP) ## install locked dependencies into .venv

demo: setup ## start the whole platform locally, run the demo, stop it (KEEP=1 leaves it running)
	$(TP) demo $(if $(KEEP),--keep,)

up: setup ## start the platform and leave it running
	$(TP) local up

down: ## stop everything `up` started
	$(TP) local down

status:
	$(TP) local status

logs:
	$(TP) local logs -f

# alpaca-trade-api pins old websockets/urllib3/msgpack: its own venv, from a hash-pinned requirements file.
ATA_DIR   := tests/e2e/alpaca_trade_api_env
ATA_VENV  := .venv-alpaca-trade-api
ATA_STAMP := $(ATA_VENV)/.installed

$(ATA_STAMP): $(ATA_DIR)/requirements.txt
	rm -rf $(ATA_VENV)
	UV_PYTHON_DOWNLOADS=never .tools/bin/uv venv -q --python $(shell readlink -f $(PY)) $(ATA_VENV)
	.tools/bin/uv pip install -q --python $(ATA_VENV)/bin/python --require-hashes -r $(ATA_DIR)/requirements.txt
	@touch $(ATA_STAMP)

alpaca-trade-api-env: setup $(ATA_STAMP) ## the separate venv the alpaca-trade-api e2e test runs in

alpaca-trade-api-lock: setup ## re-resolve $(ATA_DIR)/requirements.txt (hash-pinned) from requirements.in
	.tools/bin/uv pip compile $(ATA_DIR)/requirements.in --python-version 3.11 --generate-hashes -q --no-header \
	  -o $(ATA_DIR)/requirements.txt

test: setup lint $(ATA_STAMP) ## lint, then every suite (unit, integration, e2e, infra) in one run
	UV=$(abspath .tools/bin/uv) $(PYTEST) tests --cov --cov-report=term --durations=25

test-unit: setup
	$(PYTEST) tests/unit

test-integration: setup
	$(PYTEST) tests/integration

test-e2e: setup $(ATA_STAMP)
	$(PYTEST) tests/e2e

test-stress: setup ## long conservation runs with kills (tests marked `stress`; `make test` runs their short versions)
	TP_STRESS=1 $(PYTEST) tests/stress -s

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	MYPYPATH=$(DOMAIN_PATH) $(PY) -m mypy layers/shared local tools functions infra/cdk
	$(PY) -m tradeplane_tools.architecture

format: setup
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

openapi: setup ## regenerate docs/openapi.json from the route code (a test fails when it drifts)
	$(PY) -m tradeplane_tools.openapi

bench: setup ## benchmarks: local up time, gateway overhead, Kafka latency, cold starts
	$(TP) bench

clean: down
	rm -rf .tradeplane build .pytest_cache .mypy_cache .ruff_cache

-include infra/infra.mk
