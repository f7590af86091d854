# One entry point for students, instructors and CI.  `make course` and `make test` do all
# set-up themselves: they create .venv on first use and install the package (editable) into it.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The CPU build keeps set-up small and fast; a GPU user can say `make TORCH=torch course`
# (or install their own build first: pyproject.toml only asks for torch>=2.2).
TORCH  ?= torch==2.13.0

.PHONY: course test env release grade benchmark bench-glove bench-ner slides table3 check manual merge clean

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

## Grade submissions: make grade SUBMISSIONS=submissions/hw1 OUT=grades/hw1 [ASSIGNMENT=hw1_cooccurrence_svd] [JOBS=2] [SANDBOX=bwrap] [ROSTER=roster.csv]
## (JOBS defaults to the number of CPU cores; SANDBOX to auto: bwrap when it works, else a warning)
SUBMISSIONS ?= submissions
OUT         ?= grades
JOBS        ?=
SANDBOX     ?= auto
grade: env
	$(PY) -m utils.grading grade $(SUBMISSIONS) --out $(OUT) --sandbox $(SANDBOX) $(if $(JOBS),--jobs $(JOBS)) $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT)) $(if $(ROSTER),--roster $(ROSTER))

## Hand grading: make manual OUT=grades/hw1 (writes manual.html, manual.csv), fill in the CSV, make merge OUT=grades/hw1
manual: env
	$(PY) -m utils.grading manual $(OUT)
merge: env
	$(PY) -m utils.grading merge $(OUT)

## For students: make check NOTEBOOK=my_hw1.ipynb (right assignment? readable? runs top to bottom?)
check: env
	$(PY) -m utils.grading check $(NOTEBOOK)

## Word2vec speed and quality against gensim and word2vec.c (needs WV_MIRROR for the benchmark corpus).
benchmark: env
	$(PY) -m pip install -e ".[dev,bench]"
	$(PY) benchmarks/bench_word2vec.py

## Every lecture as reveal.js slides that work offline: build/slides/*.slides.html (+ vendor/).
## The tagger runs on a copy; `$(PY) -m utils.slides tag lectures/*.ipynb` writes the metadata.
slides: env node_modules/.package-lock.json
	$(PY) -m utils.slides build lectures/*.ipynb --out build/slides

# reveal.js, MathJax 2, require.js and jQuery at the versions package-lock.json pins.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund

## The GloVe paper's Table 3 on the benchmark corpus -> benchmarks/results/table3.csv (needs WV_MIRROR).
table3: env
	$(PY) benchmarks/table3.py

## GloVe speed and quality against the reference C code (needs gcc, make and WV_MIRROR).
bench-glove: env
	$(PY) benchmarks/bench_glove.py

## Window NER tagger on CoNLL-2003 with each vector set (needs WV_MIRROR: CoNLL-2003 is research-only).
bench-ner: env
	$(PY) benchmarks/bench_ner.py

clean:
	rm -rf build
