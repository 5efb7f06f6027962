"""Pretrained word vectors (GloVe or word2vec text format) aligned to a tokenizer's vocabulary."""

from __future__ import annotations

import logging
import pathlib

import numpy as np

from rnnapps.datasets import files
from rnnapps.errors import UserError

log = logging.getLogger(__name__)

# Every tokenizer reserves ids 0-3 (<pad>, <unk>, <s>, </s>; see rnnapps.tokenizers.base).
RESERVED_IDS = 4


def load_vectors(path: str | pathlib.Path, vocabulary: list[str], dim: int, seed: int = 0,
                 lowercase: bool = False) -> tuple[np.ndarray, float]:
    """Build an embedding matrix whose row i is the pretrained vector of vocabulary[i].

    Reads GloVe ("word v1 v2 ...") and word2vec text files (the same, after a "count dim" header).
    Words without a vector keep a small random vector; the padding row is zeros. Reserved tokens
    never take a file's vector (word2vec files list "</s>" with a meaning of their own).

    Args:
        path: the vector file.
        vocabulary: tokens, position = id (reserved tokens first).
        dim: expected vector width (must match the file).
        seed: seed for the random rows.
        lowercase: match lowercased file words (for a lowercasing tokenizer and a cased file).

    Returns:
        (matrix float32 [len(vocabulary), dim], coverage = share of non-reserved tokens found).

    Raises:
        UserError: the file is missing or a line has the wrong width (naming the line).
    """
    path = files.existing_path(str(path), "embedding.pretrained_path")
    index = {token: i for i, token in enumerate(vocabulary)}
    matrix = np.random.default_rng(seed).normal(0.0, 0.1, (len(vocabulary), dim)).astype("float32")
    matrix[0] = 0.0
    found = set()
    for number, line in files.read_lines(path):
        parts = line.rstrip().split(" ")
        if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
            continue  # word2vec header: "count dim"
        word = parts[0].lower() if lowercase else parts[0]
        if word not in index or index[word] < RESERVED_IDS or index[word] in found:
            continue
        if len(parts) != dim + 1:
            raise UserError(f"{path} line {number}: vector has {len(parts) - 1} values, expected embedding.dim = {dim}")
        try:
            matrix[index[word]] = np.asarray(parts[1:], dtype="float32")
        except ValueError:
            raise UserError(f"{path} line {number}: not a list of numbers") from None
        found.add(index[word])
    coverage = len(found) / max(len(vocabulary) - RESERVED_IDS, 1)
    log.info("pretrained vectors from %s cover %.1f%% of the vocabulary (%d of %d)", path, 100 * coverage,
             len(found), len(vocabulary) - RESERVED_IDS)
    return matrix, coverage
