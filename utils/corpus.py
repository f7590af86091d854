"""Corpora, tokenising, vocabularies and integer encoding.

Every trainer in `utils` consumes an `EncodedCorpus`: all tokens of all sentences as one
int32 array plus sentence offsets, so windows, counts and subsampling are array operations
rather than Python loops over tokens.

Corpora come from three places:
- embedded in the package (`toy_corpus`, `cs224n_toy_corpus`, `default_corpus`), so the
  course runs with no network and no mirror;
- NLTK's own corpus readers (`nltk_corpus`, `reuters`, `benchmark_corpus`), with the
  corpus files found through `utils.data` (mirror, cache or NLTK's downloader);
- plain files registered in `utils.data` (`sst_sentences`).
"""

from __future__ import annotations

import lzma
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

# The lecture's worked example (CS224N lecture 2, window-based co-occurrence matrix).
LECTURE_TOY_SENTENCES = ["I like deep learning .", "I like NLP .", "I enjoy flying ."]

# CS224N homework 1's toy corpus, with its <START>/<END> markers.
CS224N_TOY_SENTENCES = [
    "<START> All that glitters isn't gold <END>",
    "<START> All's well that ends well <END>",
]

_ALPHABETIC = re.compile(r"[a-z]+")


def tokenize(text: str) -> list[str]:
    """Lower-case `text` and keep its alphabetic runs (text8-style): "Don't stop!" -> don, t, stop."""
    return _ALPHABETIC.findall(text.lower())


def normalize_tokens(tokens: Iterable[str]) -> list[str]:
    """Lower-case already-tokenised words and drop those that are not purely alphabetic."""
    return [t.lower() for t in tokens if t.isalpha()]


def toy_corpus() -> list[list[str]]:
    """The lecture's three sentences, case and the final "." kept, as in the slide's matrix."""
    return [s.split() for s in LECTURE_TOY_SENTENCES]


def cs224n_toy_corpus() -> list[list[str]]:
    """CS224N homework 1's two-sentence corpus, tokens kept exactly as the homework has them."""
    return [s.split() for s in CS224N_TOY_SENTENCES]


# --------------------------------------------------------------------------------------
# Vocabulary and encoding


@dataclass
class EncodedCorpus:
    """A corpus as integer ids.

    ids:     int32 (N,)   every kept token of every sentence, concatenated
    offsets: int64 (S+1,) sentence s is ids[offsets[s]:offsets[s+1]]
    vocab:   the Vocabulary the ids index into
    """

    ids: np.ndarray
    offsets: np.ndarray
    vocab: "Vocabulary"

    @property
    def num_tokens(self) -> int:
        return int(self.ids.shape[0])

    @property
    def num_sentences(self) -> int:
        return int(self.offsets.shape[0] - 1)

    def sentence_ids(self) -> np.ndarray:
        """int64 (N,): the index of the sentence each token belongs to."""
        lengths = np.diff(self.offsets)
        return np.repeat(np.arange(self.num_sentences, dtype=np.int64), lengths)

    def sentences(self) -> list[list[str]]:
        """Decode back to words (for inspection; slow on large corpora)."""
        words = np.asarray(self.vocab.index_to_key, dtype=object)
        return [list(words[self.ids[a:b]]) for a, b in zip(self.offsets[:-1], self.offsets[1:])]


class Vocabulary:
    """Words sorted by descending frequency (ties: first occurrence), id 0 the most frequent.

    index_to_key: list[str] (V,)
    key_to_index: dict[str, int]
    counts:       int64 (V,) corpus frequency of each word
    """

    def __init__(self, index_to_key: Sequence[str], counts: Sequence[int]):
        if len(index_to_key) != len(counts):
            raise ValueError(f"{len(index_to_key)} words but {len(counts)} counts")
        self.index_to_key = list(index_to_key)
        self.key_to_index = {word: i for i, word in enumerate(self.index_to_key)}
        if len(self.key_to_index) != len(self.index_to_key):
            raise ValueError("the vocabulary has duplicate words")
        self.counts = np.asarray(counts, dtype=np.int64)

    @classmethod
    def of(cls, corpus, min_count: int = 1, max_size: int | None = None) -> "Vocabulary":
        """The vocabulary a trainer uses for `corpus`: an EncodedCorpus brings its own (the
        counts were already cut), sentences are counted by `build`."""
        if isinstance(corpus, EncodedCorpus):
            return corpus.vocab
        return cls.build(corpus, min_count=min_count, max_size=max_size)

    @classmethod
    def build(
        cls,
        sentences: Iterable[Sequence[str]],
        min_count: int = 1,
        max_size: int | None = None,
    ) -> "Vocabulary":
        """Count words; keep those seen at least `min_count` times, at most `max_size` of them."""
        counter: Counter[str] = Counter()
        for sentence in sentences:
            counter.update(sentence)
        if not counter:
            raise ValueError(
                "the corpus is empty: no tokens to build a vocabulary from. "
                "Check that the corpus loaded (e.g. len(sentences)) and that tokenising kept words."
            )
        # sorted() is stable and Counter keeps insertion order, so ties stay in first-seen order.
        ranked = sorted(counter.items(), key=lambda item: -item[1])
        kept = [(w, c) for w, c in ranked if c >= min_count][:max_size]
        if not kept:
            raise ValueError(
                f"min_count={min_count} removes every word (the most frequent word occurs "
                f"{ranked[0][1]} times); lower min_count."
            )
        return cls([w for w, _ in kept], [c for _, c in kept])

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __contains__(self, word: str) -> bool:
        return word in self.key_to_index

    def __repr__(self) -> str:
        head = ", ".join(self.index_to_key[:5])
        return f"Vocabulary({len(self)} words: {head}, ...; {int(self.counts.sum())} tokens)"

    def encode(self, sentences: Iterable[Sequence[str]] | EncodedCorpus) -> EncodedCorpus:
        """Map every in-vocabulary token to its id; out-of-vocabulary tokens are dropped.

        An EncodedCorpus is returned as it is if its ids index this vocabulary's words.
        """
        if isinstance(sentences, EncodedCorpus):
            if sentences.vocab is not self and sentences.vocab.index_to_key != self.index_to_key:
                raise ValueError(
                    f"this EncodedCorpus was encoded with another vocabulary ({len(sentences.vocab):,} words, "
                    f"this one has {len(self):,}): pass the sentences, or build the vocabulary from this corpus"
                )
            return sentences
        lookup = self.key_to_index.get
        chunks: list[np.ndarray] = []
        lengths: list[int] = []
        for sentence in sentences:
            ids = [i for i in map(lookup, sentence) if i is not None]
            chunks.append(np.asarray(ids, dtype=np.int32))
            lengths.append(len(ids))
        ids = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int32)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        if ids.size == 0:
            raise ValueError(
                "encoding kept no tokens: the sentences are empty or share no word with the "
                "vocabulary (was the vocabulary built from a different corpus?)"
            )
        return EncodedCorpus(ids=ids, offsets=offsets, vocab=self)


def keep_probabilities(counts: np.ndarray, sample: float = 1e-3) -> np.ndarray:
    """Probability of keeping each occurrence of each word, float64 (V,).

    word2vec's subsampling of frequent words (Mikolov et al. 2013, as in the C code and
    gensim): with f the word's count and t = sample * total,
        P_keep(w) = (sqrt(f / t) + 1) * t / f, clipped to 1.
    Words rarer than about t are always kept; "the" is kept a few times in a hundred.
    `sample=0` keeps everything.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0:
        return np.ones_like(counts)
    threshold = sample * counts.sum()
    with np.errstate(divide="ignore"):
        keep = (np.sqrt(counts / threshold) + 1.0) * threshold / counts
    return np.minimum(keep, 1.0)


def subsample(corpus: EncodedCorpus, sample: float, rng: np.random.Generator) -> EncodedCorpus:
    """Drop frequent-word occurrences at random (see `keep_probabilities`); one draw per token."""
    keep = rng.random(corpus.num_tokens) < keep_probabilities(corpus.vocab.counts, sample)[corpus.ids]
    kept_before = np.zeros(corpus.num_tokens + 1, dtype=np.int64)
    np.cumsum(keep, out=kept_before[1:])
    return EncodedCorpus(ids=corpus.ids[keep], offsets=kept_before[corpus.offsets], vocab=corpus.vocab)


# --------------------------------------------------------------------------------------
# Real corpora


def default_corpus(max_tokens: int | None = None) -> list[list[str]]:
    """The embedded, licence-clean training corpus: about 2.8 million tokens.

    NLTK's Gutenberg selection (public domain), State of the Union addresses (public domain)
    and Pang & Lee's movie reviews (CC BY 4.0), lower-cased alphabetic tokens, one sentence
    per line. Provenance: utils/embedded/README.md. `max_tokens` keeps the first sentences
    up to that many tokens (for quick runs).
    """
    from utils import data

    sentences: list[list[str]] = []
    total = 0
    with lzma.open(data.fetch("default-corpus"), "rt", encoding="utf-8") as lines:
        for line in lines:
            sentence = line.split()
            sentences.append(sentence)
            total += len(sentence)
            if max_tokens is not None and total >= max_tokens:
                break
    return sentences


# Which NLTK corpora make up the default and the benchmark corpora.
DEFAULT_CORPUS_PARTS = ("gutenberg", "state_union", "movie_reviews")
BENCHMARK_CORPUS_PARTS = (
    "abc", "brown", "conll2000", "gutenberg", "movie_reviews", "reuters", "state_union", "webtext",
)


def nltk_corpus(name: str):
    """An NLTK corpus reader for `name` (e.g. "reuters", "brown"), its files found by `utils.data`."""
    from utils import data

    data.ensure_nltk_corpus(name)
    import nltk.corpus

    reader = getattr(nltk.corpus, name)
    reader.ensure_loaded()
    return reader


def nltk_sentences(name: str, fileids=None, categories=None) -> list[list[str]]:
    """Sentences of an NLTK corpus, lower-cased alphabetic tokens, empty sentences dropped.

    Sentences are cut after sentence-final punctuation tokens (".", "!", "?", "?!", ...) of
    the reader's own word tokenisation, the same rule for every corpus, so no Punkt model
    is needed.
    """
    reader = nltk_corpus(name)
    kwargs = {}
    if fileids is not None:
        kwargs["fileids"] = fileids
    if categories is not None:
        kwargs["categories"] = categories
    return split_sentences(reader.words(**kwargs))


_SENTENCE_END = re.compile(r"^[^\w]*[.!?][^\w]*$")


def split_sentences(words: Iterable[str]) -> list[list[str]]:
    """Cut a token stream into sentences at sentence-final punctuation; keep alphabetic tokens, lower-cased."""
    sentences: list[list[str]] = []
    current: list[str] = []
    for word in words:
        if word.isalpha():
            current.append(word.lower())
        elif _SENTENCE_END.match(word) and current:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


def reuters(categories: str | Sequence[str] | None = "gold") -> list[list[str]]:
    """Reuters-21578 (ApteMod) documents of the given categories, as CS224N homework 1 reads them.

    Each document is one list: "<START>", its lower-cased words (NLTK's tokenisation, no
    filtering), "<END>". `categories=None` reads every document. The corpus is for research
    use only, so it is never embedded: it comes from the mirror, the cache or NLTK's downloader.
    """
    reader = nltk_corpus("reuters")
    files = reader.fileids(categories) if categories is not None else reader.fileids()
    if not files:
        raise ValueError(f"no Reuters documents in categories {categories!r}; see reader.categories()")
    return [["<START>"] + [w.lower() for w in reader.words(f)] + ["<END>"] for f in files]


def benchmark_corpus(parts: Sequence[str] = BENCHMARK_CORPUS_PARTS) -> list[list[str]]:
    """The concatenation of NLTK corpora (about 6.3 million tokens): the benchmark's training data.

    Lower-cased alphabetic tokens, sentence by sentence (text8-style tokens, but sentence
    boundaries kept). Needs the corpora from a mirror or from NLTK's downloader.
    """
    sentences: list[list[str]] = []
    for name in parts:
        sentences.extend(nltk_sentences(name))
    return sentences


def sst_sentences(split: str | None = None) -> list[list[str]]:
    """Stanford Sentiment Treebank sentences, the corpus of CS224N homework 2.

    Tokenised and lower-cased as homework 2's reader does (split on spaces, lower-case,
    -LRB-/-RRB- kept as tokens). `split` is "train", "test", "dev" or None (all 11,855).
    """
    from utils import data

    sentences_path = data.fetch("sst-sentences")
    split_ids = None
    if split is not None:
        codes = {"train": "1", "test": "2", "dev": "3"}
        if split not in codes:
            raise ValueError(f"split must be one of {sorted(codes)} or None, not {split!r}")
        with open(data.fetch("sst-split"), encoding="utf-8") as f:
            next(f)
            split_ids = {line.split(",")[0] for line in f if line.strip().split(",")[1] == codes[split]}
    sentences = []
    with open(sentences_path, encoding="utf-8") as f:
        next(f)  # header: sentence_index<TAB>sentence
        for line in f:
            index, text = line.rstrip("\n").split("\t", 1)
            if split_ids is None or index in split_ids:
                sentences.append(text.lower().split())
    return sentences


def write_default_corpus(path: Path | str) -> int:
    """Rebuild the embedded default corpus from the NLTK corpora (needs them locally).

    This is how utils/embedded/default_corpus.txt.xz was made:
        python -c "import utils.corpus as c; c.write_default_corpus('utils/embedded/default_corpus.txt.xz')"
    Returns the number of tokens written. The write is atomic.
    """
    from utils.data import atomic_write

    sentences = [s for name in DEFAULT_CORPUS_PARTS for s in nltk_sentences(name)]
    text = "".join(" ".join(s) + "\n" for s in sentences)
    with atomic_write(Path(path)) as tmp:
        with lzma.open(tmp, "wt", encoding="utf-8", preset=9 | lzma.PRESET_EXTREME) as out:
            out.write(text)
    return sum(len(s) for s in sentences)
