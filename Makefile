# Two commands on a fresh clone: `make run` and `make test`. Everything else is set up on the way.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv system-deps run test test-all test-slow train bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Debian packages: CJK fonts for the invoice/photo generators, Tesseract as the OCR benchmark's baseline.
# Without them (no root / no apt) the tests that need them skip with a note.
SYSTEM_PACKAGES := fonts-wqy-zenhei fonts-noto-cjk tesseract-ocr tesseract-ocr-chi-sim
system-deps:
	@if [ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] && command -v tesseract >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; } || \
	  echo "note: could not install $(SYSTEM_PACKAGES); the tests that need them will skip"; \
	else echo "note: install $(SYSTEM_PACKAGES) to run the generator and Tesseract tests"; fi

run: venv
	$(BIN)/reimburse demo

# The default suite; slow suites (OCR over every real image) are selected with `make test-slow`.
test: venv system-deps
	$(BIN)/pytest -q -m "not slow"

test-slow: venv system-deps
	$(BIN)/pytest -q -m slow

test-all: venv system-deps
	$(BIN)/pytest -q

train: venv
	$(BIN)/python -m models.train

bench: venv system-deps
	$(BIN)/python -m benchmarks.spine_bench

clean:
	rm -rf $(VENV) var .pytest_cache
