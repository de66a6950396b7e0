"""Embedder factory: offline n-grams by default, DashScope text-embedding-v4 or Ollama when set."""

from __future__ import annotations

import logging
from typing import Any, Protocol

import numpy as np

from agent_app.providers import local_embed
from agent_app.providers.dashscope_embed import LazyDashScopeEmbeddings
from agent_app.providers.offline_embed import OfflineEmbedder
from agent_app.providers.offline_embed import unit_rows as normalize_rows
from agent_app.settings import Settings

DASHSCOPE_MODEL = "text-embedding-v4"
DASHSCOPE_BATCH = 10  # text-embedding-v4 accepts at most 10 texts per request
OLLAMA_MODEL = "qwen3-embedding:0.6b"
log = logging.getLogger(__name__)
NATIVE_BASES = {
    "cn": "https://dashscope.aliyuncs.com/api/v1",
    "intl": "https://dashscope-intl.aliyuncs.com/api/v1",
}


class Embedder(Protocol):
    """What the knowledge base needs: a stable name and unit-length float32 rows."""

    name: str
    batch_size: int
    fusion_weight: float

    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalized float32 vectors, one row per text."""
        ...


class OfflineKBEmbedder:
    """The built-in hashed n-gram embedder (no network, deterministic)."""

    batch_size = 256
    # Hashed n-grams are lexical: the coverage ranking carries the same signal better, and
    # fusing them as well lowered MRR on the eval set (docs/retrieval.md). Kept for similarity.
    fusion_weight = 0.0

    def __init__(self, dim: int = 512) -> None:
        self._inner = OfflineEmbedder(dim=dim)
        self.name = self._inner.name

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed with the offline n-gram hashing embedder."""
        return self._inner.embed_array(texts)


class LangChainEmbedder:
    """Any LangChain Embeddings object, batched and normalized to unit rows."""

    fusion_weight = 1.0

    def __init__(self, inner: Any, name: str, batch_size: int) -> None:
        self._inner = inner
        self.name = name
        self.batch_size = batch_size

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed in batches through the LangChain client; rows L2-normalized."""
        rows: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            rows.extend(self._inner.embed_documents(texts[start : start + self.batch_size]))
        return normalize_rows(np.asarray(rows, dtype=np.float32).reshape(len(texts), -1))


def embedding_provider(settings: Settings) -> str:
    """The provider in effect: 'auto' is DashScope with a key, else the local model, else offline."""
    provider = settings.embedding_provider
    if provider == "auto":
        provider = "dashscope" if settings.dashscope_api_key else "local"
    if provider == "local" and not local_embed.available():
        log.warning("the local embedding model is not installed; using the offline n-gram embedder")
        return "offline"
    return provider


def make_embedder(settings: Settings) -> Embedder:
    """The configured embedder (see `embedding_provider`), batched, with unit-length rows."""
    provider = embedding_provider(settings)
    if provider == "dashscope":
        return _dashscope(settings)
    if provider == "ollama":
        return _ollama(settings)
    if provider == "openai":
        return _openai(settings)
    if provider == "local":
        inner = local_embed.LocalSemanticEmbedder()
        return LangChainEmbedder(inner, inner.name, inner.batch_size)
    return OfflineKBEmbedder()


def _dashscope(settings: Settings) -> Embedder:
    return LangChainEmbedder(
        dashscope_embeddings(settings), f"dashscope-{_model(settings)}", DASHSCOPE_BATCH
    )


def dashscope_embeddings(settings: Settings) -> LazyDashScopeEmbeddings:
    """DashScope embeddings for both stores: known name and dimension, the client made on first use."""
    return LazyDashScopeEmbeddings(
        api_key=settings.dashscope_api_key, base_url=native_base(settings), model=_model(settings)
    )


def _model(settings: Settings) -> str:
    return settings.embedding_model or DASHSCOPE_MODEL


def native_base(settings: Settings) -> str:
    """DashScope's native API base: explicit, else beside a custom compatible-mode base, else the region's."""
    if settings.dashscope_http_base_url:
        return settings.dashscope_http_base_url
    custom = (settings.dashscope_api_base or "").rstrip("/")
    if custom.endswith("/compatible-mode/v1"):  # one host (a proxy, a gateway) serves both APIs
        return custom[: -len("/compatible-mode/v1")] + "/api/v1"
    return NATIVE_BASES[settings.dashscope_region]


def _ollama(settings: Settings) -> Embedder:
    from langchain_ollama import OllamaEmbeddings

    model = settings.embedding_model or OLLAMA_MODEL
    inner = OllamaEmbeddings(model=model, base_url=settings.ollama_host)
    return LangChainEmbedder(inner, f"ollama-{model}", 32)


def _openai(settings: Settings) -> Embedder:
    from langchain_openai import OpenAIEmbeddings

    model = settings.embedding_model or "text-embedding-3-small"
    inner = OpenAIEmbeddings(
        model=model, base_url=settings.openai_base_url, api_key=settings.openai_api_key
    )
    return LangChainEmbedder(inner, f"openai-{model}", 64)
