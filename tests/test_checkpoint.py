"""Checkpoints (`utils.checkpoint`): a file of one trainer is refused by the other, saying why;
an interrupted save leaves the previous checkpoint whole."""

from __future__ import annotations

import pytest
import torch

from utils.glove import GloVe
from utils.word2vec import Word2Vec

SENTENCES = [["the", "cat", "sat", "on", "the", "mat"], ["a", "dog", "sat", "on", "a", "log"]] * 20


def test_a_word2vec_checkpoint_is_refused_by_glove_with_a_reason(tmp_path):
    path = tmp_path / "w2v.pt"
    Word2Vec(vector_size=4, epochs=1, min_count=1, seed=0).fit(SENTENCES, checkpoint=path, progress=False)
    with pytest.raises(ValueError, match=r"not a GloVe checkpoint.*it says 'word2vec'.*trainer that wrote it"):
        GloVe.load_checkpoint(path)
    assert Word2Vec.load_checkpoint(path).epochs_done == 1


def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(ValueError, match=r"not a word2vec checkpoint of version \d+ \(it says 'nothing'"):
        Word2Vec.load_checkpoint(path)


def test_a_save_that_fails_half_way_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "glove.pt"
    model = GloVe(vector_size=4, epochs=1, min_count=1, seed=0, window=2)
    model.fit(SENTENCES, checkpoint=path, progress=False)
    before = path.read_bytes()

    def die_while_writing(state, file):
        open(file, "wb").write(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", die_while_writing)
    with pytest.raises(KeyboardInterrupt):
        model.save_checkpoint(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["glove.pt"], "a temporary file was left behind"
