"""The server's memory-store embedder (langgraph.json `store.index.embed`): offline, 512 dimensions."""

from __future__ import annotations

from functools import cache

from agent_app.providers.offline_embed import OfflineEmbedder

DIMS = 512
"""Must equal `store.index.dims` in langgraph.json."""


@cache
def _embedder() -> OfflineEmbedder:
    return OfflineEmbedder(DIMS)


def embed_texts(texts: list[str]) -> list[list[float]]:
    """Embed memory texts as the app's offline embedder does (no download, works for Chinese)."""
    return _embedder().embed_documents(texts)
