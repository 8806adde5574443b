# Two commands on a fresh clone: `make run` and `make test`. Everything else is set up on the way.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv fonts run test test-all test-slow train bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# CJK fonts for the invoice/photo generators (Debian packages); without them those tests skip with a note.
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc
fonts:
	@test -f $(CJK_FONT) || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei fonts-noto-cjk; } || \
	  echo "note: no CJK fonts (apt-get install fonts-wqy-zenhei fonts-noto-cjk); generator tests will skip"

run: venv
	$(BIN)/reimburse demo

# The default suite; slow suites (OCR over every real image) are selected with `make test-slow`.
test: venv fonts
	$(BIN)/pytest -q -m "not slow"

test-slow: venv fonts
	$(BIN)/pytest -q -m slow

test-all: venv fonts
	$(BIN)/pytest -q

train: venv
	$(BIN)/python -m models.train

bench: venv
	$(BIN)/python -m benchmarks.spine_bench

clean:
	rm -rf $(VENV) var .pytest_cache
