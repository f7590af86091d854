"""Word senses: one vector per word is a superposition of its senses; two ways to split it.

- `utils.senses.superposition`: the pseudo-word experiment (Arora et al. 2018): merge two
  words into one token, retrain, and fit v_w ≈ α₁ v_w₁ + α₂ v_w₂ in the original space.
- `utils.senses.prototypes`: multi-prototype vectors (Huang et al. 2012): embed every
  occurrence of a word by its idf-weighted context window, cluster the occurrences on the
  unit sphere (spherical k-means in torch, any device), relabel the corpus (bank -> bank_1,
  bank_2, ...) and retrain; cluster purity against gold senses.
- `utils.senses.scws`: the Stanford Contextual Word Similarity set read with its contexts,
  scored with AvgSim and AvgSimC (Huang et al. 2012, eq. 6-7).
- `utils.senses.atoms`: sparse coding of a vector matrix into "discourse atoms" (Arora et
  al. 2018): batched orthogonal matching pursuit and dictionary updates in torch, atom
  descriptions and a WordNet police-lineup test; `centre_vectors` removes the direction all
  pretrained vectors share before coding.
"""

from utils.senses.atoms import (
    LineupResult, centre_vectors, describe_atoms, learn_dictionary, lineup_test, sparse_encode, wordnet_glosses,
)
from utils.senses.prototypes import (
    ContextEmbedder, MultiPrototype, cluster_purity, idf_weights, spherical_kmeans,
)
from utils.senses.scws import ScwsPair, read_scws, scws_scores
from utils.senses.superposition import fit_superposition, merge_words, procrustes

__all__ = [
    "ContextEmbedder", "LineupResult", "MultiPrototype", "ScwsPair", "centre_vectors", "cluster_purity",
    "describe_atoms", "fit_superposition", "idf_weights", "learn_dictionary", "lineup_test", "merge_words", "procrustes",
    "read_scws", "scws_scores", "sparse_encode", "spherical_kmeans", "wordnet_glosses",
]
