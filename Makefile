# The two commands a new user needs (each creates .venv and installs what it needs):
#   make demo    install, then train a small network and show its backprop
#   make test    install with the test extras, then run the whole suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: demo test parity bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

demo: $(PY)
	$(PY) -m pip install -qq -e ".[plot]"
	$(PY) -m nn demo

test: $(PY)
	$(PY) -m pip install -qq -e ".[dev]"
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

parity: $(PY)
	$(PY) -m pip install -qq -e ".[dev,parity]"

bench: $(PY)
	$(PY) -m pip install -qq -e ".[bench,plot]"
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
