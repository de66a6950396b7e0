"""Offline embedder: signed hashing of character n-grams (works for Chinese), no download."""

from __future__ import annotations

import math
import zlib
from collections import Counter

import numpy as np
from langchain_core.embeddings import Embeddings

from agent_app.textsafe import normalize_for_index


class ArrayEmbeddings(Embeddings):
    """LangChain's Embeddings over one `embed_array(texts) -> (n, dim)` of unit rows."""

    def embed_array(self, texts: list[str]) -> np.ndarray:
        """Embed many texts into an (n, dim) float32 array of unit vectors."""
        raise NotImplementedError

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages."""
        return self.embed_array(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed one query."""
        return self.embed_array([text])[0].tolist()


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """L2-normalize each row in place (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    np.divide(matrix, norms, out=matrix, where=norms > 0)
    return matrix


class OfflineEmbedder(ArrayEmbeddings):
    """Deterministic lexical embeddings: character 1–3-grams hashed into `dim` buckets."""

    def __init__(self, dim: int = 512) -> None:
        self.dim = dim
        self.name = f"offline-ngram-{dim}"

    def _grams(self, text: str) -> Counter[str]:
        norm = normalize_for_index(text).lower()
        grams: Counter[str] = Counter()
        for token in norm.split():
            grams.update(token)  # unigrams
            grams.update(token[i : i + 2] for i in range(len(token) - 1))
            grams.update(token[i : i + 3] for i in range(len(token) - 2))
        return grams

    def embed_array(self, texts: list[str]) -> np.ndarray:
        """Embed many texts into an (n, dim) float32 array of unit vectors."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for gram, count in self._grams(text).items():
                h = zlib.crc32(gram.encode("utf-8"))
                weight = (1.0 + math.log(count)) * (1.0 + 0.5 * (len(gram) - 1))
                out[row, h % self.dim] += weight if (h >> 31) & 1 else -weight
        return unit_rows(out)
