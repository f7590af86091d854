"""Window features for a tagger: each token with m words on each side, as word ids plus a
capitalisation class, the input of the lecture's window classifier.

Word lookup is lower-cased (the course's vectors and GloVe 6B are lower-case); what case
tells, "Paris" vs "paris", goes into a separate capitalisation feature, as in the classic
window taggers (Collobert et al. 2011).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import torch

PAD_LEFT, PAD_RIGHT, UNKNOWN = "<s>", "</s>", "<unk>"
SPECIALS = (PAD_LEFT, PAD_RIGHT, UNKNOWN)
CASINGS = ("padding", "lower", "first upper", "all upper", "mixed", "non-alphabetic")


def casing(word: str) -> int:
    """Index into CASINGS: lower "paris", first upper "Paris", all upper "EU", mixed "iPhone",
    non-alphabetic "1989" (no letter at all); padding is for the sentence-boundary tokens."""
    letters = [c for c in word if c.isalpha()]
    if not letters:
        return 5
    if all(c.islower() for c in letters):
        return 1
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return 3
    if word[0].isupper() and all(c.islower() for c in letters[1:]):
        return 2
    return 4


def lookup_form(word: str) -> str:
    """The form a word is looked up under in the vocabulary and in word vectors."""
    return word.lower()


class WindowVocabulary:
    """Lower-cased words plus the padding and unknown tokens: ids 0, 1, 2 are <s>, </s>, <unk>.

    index_to_key: list[str] (V,), key_to_index: dict[str, int]
    """

    def __init__(self, words: Iterable[str]):
        self.index_to_key = list(SPECIALS) + [w for w in dict.fromkeys(words) if w not in SPECIALS]
        self.key_to_index = {w: i for i, w in enumerate(self.index_to_key)}

    @classmethod
    def build(cls, train: Iterable[Sequence[str]], vectors=None, other: Iterable[Sequence[str]] = (),
              min_count: int = 2) -> "WindowVocabulary":
        """Training words seen at least `min_count` times, plus every word of `train` or `other`
        that `vectors` (a WordVectors) has a vector for.

        Rarer training words without a vector become <unk>, so that <unk> is trained on real
        rare words and means something at test time. Adding the vectors' words from `other`
        (dev and test) changes nothing when vectors are frozen and equals keeping the whole
        pretrained matrix when they are fine-tuned: those rows keep their pretrained values.
        """
        counts = Counter(lookup_form(w) for tokens in train for w in tokens)
        words = [w for w, c in counts.most_common() if c >= min_count]
        if vectors is not None:
            seen = dict.fromkeys(list(counts) + [lookup_form(w) for tokens in other for w in tokens])
            words += [w for w in seen if w in vectors]
        return cls(words)

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __contains__(self, word: str) -> bool:
        return word in self.key_to_index

    def ids(self, tokens: Sequence[str]) -> np.ndarray:
        """int64 (len(tokens),): each token's id, <unk> where the vocabulary lacks it."""
        unknown = self.key_to_index[UNKNOWN]
        return np.array([self.key_to_index.get(lookup_form(w), unknown) for w in tokens], dtype=np.int64)


@dataclass
class WindowData:
    """Windows of 2m+1 tokens around every token of a list of sentences.

    words:   int64 (N, 2m+1) vocabulary ids, column m the center word
    casings: int64 (N, 2m+1) CASINGS ids
    labels:  int64 (N,) tag ids, or None for untagged text
    lengths: the sentence lengths (sum = N), to split predictions back into sentences
    """

    words: torch.Tensor
    casings: torch.Tensor
    labels: torch.Tensor | None
    lengths: list[int]

    def __len__(self) -> int:
        return self.words.shape[0]


def window_positions(length: int, m: int) -> np.ndarray:
    """int64 (length, 2m+1): for each token, the indices of its window in the sentence padded
    with m tokens on each side."""
    return np.arange(length)[:, None] + np.arange(2 * m + 1)[None, :]


def window_tokens(tokens: Sequence[str], position: int, m: int) -> list[str]:
    """The 2m+1 tokens of the window around tokens[position], with <s> / </s> beyond the sentence."""
    padded = [PAD_LEFT] * m + list(tokens) + [PAD_RIGHT] * m
    return padded[position: position + 2 * m + 1]


def make_windows(sentences: Sequence[Sequence[str]], vocabulary: WindowVocabulary, m: int,
                 tags: Sequence[Sequence[str]] | None = None, tag_to_id: dict[str, int] | None = None) -> WindowData:
    """Window features of every token of `sentences` (token lists); labels when `tags` are given."""
    if m < 0:
        raise ValueError(f"the window half-width m must be >= 0, got {m}")
    if tags is not None and tag_to_id is None:
        raise ValueError("labels need a tag_to_id mapping")
    pad_ids = np.array([vocabulary.key_to_index[PAD_LEFT]] * m), np.array([vocabulary.key_to_index[PAD_RIGHT]] * m)
    words, casings, labels, lengths = [], [], [], []
    for i, tokens in enumerate(sentences):
        if not len(tokens):
            raise ValueError(f"sentence {i} is empty")
        padded_words = np.concatenate([pad_ids[0], vocabulary.ids(tokens), pad_ids[1]]).astype(np.int64)
        padded_casings = np.array([0] * m + [casing(w) for w in tokens] + [0] * m, dtype=np.int64)
        positions = window_positions(len(tokens), m)
        words.append(padded_words[positions])
        casings.append(padded_casings[positions])
        lengths.append(len(tokens))
        if tags is not None:
            if len(tags[i]) != len(tokens):
                raise ValueError(f"sentence {i}: {len(tokens)} tokens but {len(tags[i])} tags")
            try:
                labels.append([tag_to_id[t] for t in tags[i]])
            except KeyError as error:
                raise ValueError(f"sentence {i}: tag {error.args[0]!r} is not in the tag set "
                                 f"{sorted(tag_to_id)}") from None
    if not words:
        raise ValueError("no sentences to make windows from")
    label_tensor = torch.from_numpy(np.concatenate(labels).astype(np.int64)) if tags is not None else None
    return WindowData(torch.from_numpy(np.concatenate(words)), torch.from_numpy(np.concatenate(casings)),
                      label_tensor, lengths)


def coverage(vectors, sentences: Sequence[Sequence[str]]) -> tuple[float, float]:
    """(share of tokens, share of distinct words) of `sentences` that `vectors` has a vector for,
    looked up lower-cased."""
    counts = Counter(lookup_form(w) for tokens in sentences for w in tokens)
    covered = [w for w in counts if w in vectors]
    return sum(counts[w] for w in covered) / sum(counts.values()), len(covered) / len(counts)


def embedding_matrix(vocabulary: WindowVocabulary, vectors=None, dim: int | None = None, seed: int = 0) -> np.ndarray:
    """float32 (V, d): the rows of `vectors` (a WordVectors) for the words it has, N(0, 1) for the rest.

    The vectors are first scaled by one number so their entries have standard deviation 1:
    SVD, word2vec and GloVe vectors differ in scale by orders of magnitude, and the
    comparison should be about what the vectors encode, not about how large they are.
    With `vectors=None` every row is random (the "random init" baseline), d = `dim`.
    """
    rng = np.random.default_rng(seed)
    if vectors is None:
        if dim is None:
            raise ValueError("random embeddings need dim=")
        return rng.standard_normal((len(vocabulary), dim)).astype(np.float32)
    matrix = rng.standard_normal((len(vocabulary), vectors.vector_size)).astype(np.float32)
    rows = [(i, vectors.key_to_index[w]) for i, w in enumerate(vocabulary.index_to_key) if w in vectors]
    if rows:
        ours, theirs = np.array(rows).T
        source = np.asarray(vectors.vectors, dtype=np.float32)
        scale = float(source[theirs].std()) or 1.0
        matrix[ours] = source[theirs] / scale
    return matrix
