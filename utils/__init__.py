"""Shared code for the CS224N lecture-2 course notebooks (word vectors, senses, classifiers).

Notebooks import from here so that lectures, assignments and tests all run the same code.
"""

__version__ = "0.1.0"
