"""A named-entity tagger from the window classifier: every token classified from its window,
greedily, one token at a time (no transition model between neighbouring tags)."""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, fields
from typing import Sequence

import torch

from utils.device import resolve_device
from utils.ner.conll import Sentence, tag_set
from utils.ner.metrics import EntityScores, entity_scores
from utils.ner.model import WindowClassifier, predict_scores, train_classifier
from utils.ner.windows import WindowVocabulary, embedding_matrix, make_windows


@dataclass
class TaggerConfig:
    """window: m words each side; dim: embedding size when no vectors are given (random init);
    freeze: keep pretrained vectors fixed (False: fine-tune them with the classifier);
    min_count: training words rarer than this and without a vector become <unk>;
    keep_best: with dev data, keep the epoch with the best dev entity F1."""

    window: int = 2
    hidden: int = 200
    casing_dim: int = 4
    nonlinearity: str = "tanh"
    dropout: float = 0.0
    freeze: bool = False
    dim: int = 50
    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    min_count: int = 2
    keep_best: bool = True
    seed: int = 0
    device: str = "auto"

    def __post_init__(self):
        if self.window < 0 or self.hidden < 1 or self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"window >= 0, hidden, epochs and batch_size >= 1 required; got {self}")


class WindowTagger:
    """`WindowTagger(**settings).fit(train, vectors, dev=...)`, then `.tag(tokens)`, `.evaluate(sentences)`.

    train/dev: lists of `Sentence`; vectors: a WordVectors to initialise L from, or None.
    """

    def __init__(self, **settings):
        names = {f.name for f in fields(TaggerConfig)}
        unknown = set(settings) - names
        if unknown:
            raise TypeError(f"unknown setting(s) {sorted(unknown)}; TaggerConfig has {sorted(names)}")
        self.config = TaggerConfig(**settings)
        self.model: WindowClassifier | None = None
        self.history: list[dict] = []

    def fit(self, train: Sequence[Sentence], vectors=None, dev: Sequence[Sentence] | None = None,
            other: Sequence[Sentence] = (), progress: bool = True) -> "WindowTagger":
        """Train on `train`. Words of `dev` and `other` that `vectors` knows get their vector
        (never their tags): see WindowVocabulary.build."""
        c = self.config
        self.tags = tag_set(train)
        self.tag_to_id = {t: i for i, t in enumerate(self.tags)}
        unseen = (dict.fromkeys(t for s in (dev or []) for t in s.tags)).keys() - set(self.tags)
        if unseen:
            raise ValueError(f"dev has tags the training data lacks: {sorted(unseen)}")
        self.vocabulary = WindowVocabulary.build([s.tokens for s in train], vectors,
                                                 [s.tokens for s in [*(dev or []), *other]], c.min_count)
        L = embedding_matrix(self.vocabulary, vectors, dim=c.dim, seed=c.seed)
        torch.manual_seed(c.seed)
        self.model = WindowClassifier(L, c.window, len(self.tags), c.hidden, c.casing_dim, c.nonlinearity,
                                      c.dropout, freeze=c.freeze and vectors is not None)
        data = make_windows([s.tokens for s in train], self.vocabulary, c.window,
                            [s.tags for s in train], self.tag_to_id)
        best = {"f1": -1.0, "state": None, "epoch": 0}

        def on_epoch(epoch):
            if dev is None:
                return {}
            f1 = self.evaluate(dev).f1
            if f1 > best["f1"]:
                best.update(f1=f1, epoch=epoch, state=copy.deepcopy(self.model.state_dict()))
            return {"dev_f1": f1}

        self.history = train_classifier(self.model, data, epochs=c.epochs, batch_size=c.batch_size,
                                        optimizer=c.optimizer, learning_rate=c.learning_rate,
                                        weight_decay=c.weight_decay, seed=c.seed, device=c.device,
                                        on_epoch=on_epoch, progress=progress, desc="window tagger")
        if c.keep_best and best["state"] is not None:
            self.model.load_state_dict(best["state"])
            self.best_epoch = best["epoch"]
        else:
            self.best_epoch = len(self.history)
        return self

    def _check_fitted(self):
        if self.model is None:
            raise RuntimeError("the tagger is not trained yet: call fit(train, vectors) first")

    def predict(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """Greedy tags (argmax of p(y|x) for every token) for each token list."""
        self._check_fitted()
        data = make_windows(sentences, self.vocabulary, self.config.window)
        best = predict_scores(self.model, data).argmax(-1).tolist()
        tags, start = [], 0
        for length in data.lengths:
            tags.append([self.tags[i] for i in best[start:start + length]])
            start += length
        return tags

    def tag(self, tokens: str | Sequence[str]) -> list[tuple[str, str]]:
        """(token, tag) pairs for one sentence; a string is split on whitespace."""
        tokens = tokens.split() if isinstance(tokens, str) else list(tokens)
        return list(zip(tokens, self.predict([tokens])[0]))

    def evaluate(self, sentences: Sequence[Sentence]) -> EntityScores:
        """Entity-level precision / recall / F1 (CoNLL) of the greedy tags against the gold ones."""
        return entity_scores([s.tags for s in sentences], self.predict([s.tokens for s in sentences]))

    def settings(self) -> dict:
        return {**asdict(self.config), "device": str(resolve_device(self.config.device))}


class MostFrequentTagBaseline:
    """The lookup baseline: each word gets the tag it had most often in training (exact case),
    unseen words O. It knows names it has seen and nothing else; a trained tagger must beat it."""

    def fit(self, train: Sequence[Sentence]) -> "MostFrequentTagBaseline":
        from collections import Counter, defaultdict

        counts: dict[str, Counter] = defaultdict(Counter)
        for s in train:
            for token, tag in zip(s.tokens, s.tags):
                counts[token][tag] += 1
        self.best = {token: c.most_common(1)[0][0] for token, c in counts.items()}
        return self

    def predict(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        return [[self.best.get(token, "O") for token in tokens] for tokens in sentences]

    def evaluate(self, sentences: Sequence[Sentence]) -> EntityScores:
        return entity_scores([s.tags for s in sentences], self.predict([s.tokens for s in sentences]))
