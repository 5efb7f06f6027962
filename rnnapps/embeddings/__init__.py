"""Shared embeddings: a masked token embedding and pretrained vectors aligned to a vocabulary."""

from rnnapps.embeddings.pretrained import load_vectors  # noqa: F401
from rnnapps.embeddings.token_embedding import TokenEmbedding  # noqa: F401
