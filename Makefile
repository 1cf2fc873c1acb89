# Two commands a newcomer needs (see README):
#   make demo    set everything up, then place an order and carry it through its workflows locally
#   make check   set everything up, then lint, type-check, check layering and run every test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo check setup lint types layers test conformance bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	# bytecode of our own modules, as pip writes it for every installed package: an
	# editable install has none, and a shell with PYTHONDONTWRITEBYTECODE set compiles
	# them again at every start (~0.2 s of every `workflows` command)
	$(BIN)/python -m compileall -q workflows tasks
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/workflows run order_processing --input @examples/order.json

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint infra/sam/template.yaml

types: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

test: $(STAMP)
	$(BIN)/pytest --workflows-cov --workflows-cov-report=term --workflows-cov-fail-under=100

check: lint types layers test

conformance: $(STAMP)
	$(BIN)/pytest tests/conformance -q -rN

# every engine and process target of #2 and #14 with a verdict each, then a summary
# (about 3 minutes); aws-local-stepfunctions for the comparison when npm is there
bench: $(STAMP)
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "npm not found: bench.compare skips aws-local-stepfunctions"; \
	elif [ ! bench/peers/node_modules/.package-lock.json -nt bench/peers/package-lock.json ]; then \
		npm ci --prefix bench/peers --no-audit --no-fund --loglevel=error \
			|| echo "npm ci failed: bench.compare skips aws-local-stepfunctions"; \
	fi
	$(BIN)/python -m bench.suite

clean:
	rm -rf $(VENV) .workflows .mypy_cache .ruff_cache
