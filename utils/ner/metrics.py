"""Entity-level precision, recall and F1: the CoNLL shared task's measure (conlleval, seqeval).

An entity counts as found only when its type and both boundaries match a gold entity
exactly; a tagger that gets "Paris" right but stops "Paris Hilton" one word early scores a
false positive *and* a false negative. Token accuracy, by contrast, is dominated by the O tag
(over 80 % of tokens) and says little.

Chunks are read as conlleval reads them: an entity starts at B-X, or at I-X when the previous
tag is O or of another type (a malformed I- without B- still starts an entity), and
continues while the tags are I-X. Sentences never share an entity.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from utils.ner.conll import split_tag


def entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """The entities in one tag sequence as (type, start, end), end exclusive.

    >>> entities(["B-PER", "I-PER", "O", "I-LOC", "B-LOC"])
    [('PER', 0, 2), ('LOC', 3, 4), ('LOC', 4, 5)]
    """
    found = []
    start, current = None, None
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, entity_type = split_tag(tag)
        continues = prefix == "I" and entity_type == current
        if current is not None and not continues:
            found.append((current, start, i))
            current = None
        if prefix != "O" and not continues:
            start, current = i, entity_type
    return found


@dataclass(frozen=True)
class Score:
    """Precision, recall and F1 in [0, 1]; `support` gold entities, `predicted` predicted ones."""

    precision: float
    recall: float
    f1: float
    support: int
    predicted: int

    @classmethod
    def from_counts(cls, correct: int, predicted: int, gold: int) -> "Score":
        precision = correct / predicted if predicted else 0.0
        recall = correct / gold if gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return cls(precision, recall, f1, gold, predicted)


@dataclass(frozen=True)
class EntityScores:
    """Per entity type and overall (micro-averaged over all entities) scores."""

    per_type: dict[str, Score]
    overall: Score

    @property
    def f1(self) -> float:
        return self.overall.f1

    def __str__(self) -> str:
        lines = [f"{'':<8}{'precision':>10}{'recall':>8}{'F1':>7}{'gold':>7}{'found':>7}"]
        for name, s in [*self.per_type.items(), ("overall", self.overall)]:
            lines.append(f"{name:<8}{100 * s.precision:>10.1f}{100 * s.recall:>8.1f}{100 * s.f1:>7.1f}"
                         f"{s.support:>7}{s.predicted:>7}")
        return "\n".join(lines)


def entity_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> EntityScores:
    """Entity precision, recall, F1 of `predicted` tag sequences against `gold` ones (one per sentence)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted ones")
    gold_count, predicted_count, correct_count = Counter(), Counter(), Counter()
    for i, (g, p) in enumerate(zip(gold, predicted)):
        if len(g) != len(p):
            raise ValueError(f"sentence {i}: {len(g)} gold tags but {len(p)} predicted ones")
        gold_entities, predicted_entities = set(entities(g)), set(entities(p))
        gold_count.update(t for t, _, _ in gold_entities)
        predicted_count.update(t for t, _, _ in predicted_entities)
        correct_count.update(t for t, _, _ in gold_entities & predicted_entities)
    types = sorted(set(gold_count) | set(predicted_count))
    per_type = {t: Score.from_counts(correct_count[t], predicted_count[t], gold_count[t]) for t in types}
    overall = Score.from_counts(sum(correct_count.values()), sum(predicted_count.values()), sum(gold_count.values()))
    return EntityScores(per_type, overall)


ERROR_KINDS = ("wrong type", "wrong boundary", "missed", "spurious")


def entity_errors(gold: Sequence[str], predicted: Sequence[str]) -> list[tuple[str, tuple | None, tuple | None]]:
    """The mistakes in one sentence as (kind, gold entity, predicted entity), kinds in ERROR_KINDS:
    same span other type; overlapping span (any type); a gold entity nothing overlaps; a
    predicted entity no gold one overlaps. Each wrong entity is reported once."""
    gold_entities, predicted_entities = set(entities(gold)), set(entities(predicted))
    exact = gold_entities & predicted_entities
    gold_left, predicted_left = sorted(gold_entities - exact, key=lambda e: e[1]), sorted(predicted_entities - exact, key=lambda e: e[1])
    errors, used = [], set()
    for g in gold_left:
        overlapping = [p for p in predicted_left if p[1] < g[2] and g[1] < p[2]]
        if not overlapping:
            errors.append(("missed", g, None))
            continue
        p = overlapping[0]
        used.update(overlapping)
        errors.append(("wrong type" if (p[1], p[2]) == (g[1], g[2]) else "wrong boundary", g, p))
    errors += [("spurious", None, p) for p in predicted_left if p not in used]
    return errors
