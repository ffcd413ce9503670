# `make test` is the README's test command. tests/run does the work, so it also runs where make is
# not installed yet: it installs what the tests need (Debian packages and the locale with sudo where
# it needs root, .venv, actionlint) and runs pytest. `make test PYTHON=python3.11` picks the venv's Python.
PYTHON ?= python3

.PHONY: test
test:
	PYTHON=$(PYTHON) bash tests/run
