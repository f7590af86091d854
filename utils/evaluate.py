"""One call to score word vectors on the standard intrinsic benchmarks, and a table to
compare several models (and the GloVe paper's published numbers) side by side.

    from utils.evaluate import evaluate_all, table, PAPER_TABLE3
    ours = evaluate_all(kv)                          # kv: utils.vectors.WordVectors
    print(table({**PAPER_TABLE3, "GloVe 6B 50d (ours)": ours}))
    print(table({"GloVe 6B 50d (ours)": ours["oov"]}))   # % of pairs / questions skipped
    print(report({"random": evaluate_all(random_kv), "ours": ours}))   # scores + coverage
    assert_beats(ours, baseline=evaluate_all(random_kv), columns=["ws353", "men"], margin=10)

Word similarity: Spearman rank correlation x 100 between cosine similarity and human
scores (`WordVectors.evaluate_word_pairs`, gensim's rules: case-insensitive, pairs with a
word outside the first `restrict_vocab` words skipped). Analogies: accuracy in % with
3CosAdd (`WordVectors.evaluate_word_analogies`), overall and split as word2vec splits the
Google set: sections named "gram..." are syntactic, the others semantic.

Analogy variants (`evaluate_analogies(method=..., discard_inputs=...)`), for the lecture's
"why are the input words discarded?" and Levy & Goldberg's (2014) 3CosMul:

    3CosAdd:  d = argmax_i cos(x_i, x_b - x_a + x_c)
    3CosMul:  d = argmax_i cos'(x_i, x_b) cos'(x_i, x_c) / (cos'(x_i, x_a) + 1e-6),  cos' = (1 + cos) / 2

with i over the first `restrict_vocab` words, a, b and c excluded unless
`discard_inputs=False`. Every variant answers what gensim answers on the same vectors:
3CosAdd with discarding is gensim's `evaluate_word_analogies`; 3CosMul with discarding is
the first word of `most_similar_cosmul`; without discarding, the argmax of gensim's full
score arrays (`most_similar(..., topn=None)`, whose arrays include the inputs).

SCWS (Huang et al. 2012) gives each word pair in two sentence contexts. Single-vector
models cannot use a context, so, as the GloVe paper scores its Table 3, each of the 2,003
rows is scored as a plain word pair: cosine of the two words' vectors against the mean
human rating (`scws_word_pairs`). 241 rows pair a word with itself in two contexts
("bank" by a river, "bank" lending money: ratings 0-10) and 17 rows repeat a pair: a
single vector gives each of these one cosine whatever the contexts, which caps what such a
model can reach. Multi-prototype models (lecture 06) are what SCWS was made for.
"""

from __future__ import annotations

import math
import numbers
import tempfile
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch

from utils import data

__all__ = [
    "SIMILARITY_SETS", "ANALOGY_METHODS", "PAPER_TABLE3", "PAPER_TABLE3_SOURCE", "evaluate_all",
    "evaluate_similarity", "evaluate_analogies", "analogy_questions_answered", "analogy_sections", "scws_word_pairs",
    "table",
    "report", "assert_beats",
]

ANALOGY_METHODS = ("3cosadd", "3cosmul")

SIMILARITY_SETS = ("ws353", "ws353-sim", "ws353-rel", "simlex999", "men", "rw", "mc30", "rg65")
"""Word-similarity sets `evaluate_all` scores by default (names of `utils.data.fetch`).
"scws" may be added: it is scored without its contexts, one vector per word, as the GloVe
paper scores single-prototype models."""

PAPER_TABLE3_SOURCE = (
    "Pennington, Socher & Manning (2014), GloVe: Global Vectors for Word Representation, "
    "EMNLP, Table 3: Spearman rank correlation x 100 on word similarity tasks, 300-dimensional "
    "vectors (published numbers, not computed here)"
)

_TABLE3_COLUMNS = ("ws353", "mc30", "rg65", "scws", "rw")
_TABLE3_ROWS = [
    # model, corpus, WS353, MC, RG, SCWS, RW
    ("SVD", "6B", 35.3, 35.1, 42.5, 38.3, 25.6),
    ("SVD-S", "6B", 56.5, 71.5, 71.0, 53.6, 34.7),
    ("SVD-L", "6B", 65.7, 72.7, 75.1, 56.5, 37.0),
    ("CBOW", "6B", 57.2, 65.6, 68.2, 57.0, 32.5),
    ("SG", "6B", 62.8, 65.2, 69.7, 58.1, 37.2),
    ("GloVe", "6B", 65.8, 72.7, 77.8, 53.9, 38.1),
    ("SVD-L", "42B", 74.0, 76.4, 74.1, 58.3, 39.9),
    ("GloVe", "42B", 75.9, 83.6, 82.9, 59.6, 47.8),
    ("CBOW", "100B", 68.4, 79.6, 75.4, 59.4, 45.5),
]
PAPER_TABLE3: dict[str, dict[str, float]] = {
    f"paper: {model} {corpus} 300d": dict(zip(_TABLE3_COLUMNS, scores))
    for model, corpus, *scores in _TABLE3_ROWS
}
"""The GloVe paper's Table 3 (see PAPER_TABLE3_SOURCE), keyed like `evaluate_all`'s
results ("ws353", "mc30", "rg65", "scws", "rw"), one entry per model, labelled "paper: ..."."""


def evaluate_similarity(kv, name: str, restrict_vocab: int | None = 30000) -> tuple[float, float]:
    """(Spearman x 100, OOV %) of `kv` on the registered similarity set `name`."""
    path = data.fetch(name, quiet=True)
    if name == "scws":
        return _evaluate_scws(kv, path, restrict_vocab)
    _, spearman, oov = kv.evaluate_word_pairs(path, restrict_vocab=restrict_vocab)
    return 100 * float(spearman.statistic), float(oov)


def scws_word_pairs(path=None) -> list[tuple[str, str, float]]:
    """SCWS without its contexts: (word1, word2, mean rating 0-10) for each of its rows.

    ratings.txt has, tab-separated: id, word1, POS1, word2, POS2, context1, context2, mean
    rating, then the 10 individual ratings. Pairs repeat (same words, other contexts)."""
    path = data.fetch("scws", quiet=True) if path is None else path
    rows = []
    for line in Path(path).read_text(encoding="utf8").splitlines():
        fields = line.split("\t")
        if len(fields) >= 8:
            rows.append((fields[1], fields[3], float(fields[7])))
    return rows


def _evaluate_scws(kv, path: Path, restrict_vocab) -> tuple[float, float]:
    """Each row as a plain word pair, by gensim's `evaluate_word_pairs` rules (case-insensitive,
    a word outside the first `restrict_vocab` skips the pair, OOV % of all rows).

    SCWS has 241 rows whose two words are the same ("bank"/"bank" in two contexts): their
    cosine is 1 up to the last float32 bit, so gensim ranks them among themselves by rounding,
    which differs from one CPU to another (0.1-0.2 points of the score). Here they score exactly
    1.0, tied, so the score is the same on every machine. Every other cosine is computed with
    gensim's own arithmetic (`KeyedVectors.similarity`: unit vectors scaled in float64 by BLAS,
    then a float32 dot product)."""
    from scipy import stats
    from scipy.linalg.blas import dnrm2, dscal

    def unit(vector):  # gensim.matutils.unitvec on a float32 row
        length = dnrm2(vector)
        return dscal(1.0 / length, vector).astype(vector.dtype) if length > 0 else vector

    stop = kv._stop(restrict_vocab)
    ok_vocab = {w.upper(): i for i, w in reversed(list(enumerate(kv.index_to_key[:stop])))}
    gold, model, oov = [], [], 0
    for a, b, rating in scws_word_pairs(path):
        ia, ib = ok_vocab.get(a.upper()), ok_vocab.get(b.upper())
        if ia is None or ib is None:
            oov += 1
            continue
        gold.append(rating)
        model.append(1.0 if ia == ib else np.dot(unit(kv.vectors[ia]), unit(kv.vectors[ib])))
    if not gold:
        raise ValueError(f"every SCWS pair is out of vocabulary for {kv}")
    return 100 * float(stats.spearmanr(gold, model).statistic), 100 * oov / (len(gold) + oov)


def evaluate_analogies(kv, name: str = "questions-words", restrict_vocab: int | None = 30000,
                       method: str = "3cosadd", discard_inputs: bool = True) -> dict[str, float]:
    """Analogy accuracy in % ("analogy", "semantic", "syntactic") and the % of questions
    skipped for out-of-vocabulary words ("oov"). `method` is "3cosadd" or "3cosmul";
    `discard_inputs=False` lets a, b or c be the answer (see the module docstring)."""
    path = data.fetch(name, quiet=True)
    score, sections = analogy_sections(kv, path, restrict_vocab, method, discard_inputs)
    parts = _semantic_syntactic(sections)
    answered = sum(total for _, total in parts.values())
    questions = _count_questions(path)
    return {
        "analogy": 100 * score,
        "semantic": 100 * parts["semantic"][0] / parts["semantic"][1] if parts["semantic"][1] else 0.0,
        "syntactic": 100 * parts["syntactic"][0] / parts["syntactic"][1] if parts["syntactic"][1] else 0.0,
        "oov": 100 * (questions - answered) / questions,
    }


def _semantic_syntactic(sections) -> dict[str, list[int]]:
    """{"semantic": [correct, answered], "syntactic": [...]} from `analogy_sections`' sections
    (Mikolov et al.'s split: the "gram*" sections are syntactic)."""
    parts = {"semantic": [0, 0], "syntactic": [0, 0]}
    for section in sections[:-1]:  # the last one is "Total accuracy"
        part = parts["syntactic" if section["section"].startswith("gram") else "semantic"]
        part[0] += len(section["correct"])
        part[1] += len(section["correct"]) + len(section["incorrect"])
    return parts


def analogy_questions_answered(kv, name: str = "questions-words", restrict_vocab: int | None = 30000) -> dict[str, int]:
    """How many semantic and syntactic questions `kv` answers (the rest have a word outside its
    first `restrict_vocab` words): what an accuracy from `evaluate_analogies` rests on."""
    _, sections = analogy_sections(kv, data.fetch(name, quiet=True), restrict_vocab)
    return {part: answered for part, (_, answered) in _semantic_syntactic(sections).items()}


def analogy_sections(kv, analogies, restrict_vocab: int | None = 30000, method: str = "3cosadd",
                     discard_inputs: bool = True) -> tuple[float, list[dict]]:
    """(score, sections) exactly as `WordVectors.evaluate_word_analogies` (and gensim) return
    them, for any `method` and `discard_inputs`. Questions are read and skipped by gensim's
    rules (case-insensitive; a word outside the first `restrict_vocab` skips the question)."""
    if method not in ANALOGY_METHODS:
        raise ValueError(f"method must be one of {ANALOGY_METHODS}, not {method!r}")
    if method == "3cosadd" and discard_inputs:
        return kv.evaluate_word_analogies(analogies, restrict_vocab=restrict_vocab)
    stop = kv._stop(restrict_vocab)
    keys = kv.index_to_key[:stop]
    ok_vocab = {w.upper(): i for i, w in reversed(list(enumerate(keys)))}  # most frequent spelling wins
    sections, questions = [], []
    with open(analogies, encoding="utf8") as fin:
        for line in fin:
            if line.startswith(": "):
                sections.append({"section": line.lstrip(": ").strip(), "correct": [], "incorrect": []})
                continue
            words = tuple(w.upper() for w in line.split())
            if len(words) != 4 or not sections:
                continue
            if all(w in ok_vocab for w in words):
                questions.append((sections[-1], words))
    if questions:
        abc = np.array([[ok_vocab[w] for w in words[:3]] for _, words in questions], dtype=np.int64)
        predicted = _answer(kv, abc, stop, method, discard_inputs)
        for (section, words), index in zip(questions, predicted):
            section["correct" if keys[index].upper() == words[3] else "incorrect"].append(words)
    correct = [q for s in sections for q in s["correct"]]
    incorrect = [q for s in sections for q in s["incorrect"]]
    sections.append({"section": "Total accuracy", "correct": correct, "incorrect": incorrect})
    score = len(correct) / (len(correct) + len(incorrect)) if questions else 0.0
    return score, sections


def _answer(kv, abc: np.ndarray, stop, method: str, discard_inputs: bool) -> list[int]:
    """Row of the best answer to each question (ia, ib, ic), in blocks of questions. The
    arithmetic is gensim's (most_similar's mean of unit vectors, most_similar_cosmul's
    shifted cosines), so the answers are gensim's, ties included."""
    normed = kv.get_normed_vectors()
    width = len(kv) if stop is None else min(stop, len(kv))
    block = max(1, (1 << 23) // (3 * width))
    answers: list[int] = []
    for start in range(0, len(abc), block):
        rows = abc[start:start + block]
        a, b, c = (normed[rows[:, j]] for j in range(3))
        if method == "3cosadd":
            mean = ((b + c) - a).astype(np.float64) / 3.0  # gensim: weights (1, 1, -1) / 3
            norms = np.linalg.norm(mean, axis=1, keepdims=True)
            mean = (mean * (1.0 / np.where(norms > 0, norms, 1.0))).astype(np.float32)
            scores = kv._scores(mean, stop)
        else:  # in place, the same float operations as gensim's ((1 + cos) / 2 ...)
            scores = kv._scores(b, stop).add_(1).div_(2)
            scores.mul_(kv._scores(c, stop).add_(1).div_(2))
            scores.div_(kv._scores(a, stop).add_(1).div_(2).add_(0.000001))
        if discard_inputs:
            scores.scatter_(1, torch.from_numpy(rows).to(scores.device), float("-inf"))
        answers.extend(scores.argmax(dim=1).tolist())
    return answers


def _count_questions(path: Path) -> int:
    with open(path, encoding="utf8") as f:
        return sum(1 for line in f if not line.startswith(": ") and len(line.split()) == 4)


def evaluate_all(kv, similarity_sets: Sequence[str] = SIMILARITY_SETS, analogies: str | None = "questions-words",
                 restrict_vocab: int | None = 30000, analogy_method: str = "3cosadd") -> dict:
    """Score `kv` on every similarity set and the analogy set.

    Returns a dict: one Spearman x 100 per similarity set (keyed by its name), then
    "analogy", "semantic", "syntactic" accuracies in %, "oov" (a dict: % of pairs or
    questions skipped per set, "analogy" for the analogy set) and "restrict_vocab".
    Only the first `restrict_vocab` words answer (word2vec's and gensim's convention; None
    for all): compare models with the same value. `analogy_method`: "3cosadd" or "3cosmul".
    """
    results: dict = {}
    oov: dict[str, float] = {}
    for name in similarity_sets:
        results[name], oov[name] = evaluate_similarity(kv, name, restrict_vocab)
    if analogies:
        scores = evaluate_analogies(kv, analogies, restrict_vocab, method=analogy_method)
        oov["analogy"] = scores.pop("oov")
        results.update(scores)
    results["oov"] = oov
    results["restrict_vocab"] = restrict_vocab
    return results


_COLUMN_ORDER = (*SIMILARITY_SETS, "scws", "analogy", "semantic", "syntactic")


def table(results: Mapping[str, Mapping[str, object]], columns: Sequence[str] | None = None, digits: int = 1,
          markdown: bool = False) -> str:
    """Models as rows, scores as columns, aligned as plain text (or a markdown table).

    `results` maps a model name to a dict such as `evaluate_all` returns (or PAPER_TABLE3's
    entries). Columns are every number found, in order of first appearance, unless given;
    a score a model lacks shows as "-". Non-numeric entries (the "oov" dict) are skipped;
    pass `{name: r["oov"] for name, r in results.items()}` to tabulate those.
    """
    if not results:
        raise ValueError("table needs at least one model's results")
    if columns is None:
        found = []
        for scores in results.values():
            for key, value in scores.items():
                if _is_number(value) and key not in found and key != "restrict_vocab":
                    found.append(key)
        # the usual benchmarks in a fixed order, then anything else as found
        columns = [key for key in _COLUMN_ORDER if key in found] + [k for k in found if k not in _COLUMN_ORDER]
    columns = list(columns)
    header = ["model", *columns]
    body = []
    for model, scores in results.items():
        row = [str(model)]
        for column in columns:
            value = scores.get(column)
            row.append(f"{value:.{digits}f}" if _is_number(value) else "-")
        body.append(row)
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * len(columns)) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]

    def fmt(row):
        return "  ".join([row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:])])

    return "\n".join([fmt(header), "  ".join("-" * w for w in widths), *map(fmt, body)])


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def report(results: Mapping[str, Mapping[str, object]], columns: Sequence[str] | None = None,
           digits: int = 1) -> str:
    """The scores table and, under it, the coverage of every score: % of pairs (similarity)
    or questions (analogy) skipped as out of vocabulary, per model and column.

    A score means little without its coverage (a model that knows only easy words skips the
    hard pairs), so notebooks print scores with this rather than `table` alone. `results`
    are `evaluate_all` dicts; "semantic" / "syntactic" take the analogy set's coverage.
    """
    scores = table(results, columns=columns, digits=digits)
    columns = scores.splitlines()[0].split()[1:]
    coverage = {}
    for model, result in results.items():
        oov = result.get("oov") if isinstance(result, Mapping) else None
        if not isinstance(oov, Mapping):
            raise ValueError(f"{model!r} has no 'oov' entry: pass evaluate_all's results to report()")
        coverage[model] = {c: oov.get("analogy" if c in ("semantic", "syntactic") else c) for c in columns}
    restrict = {r.get("restrict_vocab") for r in results.values()}
    answered_by = (f"the first {restrict.pop():,} words answer" if len(restrict) == 1 and None not in restrict
                   else "all words answer" if restrict == {None} else "models answer with different vocabularies")
    kinds = [kind for kind, present in (
        ("Spearman x 100 (similarity sets)", any(c not in ("analogy", "semantic", "syntactic") for c in columns)),
        ("accuracy % (analogy)", any(c in ("analogy", "semantic", "syntactic") for c in columns))) if present]
    return "\n".join([
        f"scores: {', '.join(kinds)}; {answered_by}",
        scores,
        "",
        "% of pairs / questions skipped as out of vocabulary (OOV)",
        table(coverage, columns=columns, digits=digits),
    ])


def assert_beats(results: Mapping[str, object], baseline: Mapping[str, object], columns: Sequence[str],
                 margin: float) -> None:
    """Raise AssertionError unless `results` beat `baseline` by more than `margin` points on
    every one of `columns` (scores as `evaluate_all` returns them). Notebooks call this after
    training, so nbval keeps the claim "the model learned something" true."""
    if not columns:
        raise ValueError("assert_beats needs at least one column to compare")
    failures = []
    for column in columns:
        ours, theirs = results.get(column), baseline.get(column)
        if not (_is_number(ours) and _is_number(theirs)):
            raise ValueError(f"no score for {column!r} in both results (have {sorted(results)})")
        if not ours > theirs + margin:
            failures.append(f"{column}: {ours:.1f} vs baseline {theirs:.1f}")
    if failures:
        raise AssertionError(f"the model does not beat its baseline by more than {margin} points: "
                             + "; ".join(failures))
