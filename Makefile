# Mot Cua — the two commands: `make run` and `make test`. Both install everything first.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
# pytest processes (pytest-xdist), each with its own Kafka and database servers; whole files go to one process.
# Two by default (17 min on two cores, 24.5 min with one): the consumer groups once lost with two were a logging
# fault, since mended (docs/engineering.md, "Test processes"). TEST_WORKERS=1 runs one process.
TEST_WORKERS ?= 2
export UV_PYTHON := $(shell command -v $(PYTHON))
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy

.PHONY: portal-bundle run test lint bench bench-e2e bench-soak fuzz install servers prerequisites test-tools clean help

help:
	@echo "make run    install everything and start the whole platform (Ctrl-C stops it)"
	@echo "make test   install everything, lint, and run every test"
	@echo "make lint   ruff (check and format), mypy --strict over src and tests, ESLint over the portal"
	@echo "make bench  benchmarks (numbers printed, never asserted)"
	@echo "make bench-e2e  the end-to-end load benchmark alone;  make bench-soak  the same for ten minutes, per minute"
	@echo "make fuzz  a longer fuzzing run"

# Java 17+, Maven and cargo, checked before anything else is done (one line per missing tool).
prerequisites:
	@$(PYTHON) deploy/local/prerequisites.py

# Apache Kafka's jars (Maven) and secantusd-rs (cargo), fetched or built once per machine into
# ~/.cache/motcua/ (MOTCUA_CACHE_DIR) and reused by every clone afterwards.
servers: install
	@$(PY) -m motcua.devtools.devservers build

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.synced: $(UV) pyproject.toml uv.lock libs/common/pyproject.toml $(wildcard services/*/pyproject.toml)
	$(UV) sync --frozen --all-groups
	@touch $@

install: $(VENV)/.synced

# The browser tests drive Debian's Chromium (installed once) and run axe-core from the portal's lockfile.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium

portal/node_modules/.package-lock.json: portal/package.json portal/package-lock.json
	cd portal && npm ci --no-audit --no-fund
	@touch $@

test-tools: $(CHROMIUM) portal/node_modules/.package-lock.json

# The portal's modules bundled by esbuild (portal/build.mjs) into static/dist/, rebuilt when a module changes;
# the gateway serves the modules themselves (with modulepreload) whenever the bundle is missing or stale.
STATIC := services/gateway/src/motcua/gateway/static
PORTAL_BUNDLE := $(STATIC)/dist/sources.sha256
$(PORTAL_BUNDLE): portal/node_modules/.package-lock.json portal/build.mjs $(shell find $(STATIC)/js $(STATIC)/vendor -type f)
	cd portal && npm run --silent build

portal-bundle: $(PORTAL_BUNDLE)

# The slips' PDFs are typeset in DejaVu Serif (Vietnamese glyphs), from Debian's fonts-dejavu-core.
SLIP_FONT := /usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf
$(SLIP_FONT):
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq fonts-dejavu-core

run: prerequisites install servers $(SLIP_FONT) $(PORTAL_BUNDLE)
	$(PY) deploy/local/run.py

# The same checks run before each commit when pre-commit is installed (.pre-commit-config.yaml).
PORTAL_JS := services/gateway/src/motcua/gateway/static/js portal eslint.config.mjs
lint: install portal/node_modules/.package-lock.json
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	portal/node_modules/.bin/eslint $(PORTAL_JS)

test: prerequisites install servers test-tools $(SLIP_FONT) $(PORTAL_BUNDLE) lint
	$(VENV)/bin/pytest -q -ra --durations=25 -n $(TEST_WORKERS) --dist loadfile

bench: prerequisites install servers $(SLIP_FONT) $(PORTAL_BUNDLE)
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

bench-e2e: prerequisites install servers $(SLIP_FONT)
	$(PY) bench/e2e.py

# Ten minutes of the same load: per-minute throughput, latency and email lag; fails if any dossier lacks its email.
bench-soak: prerequisites install servers $(SLIP_FONT)
	$(PY) bench/e2e.py --seconds 600

fuzz: prerequisites install servers $(SLIP_FONT)
	FUZZ_EXAMPLES=150 FUZZ_RANDOM=1 $(VENV)/bin/pytest -q -s tests/pressure/test_fuzz.py

clean:
	rm -rf var .venv .tools
