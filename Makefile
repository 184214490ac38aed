# `make run` runs the PolyMNIST suite on the embedded data; `make test` runs the tests.
# Both create .venv on first use and install the suite into it with the pinned torch build.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_PINS := torch==2.14.1 torchvision==0.29.1
ARGS ?=

.PHONY: install run quick test clean-results

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_PINS)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) -m bench.run --suite polymnist $(ARGS)

quick: install
	$(PY) -m bench.run --suite polymnist --scale quick $(ARGS)

test: install
	$(PY) -m pytest -q

clean-results:
	rm -rf results
