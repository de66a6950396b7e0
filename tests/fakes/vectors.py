"""Deterministic unit embedding vectors from hashed character n-grams (CJK-friendly)."""

from __future__ import annotations

import base64
import hashlib
import math
import struct


def _features(text: str) -> list[str]:
    norm = " ".join(text.lower().split())
    grams = [f"1:{c}" for c in norm if not c.isspace()]
    grams += [f"2:{norm[i : i + 2]}" for i in range(len(norm) - 1)]
    grams += [f"w:{w}" for w in norm.split()]
    return grams


def embed_text(text: str, dim: int = 1024) -> list[float]:
    """A unit vector of `dim` floats; equal texts give equal vectors and texts that
    share characters/bigrams are closer than unrelated ones. Empty text maps to e0."""
    if dim <= 0:
        raise ValueError("dimension must be positive")
    vec = [0.0] * dim
    for feat in _features(text):
        digest = hashlib.blake2b(feat.encode("utf-8"), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "little") % dim
        vec[index] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vec))
    if norm == 0.0:
        vec[0] = 1.0
        return vec
    return [v / norm for v in vec]


def to_base64(vec: list[float]) -> str:
    """OpenAI `encoding_format="base64"`: little-endian float32, base64-encoded."""
    return base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode("ascii")


def cosine(a: list[float], b: list[float]) -> float:
    """Cosine similarity of two equal-length vectors."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0
