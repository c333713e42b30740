# leafspine: two commands on a fresh Debian 12 machine, as root:
#   make demo   runs the main job on the built-in lab
#   make test   runs the test suite
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# python3-venv: Debian's python3 has no ensurepip without it (a fresh Debian 12 machine)
DEB_PACKAGES := python3 python3-venv frr frr-pythontools unbound dnsutils libyang2-tools iproute2 iputils-ping procps librsvg2-bin
STAMP := $(VENV)/.installed

.PHONY: setup deb demo test bench lint golden labs clean

setup: deb $(STAMP)

deb:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to install$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# the lab starts its own FRR daemons per namespace; the system service must not hold the sockets
	@if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q frr 2>/dev/null; then systemctl stop frr || true; fi

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

demo: setup
	$(BIN)/python -m fabric.demo

test: setup
	$(BIN)/ruff check fabric bgp tests
	$(BIN)/mypy
	$(BIN)/pytest -q -p no:cacheprovider tests

bench: setup
	$(BIN)/pytest -q tests/bench --benchmark-only --benchmark-columns=min,median,max,rounds

lint: setup
	$(BIN)/ruff check fabric bgp tests
	$(BIN)/mypy

golden: setup
	$(BIN)/python -m tests.golden.regen

labs: setup
	$(BIN)/python -m tests.golden.labs

clean:
	rm -rf $(VENV) build .pytest_cache
