"""The lectures' committed outputs keep two promises of the developers' guide:

1. every printed evaluation (a table of benchmark scores, a Spearman or accuracy figure) is
   printed with its coverage: how many pairs or questions were skipped as out of vocabulary;
2. every cell that trains a model is followed by an assertion against a baseline (random
   vectors, the untrained model, the objective before training), so that nbval keeps
   "it learned something" true when the code or the data change.

The checks read the committed notebooks (their sources and stored outputs); nbval checks that
the stored outputs are what the code prints. They apply to every notebook in lectures/,
including those added later.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

LECTURES = sorted((Path(__file__).resolve().parent.parent / "lectures").glob("*.ipynb"))

# A printed evaluation: utils.evaluate.table's header ("model  ws353  men ..."), or a line
# that reports a Spearman correlation or an accuracy on a named benchmark, with a number.
# (A Spearman correlation of something else, e.g. with word frequency, is not one.)
_BENCHMARKS = r"(ws353(-sim|-rel)?|simlex999|men|rw|mc30|rg65|scws|analogy|semantic|syntactic)"
_NAMED = r"(ws-?353|wordsim|simlex|\bmen\b|\brw\b|rare words|mc-?30|rg-?65|scws|analog)"
EVALUATION = re.compile(
    rf"^\s*model\s+.*\b{_BENCHMARKS}\b"
    rf"|^[^\n]*\b(spearman|accuracy)\b[^\n]*{_NAMED}[^\n]*\d[^\n]*$"
    rf"|^[^\n]*{_NAMED}[^\n]*\b(spearman|accuracy)\b[^\n]*\d[^\n]*$",
    re.IGNORECASE | re.MULTILINE,
)
# Its coverage: a line that names what was skipped or covered and gives an amount
# (a percentage, a decimal, or "N of M"); "Spearman x 100" alone is not one.
COVERAGE_WORDS = re.compile(r"(?i)\boov\b|out[- ]of[- ]vocabulary|skipped|coverage|covered|in (the )?vocabulary")
AMOUNT = re.compile(r"\d+(\.\d+)?\s*%|\b\d[\d,]*\s+of\s+\d[\d,]*\b|\b\d+\.\d+\b")

# A cell that trains a model: .fit(...), train_xxx(...), .train(<arguments>) — not model.train()
TRAINING = re.compile(r"\.fit\(|\btrain_[a-z0-9_]+\(|\.train\(\s*[^)\s]")
# A baseline assertion: assert_beats(...); an assert that names what it compares with; or an
# assert that one number beats another by a margin ("assert ours > theirs + 0.2").
BASELINE = re.compile(
    r"\bassert_beats\("
    r"|^\s*assert\b[^\n]*\b(baseline|random|untrained|before|initial|chance|majority|uniform|linear)"
    r"|^\s*assert\b[^\n]*[<>]=?[^\n]*[+-]\s*\d",
    re.IGNORECASE | re.MULTILINE,
)


def _output_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif "data" in output and "text/plain" in output["data"] and "image/png" not in output["data"]:
            parts.append(output["data"]["text/plain"])
    return "".join(parts)


def _strip_comments(source: str) -> str:
    return "\n".join(line.split("#", 1)[0] if not line.lstrip().startswith("#") else "" for line in source.splitlines())


def has_coverage(text: str) -> bool:
    """A line naming coverage with an amount, or (a table) a coverage heading printed after the
    scores with numbers in the lines below it. A heading above the scores does not count."""
    lines = text.splitlines()
    if any(COVERAGE_WORDS.search(line) and AMOUNT.search(line) for line in lines):
        return True
    first = EVALUATION.search(text)
    start = text[:first.start()].count("\n") + 1 if first else 0
    return any(COVERAGE_WORDS.search(line) and any(re.search(r"\b\d+\.\d+\b", below) for below in lines[i + 1:i + 5])
               for i, line in enumerate(lines) if i >= start)


def evaluations_without_coverage(notebook) -> list[str]:
    """Code cells whose stored output prints an evaluation but no coverage."""
    problems = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        text = _output_text(cell)
        if EVALUATION.search(text) and not has_coverage(text):
            first = EVALUATION.search(text).group(0).strip()
            problems.append(f"cell {index} prints an evaluation ({first[:60]!r}) without its coverage "
                            "(% or number of pairs / questions skipped as OOV): use utils.evaluate.report")
    return problems


def training_without_baseline(notebook) -> list[str]:
    """Code cells that train a model with no baseline assertion in that cell or any later one."""
    code = [(i, _strip_comments(c.source)) for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
    problems = []
    for position, (index, source) in enumerate(code):
        if not TRAINING.search(source) or re.search(r"^\s*def\s", source, re.MULTILINE) and not _calls_outside_def(source):
            continue
        if not any(BASELINE.search(later) for _, later in code[position:]):
            problems.append(f"cell {index} trains a model, but no later cell asserts that it beats a baseline "
                            "(utils.evaluate.assert_beats, or assert ... against random / untrained / before)")
    return problems


def _calls_outside_def(source: str) -> bool:
    """Whether a training call appears at the top level of the cell, not only inside a def."""
    top_level, inside = [], False
    for line in source.splitlines():
        if re.match(r"\s*def\s", line):
            inside = True
            continue
        if inside and (line.startswith((" ", "\t")) or not line.strip()):
            continue
        inside = False
        top_level.append(line)
    return bool(TRAINING.search("\n".join(top_level)))


@pytest.mark.parametrize("path", LECTURES, ids=[p.name for p in LECTURES])
def test_every_evaluation_is_printed_with_its_coverage(path):
    problems = evaluations_without_coverage(nbformat.read(path, as_version=4))
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("path", LECTURES, ids=[p.name for p in LECTURES])
def test_every_trained_model_is_asserted_against_a_baseline(path):
    problems = training_without_baseline(nbformat.read(path, as_version=4))
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


# -- the checks themselves can fail --------------------------------------------------------------

def _notebook(*cells):
    nb = nbformat.v4.new_notebook()
    for source, printed in cells:
        cell = nbformat.v4.new_code_cell(source)
        if printed:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
        nb.cells.append(cell)
    return nb


SCORES = "model         ws353  simlex999   men\n------------  -----  ---------  ----\nskip-gram      31.9       25.9  44.4\n"


def test_an_evaluation_without_coverage_is_caught():
    bare = _notebook(("print(table(results))", SCORES))
    assert len(evaluations_without_coverage(bare)) == 1
    header_only = _notebook(("print(table(results))", "Spearman x 100 (OOV pairs are skipped)\n" + SCORES))
    assert len(evaluations_without_coverage(header_only)) == 1
    spearman = _notebook(("print(rho)", "Spearman rho on WS353: 0.62\n"))
    assert len(evaluations_without_coverage(spearman)) == 1
    accuracy = _notebook(("print(acc)", "analogy accuracy 61.2 %\n"))
    assert len(evaluations_without_coverage(accuracy)) == 1


def test_an_evaluation_with_coverage_passes():
    with_table = _notebook(("print(report(results))", SCORES + "\n% skipped as out of vocabulary (OOV)\n"
                            "model  ws353\n-----  -----\nskip-gram   18.1\n"))
    assert evaluations_without_coverage(with_table) == []
    inline = _notebook(("print(rho)", "Spearman rho on WS353: 0.62 (244 of 353 pairs in the vocabulary)\n"))
    assert evaluations_without_coverage(inline) == []
    neighbours = _notebook(("print(neighbours)", "men: women, boys, soldiers\n"))
    assert evaluations_without_coverage(neighbours) == []
    other = _notebook(("print(rho)", "Spearman(u_1, row total of X) = 0.967\n"))
    assert evaluations_without_coverage(other) == []


def test_training_without_a_baseline_assertion_is_caught():
    assert len(training_without_baseline(_notebook(("wv = Word2Vec(epochs=5).fit(sentences)", None)))) == 1
    assert len(training_without_baseline(_notebook(("wv = train_glove(corpus)", None),
                                                   ("assert scores['ws353'] > 20", None)))) == 1
    assert len(training_without_baseline(_notebook(("wv = train_glove(corpus)", None),
                                                   ("assert loss < 0.5 and len(vocab) > 1000", None)))) == 1
    # an assertion that comes before the training does not count
    assert len(training_without_baseline(_notebook(("assert random['ws353'] < 10", None),
                                                   ("wv = model.train(encoded)", None)))) == 1


def test_training_with_a_baseline_assertion_passes():
    assert training_without_baseline(_notebook(("wv = Word2Vec().fit(sentences)", None),
                                               ("assert_beats(ours, random, ['ws353'], margin=10)", None))) == []
    assert training_without_baseline(_notebook(("wv = model.train(encoded)\nassert after < before - 1", None))) == []
    assert training_without_baseline(_notebook(("acc = train_network(8)", None),
                                               ("assert acc > linear_accuracy + 0.2", None))) == []
    # model.train() (torch's training mode) and a def are not training calls
    assert training_without_baseline(_notebook(("net.train()", None))) == []
    assert training_without_baseline(_notebook(("def run(c):\n    return Word2Vec().fit(c)", None))) == []
