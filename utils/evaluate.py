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
"""

from __future__ import annotations

import math
import numbers
import tempfile
from pathlib import Path
from typing import Mapping, Sequence

from utils import data

__all__ = [
    "SIMILARITY_SETS", "PAPER_TABLE3", "PAPER_TABLE3_SOURCE", "evaluate_all", "evaluate_similarity",
    "evaluate_analogies", "table", "report", "assert_beats",
]

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


def _evaluate_scws(kv, path: Path, restrict_vocab) -> tuple[float, float]:
    # ratings.txt: id, word1, POS1, word2, POS2, context1, context2, mean rating, 10 ratings.
    # Without contexts, each pair is an ordinary word pair: reuse evaluate_word_pairs' rules.
    rows = []
    for line in Path(path).read_text(encoding="utf8").splitlines():
        fields = line.split("\t")
        if len(fields) >= 8:
            rows.append(f"{fields[1]}\t{fields[3]}\t{fields[7]}")
    with tempfile.TemporaryDirectory() as tmp:
        pairs = Path(tmp) / "scws-pairs.tsv"
        pairs.write_text("\n".join(rows) + "\n", encoding="utf8")
        _, spearman, oov = kv.evaluate_word_pairs(pairs, restrict_vocab=restrict_vocab)
    return 100 * float(spearman.statistic), float(oov)


def evaluate_analogies(kv, name: str = "questions-words", restrict_vocab: int | None = 30000) -> dict[str, float]:
    """Analogy accuracy in % ("analogy", "semantic", "syntactic") and the % of questions
    skipped for out-of-vocabulary words ("oov")."""
    path = data.fetch(name, quiet=True)
    score, sections = kv.evaluate_word_analogies(path, restrict_vocab=restrict_vocab)
    parts = {"semantic": [0, 0], "syntactic": [0, 0]}
    for section in sections[:-1]:  # the last one is "Total accuracy"
        part = parts["syntactic" if section["section"].startswith("gram") else "semantic"]
        part[0] += len(section["correct"])
        part[1] += len(section["correct"]) + len(section["incorrect"])
    answered = sum(total for _, total in parts.values())
    questions = _count_questions(path)
    return {
        "analogy": 100 * score,
        "semantic": 100 * parts["semantic"][0] / parts["semantic"][1] if parts["semantic"][1] else 0.0,
        "syntactic": 100 * parts["syntactic"][0] / parts["syntactic"][1] if parts["syntactic"][1] else 0.0,
        "oov": 100 * (questions - answered) / questions,
    }


def _count_questions(path: Path) -> int:
    with open(path, encoding="utf8") as f:
        return sum(1 for line in f if not line.startswith(": ") and len(line.split()) == 4)


def evaluate_all(kv, similarity_sets: Sequence[str] = SIMILARITY_SETS, analogies: str | None = "questions-words",
                 restrict_vocab: int | None = 30000) -> dict:
    """Score `kv` on every similarity set and the analogy set.

    Returns a dict: one Spearman x 100 per similarity set (keyed by its name), then
    "analogy", "semantic", "syntactic" accuracies in %, "oov" (a dict: % of pairs or
    questions skipped per set, "analogy" for the analogy set) and "restrict_vocab".
    Only the first `restrict_vocab` words answer (word2vec's and gensim's convention; None
    for all): compare models with the same value.
    """
    results: dict = {}
    oov: dict[str, float] = {}
    for name in similarity_sets:
        results[name], oov[name] = evaluate_similarity(kv, name, restrict_vocab)
    if analogies:
        scores = evaluate_analogies(kv, analogies, restrict_vocab)
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
