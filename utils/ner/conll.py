"""Reading CoNLL-format NER data: one token a line, its tag in the last column, blank lines
between sentences, `-DOCSTART-` lines between documents.

CoNLL-2003 and wikigold are tagged in IOB1: `I-X` inside an entity of type X, and `B-X` only
where an entity starts right after another entity of the same type. The readers convert to
BIO (IOB2: every entity starts with `B-X`), the scheme taggers and `seqeval` expect.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from utils.data import fetch

SCHEMES = ("iob1", "bio")
CONLL2003_SPLITS = {"train": "train", "dev": "testa", "testa": "testa", "test": "testb", "testb": "testb"}


class NERFormatError(ValueError):
    """A line of a CoNLL file could not be read; the message names the file and line."""


@dataclass(frozen=True)
class Sentence:
    """One tagged sentence: tokens[i] has tag tags[i] (BIO); `document` counts -DOCSTART- lines."""

    tokens: tuple[str, ...]
    tags: tuple[str, ...]
    document: int = 0

    def __len__(self) -> int:
        return len(self.tokens)


def split_tag(tag: str) -> tuple[str, str | None]:
    """'B-PER' -> ('B', 'PER'), 'O' -> ('O', None); ValueError for anything else."""
    if tag == "O":
        return "O", None
    prefix, dash, entity_type = tag.partition("-")
    if dash and prefix in ("B", "I") and entity_type:
        return prefix, entity_type
    raise ValueError(f"tag {tag!r} is not O, B-TYPE or I-TYPE")


def iob1_to_bio(tags: Sequence[str]) -> list[str]:
    """IOB1 -> BIO: an I-X that starts an entity (after O, at the start, or after another type) becomes B-X."""
    bio, previous_type = [], None
    for tag in tags:
        prefix, entity_type = split_tag(tag)
        if prefix == "I" and entity_type != previous_type:
            tag = f"B-{entity_type}"
        bio.append(tag)
        previous_type = entity_type
    return bio


def read_conll(path: str | Path, scheme: str = "iob1", tag_column: int = -1) -> list[Sentence]:
    """Sentences of a CoNLL file (token in the first column, tag in `tag_column`), tags as BIO.

    Blank lines end sentences (several in a row are fine), `-DOCSTART-` lines start a new
    document, trailing whitespace is ignored. A line with a single column or an unknown tag
    raises NERFormatError naming the file and the line number.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, not {scheme!r}")
    path = Path(path)
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    document = 0
    seen_docstart = False

    def finish():
        if tokens:
            bio = iob1_to_bio(tags) if scheme == "iob1" else list(tags)
            sentences.append(Sentence(tuple(tokens), tuple(bio), document))
            tokens.clear()
            tags.clear()

    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            line = line.rstrip()
            if not line:
                finish()
                continue
            columns = line.split()
            if columns[0] == "-DOCSTART-":
                finish()
                document += seen_docstart
                seen_docstart = True
                continue
            if len(columns) < 2:
                raise NERFormatError(
                    f"{path}:{number}: expected a token and a tag separated by whitespace, got {line!r}. "
                    f"Is this a CoNLL file (one token a line, the NE tag in the last column)?")
            tag = columns[tag_column]
            try:
                split_tag(tag)
            except ValueError as error:
                raise NERFormatError(f"{path}:{number}: {error} (line {line!r})") from None
            tokens.append(columns[0])
            tags.append(tag)
    finish()
    if not sentences:
        raise NERFormatError(f"{path}: no tagged tokens found")
    return sentences


def load_conll2003(split: str = "train") -> list[Sentence]:
    """CoNLL-2003 English: split "train", "dev"/"testa" or "test"/"testb" (research-only data:
    from $WV_MIRROR or the cache, never embedded; see utils/data.py)."""
    if split not in CONLL2003_SPLITS:
        raise ValueError(f"CoNLL-2003 splits are {sorted(CONLL2003_SPLITS)}, not {split!r}")
    return read_conll(fetch(f"conll2003-{CONLL2003_SPLITS[split]}"), scheme="iob1")


def load_wikigold() -> list[Sentence]:
    """wikigold (CC BY 4.0, embedded): 1,696 sentences, 39,007 tokens of Wikipedia articles."""
    return read_conll(fetch("wikigold"), scheme="iob1")


def wikigold_splits(dev_share: float = 0.1, test_share: float = 0.1, seed: int = 0) -> dict[str, list[Sentence]]:
    """wikigold split by whole documents (so no article is in two splits): train / dev / test."""
    sentences = load_wikigold()
    documents = np.random.default_rng(seed).permutation(max(s.document for s in sentences) + 1)
    n_test, n_dev = round(test_share * len(documents)), round(dev_share * len(documents))
    split_of = {int(d): "test" for d in documents[:n_test]}
    split_of.update({int(d): "dev" for d in documents[n_test:n_test + n_dev]})
    splits: dict[str, list[Sentence]] = {"train": [], "dev": [], "test": []}
    for sentence in sentences:
        splits[split_of.get(sentence.document, "train")].append(sentence)
    return splits


def tag_set(sentences: Sequence[Sentence]) -> list[str]:
    """All tags used, O first, then by entity type and B before I."""
    tags = {tag for s in sentences for tag in s.tags} | {"O"}
    return sorted(tags, key=lambda t: (t != "O", split_tag(t)[1] or "", t))
