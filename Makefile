# Two commands on a fresh clone: `make run` and `make test`. Everything else is set up on the way.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv run test test-all test-slow train bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: venv
	$(BIN)/reimburse demo

# The default suite; slow suites (OCR over every real image) are selected with `make test-slow`.
test: venv
	$(BIN)/pytest -q -m "not slow"

test-slow: venv
	$(BIN)/pytest -q -m slow

test-all: venv
	$(BIN)/pytest -q

train: venv
	$(BIN)/python -m models.train

bench: venv
	$(BIN)/python -m benchmarks.spine_bench

clean:
	rm -rf $(VENV) var .pytest_cache
