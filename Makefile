# Two commands set up a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_EXT := /usr/share/postgresql/15/extension
PG_DEBS := postgresql-15-postgis-3 postgresql-15-pgrouting

.PHONY: run test test-pure lint bench install pg-packages db demo assets browser

$(BIN)/wangge: setup.cfg pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ needed, found " + sys.version'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/wangge

# PostGIS and pgRouting come from Debian; install them when missing (root only).
pg-packages:
	@if [ -n "$$DATABASE_URL" ]; then echo "DATABASE_URL is set: using that server"; \
	elif [ -f $(PG_EXT)/postgis.control ] && [ -f $(PG_EXT)/pgrouting.control ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PG_DEBS); \
	else \
		echo "PostGIS/pgRouting are missing. Run as root: apt-get update && apt-get install -y $(PG_DEBS)"; exit 1; \
	fi

# Leaflet and its plugins from npm, so maps work on an intranet with no internet.
var/static/vendor/.installed: $(BIN)/wangge maps/assets.py
	$(BIN)/wangge assets
	touch $@

assets: var/static/vendor/.installed

# Headless Chromium and a CJK font for the map tests (Debian's; nothing is downloaded at test time).
BROWSER_DEBS := chromium fonts-wqy-microhei
browser:
	@if command -v chromium >/dev/null && [ -d /usr/share/fonts/truetype/wqy ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_DEBS); \
	else echo "Chromium or a CJK font is missing. Run as root: apt-get update && apt-get install -y $(BROWSER_DEBS)"; exit 1; fi

db: install assets pg-packages
	$(BIN)/wangge db start
	$(BIN)/wangge db upgrade

demo: db
	$(BIN)/wangge demo --load

run: demo
	$(BIN)/wangge serve

# The whole suite; a skipped db or browser test fails the run (nothing may stand in for a feature).
test: lint db browser
	$(BIN)/python -m pytest -q --fail-on-skip

# The pure tests alone (no database, no browser): under a minute.
test-pure: install
	$(BIN)/python -m pytest -q -m "not db and not browser"

# Import contracts (the layers), ruff (with complexity at 15), the format, and mypy on the inner layers.
lint: install
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy geo store core

# ApacheBench drives the intake benchmark (Debian's apache2-utils).
bench: db
	@command -v ab >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq apache2-utils; } \
		|| { echo "ab is missing. Run as root: apt-get install -y apache2-utils"; exit 1; }
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run.py
