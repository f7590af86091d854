"""utils.ner: CoNLL readers, window features, the window classifier and entity-level F1."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import precision_recall_fscore_support

from utils.ner import (CASINGS, PAD_LEFT, PAD_RIGHT, UNKNOWN, NERFormatError, Sentence, WindowClassifier,
                       WindowTagger, WindowVocabulary, binary_window_loss_and_grads, casing, entities,
                       entity_errors, entity_scores, iob1_to_bio, MostFrequentTagBaseline, load_wikigold, make_windows, read_conll, tag_set,
                       train_classifier, wikigold_splits, window_tokens)
from utils.vectors import WordVectors


# --- readers ---------------------------------------------------------------------------

def write(tmp_path, text, name="data.conll"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reader_handles_docstart_blank_lines_and_trailing_whitespace(tmp_path):
    path = write(tmp_path, "-DOCSTART- -X- O O\n\nEU NNP I-NP I-ORG  \nrejects VBZ I-VP O\t\n\n\n\n"
                           "-DOCSTART- -X- O O\n\nPeter NNP I-NP I-PER\nBlackburn NNP I-NP I-PER\n")
    sentences = read_conll(path)
    assert sentences == [Sentence(("EU", "rejects"), ("B-ORG", "O"), 0),
                         Sentence(("Peter", "Blackburn"), ("B-PER", "I-PER"), 1)]


def test_iob1_to_bio():
    assert iob1_to_bio(["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG", "I-ORG"]) == \
        ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG", "I-ORG"]
    assert iob1_to_bio(["B-LOC", "I-LOC", "O"]) == ["B-LOC", "I-LOC", "O"]


def test_bio_files_are_read_unchanged(tmp_path):
    path = write(tmp_path, "Paris B-LOC\nHilton B-PER\nHotel I-PER\n")
    assert read_conll(path, scheme="bio")[0].tags == ("B-LOC", "B-PER", "I-PER")


@pytest.mark.parametrize("bad_line, what", [("Paris\n", "expected a token and a tag"),
                                            ("Paris X-LOC\n", "is not O, B-TYPE or I-TYPE"),
                                            ("Paris B-\n", "is not O, B-TYPE or I-TYPE")])
def test_malformed_line_names_file_and_line(tmp_path, bad_line, what):
    path = write(tmp_path, "-DOCSTART- O\n\nThe O\n" + bad_line)
    with pytest.raises(NERFormatError, match=rf"data\.conll:4: .*{what}"):
        read_conll(path)


def test_empty_file_and_unknown_scheme(tmp_path):
    with pytest.raises(NERFormatError, match="no tagged tokens"):
        read_conll(write(tmp_path, "\n\n-DOCSTART- O\n\n"))
    with pytest.raises(ValueError, match="scheme"):
        read_conll(write(tmp_path, "a O\n"), scheme="iobes")


def test_wikigold_is_embedded_and_split_by_document():
    sentences = load_wikigold()
    tokens = sum(map(len, sentences))
    assert 39_000 < tokens < 40_000 and tag_set(sentences)[0] == "O"
    assert {t for s in sentences for t in s.tags} == set(tag_set(sentences))
    splits = wikigold_splits()
    assert sum(len(v) for v in splits.values()) == len(sentences)
    documents = {name: {s.document for s in part} for name, part in splits.items()}
    assert not (documents["train"] & documents["dev"]) and not (documents["train"] & documents["test"])
    # BIO: no I- follows an O or another type
    for s in sentences:
        for previous, tag in zip(("O",) + s.tags, s.tags):
            assert not tag.startswith("I-") or previous[2:] == tag[2:]


# --- entity F1 against seqeval -------------------------------------------------------------

def test_entities_follow_conlleval():
    assert entities(["B-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG", "I-ORG", "I-PER"]) == \
        [("PER", 0, 2), ("LOC", 3, 4), ("LOC", 4, 5), ("ORG", 5, 7), ("PER", 7, 8)]
    assert entities(["O", "O"]) == []


def random_tags(rng, length, types=("PER", "LOC", "ORG", "MISC")):
    # many malformed sequences: I- without B-, I- of another type, B- B- of one type
    return [rng.choice(["O", "O", "O"] + [f"{p}-{t}" for p in "BI" for t in types]) for _ in range(length)]


def test_entity_scores_equal_seqeval_on_random_sequences():
    rng = random.Random(0)
    for trial in range(300):
        n = rng.randint(1, 8)
        gold = [random_tags(rng, rng.randint(1, 12)) for _ in range(n)]
        predicted = [random_tags(rng, len(g)) if rng.random() < 0.5 else
                     [t if rng.random() < 0.7 else rng.choice(["O", "I-PER", "B-LOC"]) for t in g] for g in gold]
        ours = entity_scores(gold, predicted)
        if ours.overall.support == 0 or ours.overall.predicted == 0:
            continue   # seqeval warns and returns 0 there, as we do; checked below
        assert ours.overall.precision == pytest.approx(precision_score(gold, predicted))
        assert ours.overall.recall == pytest.approx(recall_score(gold, predicted))
        assert ours.f1 == pytest.approx(f1_score(gold, predicted))
        p, r, f, support = precision_recall_fscore_support(gold, predicted, average=None, zero_division=0)
        gold_types = [t for t, s in ours.per_type.items() if s.support > 0]
        # seqeval lists the types found in gold or predictions, sorted, as we do
        assert list(ours.per_type) == sorted(ours.per_type)
        for i, name in enumerate(sorted(ours.per_type)):
            if name in gold_types or ours.per_type[name].predicted:
                assert ours.per_type[name].f1 == pytest.approx(f[i])
                assert ours.per_type[name].support == support[i]


def test_entity_scores_edge_cases():
    perfect = entity_scores([["B-PER", "I-PER", "O"]], [["B-PER", "I-PER", "O"]])
    assert perfect.f1 == 1.0 and perfect.overall.support == 1
    boundary = entity_scores([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]])
    assert boundary.f1 == 0.0 and boundary.overall.predicted == 1   # one word short: wrong
    nothing = entity_scores([["B-PER"]], [["O"]])
    assert nothing.overall.precision == 0.0 and nothing.f1 == 0.0
    with pytest.raises(ValueError, match="sentence 0"):
        entity_scores([["O", "O"]], [["O"]])
    assert "overall" in str(perfect)


def test_entity_errors_name_each_mistake_once():
    gold = ["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG", "O", "O"]
    pred = ["B-PER", "O", "O", "B-ORG", "O", "O", "O", "B-MISC"]
    assert entity_errors(gold, pred) == [("wrong boundary", ("PER", 0, 2), ("PER", 0, 1)),
                                         ("wrong type", ("LOC", 3, 4), ("ORG", 3, 4)),
                                         ("missed", ("ORG", 5, 6), None),
                                         ("spurious", None, ("MISC", 7, 8))]
    assert entity_errors(gold, gold) == []


def test_most_frequent_tag_baseline():
    train = [Sentence(("Paris", "is", "big"), ("B-LOC", "O", "O")), Sentence(("Paris",), ("B-PER",)),
             Sentence(("in", "Paris"), ("O", "B-LOC"))]
    baseline = MostFrequentTagBaseline().fit(train)
    assert baseline.predict([["Paris", "Oslo"]]) == [["B-LOC", "O"]]
    assert baseline.evaluate(train).f1 == pytest.approx(2 * (2 / 3) * (2 / 3) / (4 / 3))


# --- windows ------------------------------------------------------------------------------

def test_casing_classes():
    got = {w: CASINGS[casing(w)] for w in ["paris", "Paris", "EU", "U.S.", "iPhone", "McDonald", "1989", ",", "A"]}
    assert got == {"paris": "lower", "Paris": "first upper", "EU": "all upper", "U.S.": "all upper",
                   "iPhone": "mixed", "McDonald": "mixed", "1989": "non-alphabetic", ",": "non-alphabetic",
                   "A": "first upper"}


def test_windows_pad_at_sentence_boundaries():
    tokens = "the museums in Paris are amazing to see .".split()
    assert window_tokens(tokens, 3, 2) == ["museums", "in", "Paris", "are", "amazing"]
    assert window_tokens(tokens, 0, 2) == [PAD_LEFT, PAD_LEFT, "the", "museums", "in"]
    vocabulary = WindowVocabulary(w.lower() for w in tokens)
    data = make_windows([tokens, ["Paris"]], vocabulary, 2, [["O"] * 9, ["B-LOC"]], {"O": 0, "B-LOC": 1})
    assert data.words.shape == (10, 5) and data.lengths == [9, 1] and data.labels.tolist() == [0] * 9 + [1]
    words = vocabulary.index_to_key
    assert [words[i] for i in data.words[3]] == ["museums", "in", "paris", "are", "amazing"]
    assert [words[i] for i in data.words[9]] == [PAD_LEFT, PAD_LEFT, "paris", PAD_RIGHT, PAD_RIGHT]
    assert data.casings[9].tolist() == [0, 0, casing("Paris"), 0, 0]
    assert vocabulary.ids(["zebra"]).tolist() == [vocabulary.key_to_index[UNKNOWN]]
    with pytest.raises(ValueError, match="not in the tag set"):
        make_windows([["a"]], vocabulary, 1, [["B-XYZ"]], {"O": 0})


def test_vocabulary_keeps_vector_words_and_frequent_training_words():
    vectors = WordVectors(np.eye(3, dtype=np.float32), ["paris", "london", "rome"])
    vocabulary = WindowVocabulary.build([["Paris", "is", "is"], ["big"]], vectors, other=[["London", "Oslo"]])
    assert "is" in vocabulary and "paris" in vocabulary and "london" in vocabulary
    assert "big" not in vocabulary and "oslo" not in vocabulary and "rome" not in vocabulary


# --- the classifier ---------------------------------------------------------------------

@pytest.mark.parametrize("nonlinearity", ["tanh", "logistic", "relu"])
def test_hand_gradients_equal_autograd(nonlinearity):
    g = torch.Generator().manual_seed(0)
    n, d, h = 7, 15, 6
    x = torch.randn(n, d, dtype=torch.float64, generator=g, requires_grad=True)
    W = torch.randn(h, d, dtype=torch.float64, generator=g, requires_grad=True)
    b = torch.randn(h, dtype=torch.float64, generator=g, requires_grad=True)
    u = torch.randn(h, dtype=torch.float64, generator=g, requires_grad=True)
    y = torch.tensor([0, 1, 1, 0, 1, 0, 0])
    loss, grads = binary_window_loss_and_grads(x, y, W, b, u, nonlinearity)
    f = {"tanh": torch.tanh, "logistic": torch.sigmoid, "relu": torch.relu}[nonlinearity]
    reference = torch.nn.functional.binary_cross_entropy_with_logits(f(x @ W.T + b) @ u, y.double())
    reference.backward()
    assert torch.allclose(loss, reference)
    for name, tensor in {"W": W, "b": b, "u": u, "x": x}.items():
        assert torch.allclose(grads[name], tensor.grad), name


def planted_sentences(n, seed):
    # a word is a LOC exactly when "in" precedes it: only the context can tell
    rng = random.Random(seed)
    words = ["paris", "rome", "lima", "bob", "ann", "the", "a", "saw", "met", "in", "in"]
    out = []
    for _ in range(n):
        tokens = [rng.choice(words) for _ in range(rng.randint(3, 8))]
        tags = ["B-LOC" if i > 0 and tokens[i - 1] == "in" and w != "in" else "O" for i, w in enumerate(tokens)]
        out.append(Sentence(tuple(tokens), tuple(tags)))
    return out


def test_tagger_fits_a_planted_data_set():
    train, test = planted_sentences(300, 0), planted_sentences(100, 1)
    tagger = WindowTagger(window=1, hidden=16, dim=8, epochs=8, learning_rate=1e-2, device="cpu", min_count=1)
    tagger.fit(train, dev=test, progress=False)
    assert tagger.evaluate(test).f1 > 0.99
    assert tagger.tag("bob saw in lima")[3] == ("lima", "B-LOC")
    assert [h["epoch"] for h in tagger.history] == list(range(1, 9))
    assert tagger.history[-1]["loss"] < tagger.history[0]["loss"]


def test_binary_classifier_trains_with_sgd_and_is_seeded():
    train = planted_sentences(200, 0)
    vocabulary = WindowVocabulary.build([s.tokens for s in train], min_count=1)
    data = make_windows([s.tokens for s in train], vocabulary, 1)
    labels = torch.tensor([t == "B-LOC" for s in train for t in s.tags], dtype=torch.float32)
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = WindowClassifier(np.random.default_rng(0).standard_normal((len(vocabulary), 8)), 1, 1, hidden=8)
        history = train_classifier(model, data, labels=labels, epochs=5, optimizer="sgd", learning_rate=0.5,
                                   device="cpu", progress=False)
        runs.append([h["loss"] for h in history])
    assert runs[0] == runs[1] and runs[0][-1] < 0.1 < runs[0][0]


def test_bad_settings_are_explained():
    with pytest.raises(TypeError, match="unknown setting"):
        WindowTagger(hidden_size=10)
    with pytest.raises(RuntimeError, match="fit"):
        WindowTagger().tag("Paris")
    with pytest.raises(ValueError, match="nonlinearity"):
        WindowClassifier(np.zeros((3, 2)), 1, 2, nonlinearity="sine")
