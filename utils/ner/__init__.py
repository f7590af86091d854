"""Named entity recognition with the lecture's window classifier (lecture 7).

    conll    reading CoNLL files (CoNLL-2003, wikigold), IOB1 -> BIO
    windows  window features: word ids and capitalisation of the 2m+1 words around each token
    model    the window classifier (binary and softmax), hand-derived gradients, training
    tagger   WindowTagger: fit on tagged sentences, tag new ones greedily
    metrics  entity-level precision, recall and F1 (conlleval / seqeval)
"""
from utils.ner.conll import (NERFormatError, Sentence, iob1_to_bio, load_conll2003, load_wikigold, read_conll,
                             split_tag, tag_set, wikigold_splits)
from utils.ner.metrics import ERROR_KINDS, EntityScores, Score, entities, entity_errors, entity_scores
from utils.ner.model import (NONLINEARITIES, WindowClassifier, binary_window_loss_and_grads, predict_scores,
                             train_classifier)
from utils.ner.tagger import MostFrequentTagBaseline, TaggerConfig, WindowTagger
from utils.ner.windows import (CASINGS, PAD_LEFT, PAD_RIGHT, UNKNOWN, WindowData, WindowVocabulary, casing,
                               coverage, embedding_matrix, make_windows, window_tokens)

__all__ = [
    "NERFormatError", "Sentence", "iob1_to_bio", "load_conll2003", "load_wikigold", "read_conll", "split_tag",
    "tag_set", "wikigold_splits", "ERROR_KINDS", "entity_errors", "MostFrequentTagBaseline", "EntityScores", "Score", "entities", "entity_scores", "NONLINEARITIES",
    "WindowClassifier", "binary_window_loss_and_grads", "predict_scores", "train_classifier", "TaggerConfig",
    "WindowTagger", "CASINGS", "PAD_LEFT", "PAD_RIGHT", "UNKNOWN", "WindowData", "WindowVocabulary", "casing",
    "coverage", "embedding_matrix", "make_windows", "window_tokens",
]
