# One entry point for students, instructors and CI.  `make course` and `make test` do all
# set-up themselves: they create .venv on first use and install the package (editable) into it.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The CPU build keeps set-up small and fast; a GPU user can say `make TORCH=torch course`
# (or install their own build first: pyproject.toml only asks for torch>=2.2).
TORCH  ?= torch==2.13.0

.PHONY: course test env release grade clean

env: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install "$(TORCH)"
	$(PY) -m pip install -e ".[dev]"
	touch $@

## Execute every lecture notebook on the embedded default data into build/ (notebook + HTML).
course: env
	$(PY) -m utils.course lectures --out build

## Unit tests and nbval over every lecture and solution notebook.
test: env
	$(PY) -m pytest

clean:
	rm -rf build
