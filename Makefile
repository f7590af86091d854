# One entry point for students, instructors and CI.  `make course` and `make test` do all
# set-up themselves: they create .venv on first use and install the package (editable) into it.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The CPU build keeps set-up small and fast; a GPU user can say `make TORCH=torch course`
# (or install their own build first: pyproject.toml only asks for torch>=2.2).
TORCH  ?= torch==2.13.0

.PHONY: course test env release grade benchmark clean

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

## Regenerate assignments/*.ipynb from solutions/*.ipynb, then commit them (docs/grading.md).
release: env
	$(PY) -m utils.grading release

## Grade submissions: make grade SUBMISSIONS=submissions/hw1 OUT=grades/hw1 [ASSIGNMENT=hw1_cooccurrence_svd] [JOBS=2]
SUBMISSIONS ?= submissions
OUT         ?= grades
JOBS        ?= 1
grade: env
	$(PY) -m utils.grading grade $(SUBMISSIONS) --out $(OUT) --jobs $(JOBS) $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT))

## Word2vec speed and quality against gensim (needs WV_MIRROR for the benchmark corpus).
benchmark: env
	$(PY) benchmarks/bench_word2vec.py

## Window NER tagger on CoNLL-2003 with each vector set (needs WV_MIRROR: CoNLL-2003 is research-only).
.PHONY: bench-ner
bench-ner: env
	$(PY) benchmarks/bench_ner.py

clean:
	rm -rf build
