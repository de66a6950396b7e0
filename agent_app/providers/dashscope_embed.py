"""DashScope text embeddings as LangChain Embeddings, the client built on first use (not at start-up)."""

from __future__ import annotations

import threading
import warnings
from typing import Any

from langchain_core.embeddings import Embeddings
from pydantic import SecretStr

DEFAULT_MODEL = "text-embedding-v4"
BATCH = 10  # text-embedding-v3/v4 accept at most 10 texts per request
# Output sizes: v3/v4 take a `dimension` parameter (1024 is their default); v1/v2 are fixed.
DIMENSIONS = {"text-embedding-v1": 1536, "text-embedding-v2": 1536}
DEFAULT_DIMENSION = 1024
_sdk_lock = threading.Lock()


class LazyDashScopeEmbeddings(Embeddings):
    """LangChain's DashScopeEmbeddings behind a known name and dimension.

    The vector stores need both when they open; asking the API for them (or importing
    langchain-community and the dashscope SDK, ~1 s) would put a network call and a heavy import
    on every chat start. The client is made on the first embedding instead.
    """

    batch_size = BATCH

    def __init__(
        self,
        *,
        api_key: SecretStr | str | None,
        base_url: str,
        model: str = DEFAULT_MODEL,
        max_retries: int = 3,
    ) -> None:
        self.model = model
        self.dim = DIMENSIONS.get(model, DEFAULT_DIMENSION)
        self.name = f"dashscope-{model}"
        self._key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        self._base_url = base_url
        self._max_retries = max_retries
        self._inner: Any = None
        self._call: Any = None

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages, at most 10 per request."""
        return self._embed(texts, "document")

    def embed_query(self, text: str) -> list[float]:
        """Embed one search query."""
        return self._embed([text], "query")[0]

    def _embed(self, texts: list[str], text_type: str) -> list[list[float]]:
        inner, call = self._client()
        extra = {} if self.model in DIMENSIONS else {"dimension": self.dim}
        rows: list[list[float]] = []
        for start in range(0, len(texts), BATCH):
            part = texts[start : start + BATCH]
            found = call(inner, input=part, text_type=text_type, model=self.model, **extra)
            by_index = {int(item["text_index"]): item["embedding"] for item in found}
            rows.extend(by_index[i] for i in range(len(part)))
        return rows

    def _client(self) -> tuple[Any, Any]:
        with _sdk_lock:
            import dashscope

            # The SDK reads its endpoint from this module attribute: set it for every call, so
            # that two services in one process (tests, a region change) each reach their own.
            dashscope.base_http_api_url = self._base_url
            if self._inner is None:
                # langchain-community is imported here only: it is heavy and warns on import.
                with warnings.catch_warnings():  # its sunset notice is known; keep logs quiet
                    warnings.simplefilter("ignore", DeprecationWarning)
                    from langchain_community.embeddings import dashscope as lc_dashscope

                # embed_with_retry is what DashScopeEmbeddings.embed_documents runs, plus the
                # `dimension` parameter it does not pass on.
                self._call = lc_dashscope.embed_with_retry
                self._inner = lc_dashscope.DashScopeEmbeddings(
                    model=self.model, dashscope_api_key=self._key, max_retries=self._max_retries
                )
            return self._inner, self._call
