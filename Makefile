# salesplan-nb: two commands. `make demo` renders the demo plans; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test golden lab lint bench system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name salesplan-nb --display-name "Python (salesplan-nb)" >/dev/null
	git rev-parse --git-dir >/dev/null 2>&1 && $(BIN)/nbstripout --install --attributes .gitattributes || true
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/salesplan demo

system-deps:
	bash scripts/system-deps.sh

test: setup system-deps
	$(BIN)/ruff check salesplan_nb tests benchmarks
	$(BIN)/pytest -p no:cacheprovider
	$(BIN)/pytest -p no:cacheprovider $(NBVAL)

# Golden notebooks (tests/nbval, outputs kept in git): `make test` checks them with nbval;
# `make golden` re-executes them in place when a change of numbers is intended.
NBVAL := --nbval tests/nbval --nbval-kernel-name salesplan-nb \
         --nbval-sanitize-with tests/nbval/sanitize.cfg
golden: setup
	$(BIN)/python tests/nbval/refresh.py

lab: setup
	$(BIN)/jupyter lab notebooks/

lint: setup
	$(BIN)/ruff check salesplan_nb tests benchmarks

bench: setup
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) reports/demo .pytest_cache
