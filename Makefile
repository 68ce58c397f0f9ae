# salesplan-nb: two commands. `make demo` renders the demo plans; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LABEXT := widgets/labextension
LABEXT_BUILT := salesplan_nb/labextension/package.json

.PHONY: setup demo test test-slow golden lab lint bench system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/pip install -q --no-deps -e tests/plugins/salesplan-example-step
	$(BIN)/python -m ipykernel install --sys-prefix --name salesplan-nb --display-name "Python (salesplan-nb)" >/dev/null
	git rev-parse --git-dir >/dev/null 2>&1 && $(BIN)/nbstripout --install --attributes .gitattributes || true
	touch $(STAMP)

# The JupyterLab extension: npm packages from the committed lock file, built into
# salesplan_nb/labextension (shipped in the wheel), linked into .venv for the editable install.
$(LABEXT)/node_modules/.installed: $(LABEXT)/package-lock.json
	cd $(LABEXT) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(LABEXT_BUILT): $(STAMP) $(LABEXT)/node_modules/.installed $(LABEXT)/package.json $(wildcard $(LABEXT)/src/*.ts $(LABEXT)/schema/*.json $(LABEXT)/style/*)
	cd $(LABEXT) && PATH=$(abspath $(BIN)):$$PATH npm run --silent build
	mkdir -p $(VENV)/share/jupyter/labextensions
	ln -sfn $(abspath salesplan_nb/labextension) $(VENV)/share/jupyter/labextensions/salesplan-nb
	install -D -m 644 jupyter-config/jupyter_server_config.d/salesplan_nb.json $(VENV)/etc/jupyter/jupyter_server_config.d/salesplan_nb.json
	touch $(LABEXT_BUILT)

# bytecode of the package (as a wheel install has it): a cold `salesplan` start then skips
# compiling ~80 modules (~0.2 s), also where PYTHONDONTWRITEBYTECODE is set; incremental
setup: $(STAMP) $(LABEXT_BUILT)
	$(BIN)/python -m compileall -q salesplan_nb

demo: setup
	$(BIN)/salesplan demo

system-deps:
	bash scripts/system-deps.sh

test: setup system-deps
	$(BIN)/ruff check salesplan_nb tests benchmarks
	$(BIN)/lint-imports
	cd $(LABEXT) && npm run --silent lint && npm test --silent
	$(BIN)/pytest -p no:cacheprovider
	$(BIN)/pytest -p no:cacheprovider $(NBVAL)

# only the slow tests (the installable product: wheel -> fresh venv -> render); `make test` runs them too
test-slow: setup
	$(BIN)/pytest -p no:cacheprovider -m slow

# Golden notebooks (tests/nbval, outputs kept in git): `make test` checks them with nbval;
# `make golden` re-executes them in place when a change of numbers is intended.
NBVAL := --nbval tests/nbval --nbval-kernel-name salesplan-nb \
         --nbval-sanitize-with tests/nbval/sanitize.cfg
golden: $(STAMP)
	$(BIN)/python tests/nbval/refresh.py

lab: setup
	$(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR)

lint: setup
	$(BIN)/ruff check salesplan_nb tests benchmarks
	$(BIN)/lint-imports
	cd $(LABEXT) && npm run --silent lint

bench: setup
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) reports/demo .pytest_cache salesplan_nb/labextension $(LABEXT)/lib $(LABEXT)/node_modules
