"""Tokenising, vocabularies, encoding, subsampling and the corpus loaders."""

from __future__ import annotations

import numpy as np
import pytest

from utils import corpus, data


def test_tokenize_is_text8_style():
    assert corpus.tokenize("Don't STOP me now, 2024!") == ["don", "t", "stop", "me", "now"]


def test_vocabulary_orders_by_count_then_first_occurrence():
    vocab = corpus.Vocabulary.build([["b", "a", "c", "a"], ["c", "d"]])
    assert vocab.index_to_key == ["a", "c", "b", "d"]
    assert vocab.counts.tolist() == [2, 2, 1, 1]
    assert vocab.key_to_index["b"] == 2


def test_vocabulary_min_count_and_max_size():
    sentences = [["a"] * 5 + ["b"] * 3 + ["c"] * 2 + ["d"]]
    assert corpus.Vocabulary.build(sentences, min_count=2).index_to_key == ["a", "b", "c"]
    assert corpus.Vocabulary.build(sentences, max_size=2).index_to_key == ["a", "b"]
    with pytest.raises(ValueError, match="lower min_count"):
        corpus.Vocabulary.build(sentences, min_count=6)


def test_empty_corpus_is_a_clear_error():
    with pytest.raises(ValueError, match="corpus is empty"):
        corpus.Vocabulary.build([[], []])


def test_encode_drops_unknown_words_and_keeps_sentence_offsets():
    vocab = corpus.Vocabulary.build([["a", "b", "a"]])
    encoded = vocab.encode([["a", "zzz", "b"], ["zzz"], ["b"]])
    assert encoded.ids.dtype == np.int32 and encoded.offsets.dtype == np.int64
    assert encoded.ids.tolist() == [0, 1, 1]
    assert encoded.offsets.tolist() == [0, 2, 2, 3]
    assert encoded.sentences() == [["a", "b"], [], ["b"]]
    assert encoded.sentence_ids().tolist() == [0, 0, 2]


def test_an_encoded_corpus_brings_its_vocabulary_and_is_not_encoded_twice():
    sentences = [["a", "b", "a"], ["c", "a", "b"]]
    vocab = corpus.Vocabulary.build(sentences)
    encoded = vocab.encode(sentences)
    assert corpus.Vocabulary.of(encoded, min_count=5) is vocab  # its counts were cut already
    assert corpus.Vocabulary.of(sentences, min_count=2).index_to_key == ["a", "b"]
    assert vocab.encode(encoded) is encoded
    assert corpus.Vocabulary(vocab.index_to_key, vocab.counts).encode(encoded) is encoded  # the same words
    other = corpus.Vocabulary.build([["b", "a", "b"]])
    with pytest.raises(ValueError, match="encoded with another vocabulary"):
        other.encode(encoded)


def test_keep_probabilities_follow_word2vec_formula():
    counts = np.array([100_000, 50, 1])
    keep = corpus.keep_probabilities(counts, sample=1e-3)
    t = 1e-3 * counts.sum()
    assert keep[0] == pytest.approx((np.sqrt(100_000 / t) + 1) * t / 100_000)
    assert keep[1] == keep[2] == 1.0  # rarer than the threshold: always kept
    assert corpus.keep_probabilities(counts, sample=0).tolist() == [1, 1, 1]


def test_subsample_matches_expected_rates_and_keeps_offsets_consistent():
    rng = np.random.default_rng(0)
    sentences = [["the"] * 50 + ["rare"] for _ in range(400)]
    encoded = corpus.Vocabulary.build(sentences).encode(sentences)
    kept = corpus.subsample(encoded, 1e-2, rng)
    expected = corpus.keep_probabilities(encoded.vocab.counts, 1e-2)[0]
    the_kept = np.count_nonzero(kept.ids == 0)
    assert abs(the_kept / 20000 - expected) < 0.02
    assert np.count_nonzero(kept.ids == 1) == 400  # rare words always survive
    assert kept.offsets[-1] == kept.num_tokens and np.all(np.diff(kept.offsets) >= 1)


def test_toy_corpora():
    assert corpus.toy_corpus()[0] == ["I", "like", "deep", "learning", "."]
    assert corpus.cs224n_toy_corpus()[1][:3] == ["<START>", "All's", "well"]


def test_split_sentences_cuts_at_final_punctuation():
    words = ["Hello", ",", "World", ".", "Is", "it", "?!", "\".", "Yes", "2"]
    assert corpus.split_sentences(words) == [["hello", "world"], ["is", "it"], ["yes"]]


def test_default_corpus_is_embedded_and_sized():
    sentences = corpus.default_corpus()
    tokens = sum(map(len, sentences))
    assert 2_500_000 < tokens < 3_000_000
    assert all(w.isalpha() and w.islower() for s in sentences[:1000] for w in s)
    assert sum(map(len, corpus.default_corpus(max_tokens=10_000))) < 10_500


needs_mirror = pytest.mark.skipif(not data.available("reuters"), reason="needs NLTK corpora (set WV_MIRROR)")


@needs_mirror
def test_reuters_gold_as_homework_1_reads_it():
    docs = corpus.reuters("gold")
    assert len(docs) == 124
    assert docs[0][0] == "<START>" and docs[0][-1] == "<END>"


@needs_mirror
def test_sst_sentences_and_split():
    everything = corpus.sst_sentences()
    assert len(everything) == 11855
    assert everything[0][:3] == ["the", "rock", "is"]
    assert len(corpus.sst_sentences("train")) + len(corpus.sst_sentences("dev")) + len(corpus.sst_sentences("test")) == 11855
