# `make demo` and `make test` work on a fresh machine with Python 3.10+ and make:
# they create .venv, install the package, and (for the tests) LibreOffice Calc.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint bench libreoffice clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p out
	$(BIN)/clv-xl report templates/sample_orders.xlsx -o out/sample_orders_clv_report.xlsx --force

# LibreOffice Calc recalculates the workbooks we write and renders them to PDF (with
# Carlito, metrically Calibri, so columns print as wide as in Excel); installed via apt.
libreoffice:
	@{ command -v soffice >/dev/null 2>&1 && fc-list | grep -qi carlito; } || { \
	  echo "Installing LibreOffice Calc (headless) and the Carlito font with apt..."; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
	    libreoffice-calc-nogui fonts-crosextra-carlito >/dev/null; }

test: $(STAMP) libreoffice
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check clv_xl tests bench
	$(BIN)/ruff format --check clv_xl tests bench
	$(BIN)/mypy clv_xl

# lifetimes (the reference the model benchmark compares with) needs numpy < 2 and
# pandas < 2, so it gets a virtualenv of its own, only for the benchmark.
.venv-lifetimes/bin/python:
	$(PYTHON) -m venv .venv-lifetimes
	.venv-lifetimes/bin/python -m pip install --quiet "numpy<2" "pandas<2" "scipy<1.12" \
	  "setuptools<70" autograd dill lifetimes==0.11.3

# PyMC-Marketing (its MAP fits, the other peer) gets one of its own too.
.venv-pymc/bin/python:
	$(PYTHON) -m venv .venv-pymc
	.venv-pymc/bin/python -m pip install --quiet pymc-marketing==0.19.2

bench: $(STAMP) .venv-lifetimes/bin/python .venv-pymc/bin/python
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .venv-lifetimes .venv-pymc out .pytest_cache
