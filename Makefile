# The two commands of the quick start: `make demo` and `make test`. Each sets up what it needs first.
PYTHON ?= python3
VENV   := .venv
PIP    := $(VENV)/bin/pip

.PHONY: demo test setup browser

demo: setup
	$(VENV)/bin/normalcy demo

test: setup browser
	$(VENV)/bin/python -m pytest -q

setup: $(VENV)/.installed

# torch/torchvision and every other dependency at the tested versions (constraints.txt)
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e '.[demo,dev,gpu]'
	touch $@

# Browser tests drive Debian's chromium (never `playwright install`: it downloads a browser)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium; }
