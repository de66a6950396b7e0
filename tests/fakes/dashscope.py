"""FakeDashScope: a loopback DashScope/Bailian server (compatible chat SSE, embeddings, rerank, TTS)."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from . import dashscope_embed, dashscope_native, dashscope_rerank, dashscope_tts
from ._http import FakeServer, RecordedRequest, Reply, json_reply
from .dashscope_chat import render_turn
from .dashscope_errors import KINDS, compat_error, native_error, render_fault
from .script import Fault, Turn, echo, fault, text

CHAT_PATH = "/compatible-mode/v1/chat/completions"
MODELS_PATH = "/compatible-mode/v1/models"


class FakeDashScope(FakeServer):
    """DashScope on 127.0.0.1: push scripts with `fake.push(text(...), fault(...))`.

    Chat requests consume the FIFO one per request; when it is empty `fake.default`
    (a callable taking the request JSON) answers, by default an echo of the last user
    message. Embedding requests never consume the chat FIFO; they take faults from
    `push_embedding_fault` first, then answer with deterministic vectors.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        embedding_dim: int = 1024,
        models: tuple[str, ...] = ("qwen-plus", "qwen-max", "qwen3-8b", "text-embedding-v4"),
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.embedding_dim = embedding_dim
        self.models = list(models)
        self.default = echo
        self._embed_faults: deque[Fault] = deque()
        self._rerank_faults: deque[Fault | Reply] = deque()
        self._embed_lock = threading.Lock()
        self.embeddings_open = threading.Event()
        """Cleared, embedding requests wait (up to a minute) until it is set: a document "still indexing"."""
        self.embeddings_open.set()
        self.tts = dashscope_tts.Synthesizer()
        """Qwen-TTS: `fake.tts.push_fault(...)`; `fake.tts_requests` are what was asked."""

    # urls ------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """OpenAI-compatible base for ChatQwen(api_base=...) / ChatOpenAI(base_url=...)."""
        return f"{self.root_url}/compatible-mode/v1"

    @property
    def http_base_url(self) -> str:
        """Native base for the dashscope SDK (`dashscope.base_http_api_url`)."""
        return f"{self.root_url}/api/v1"

    # scripting -------------------------------------------------------------
    def _check_script(self, resp: Any) -> None:
        if isinstance(resp, Fault) and resp.kind not in KINDS:
            raise ValueError(f"unknown DashScope fault kind {resp.kind!r}; known: {sorted(KINDS)}")
        if not isinstance(resp, (Turn, Fault, Reply, str)):
            raise TypeError(f"cannot script {type(resp).__name__}: use text(), fault(), ...")

    def push_embedding_fault(self, kind: str | Fault, **kw: Any) -> None:
        """Make the next embedding request (native or compatible) fail with `kind`."""
        flt = kind if isinstance(kind, Fault) else fault(kind, **kw)
        self._check_script(flt)
        with self._embed_lock:
            self._embed_faults.append(flt)

    def _pop_embedding_fault(self) -> Fault | None:
        with self._embed_lock:
            return self._embed_faults.popleft() if self._embed_faults else None

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return self.requests_to(CHAT_PATH)

    @property
    def tts_requests(self) -> list[RecordedRequest]:
        return self.requests_to(dashscope_tts.PATH)

    @property
    def generation_requests(self) -> list[RecordedRequest]:
        """Native text-generation requests (the protocol that returns web search sources)."""
        return self.requests_to(dashscope_native.PATH)

    @property
    def embedding_requests(self) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if r.path in (dashscope_embed.NATIVE_PATH, dashscope_embed.COMPAT_PATH)
        ]

    # routing ---------------------------------------------------------------
    def handle(self, req: RecordedRequest) -> Reply:
        path = req.path.split("?")[0]
        if req.method == "GET" and path.startswith(dashscope_tts.AUDIO_PREFIX):
            return self.tts.audio(path)  # a signed object URL: no Authorization header
        routes = {
            ("POST", CHAT_PATH): self._chat,
            ("GET", MODELS_PATH): self._models,
            ("POST", dashscope_embed.NATIVE_PATH): self._embed,
            ("POST", dashscope_embed.COMPAT_PATH): self._embed,
            ("POST", dashscope_rerank.PATH): self._rerank,
            ("POST", dashscope_tts.PATH): lambda r: self.tts.synthesize(r, self.root_url),
            ("POST", dashscope_native.PATH): self._generation,
        }
        route = routes.get((req.method, path))
        if route is None:
            return self._not_found(path)
        denied = self._auth_error(req)
        return denied if denied is not None else route(req)

    def _not_found(self, path: str) -> Reply:
        if path.startswith("/api/"):
            return json_reply(
                404, native_error("InvalidURL", "Invalid URL provided in your request.")
            )
        return json_reply(
            404, compat_error("not_found", "invalid_request_error", f"Not found: {path}")
        )

    def _auth_error(self, req: RecordedRequest) -> Reply | None:
        auth = req.headers.get("authorization", "")
        key = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if not key or (self.api_key is not None and key != self.api_key):
            return render_fault(fault("auth"), req.path)
        return None

    def _models(self, req: RecordedRequest) -> Reply:
        data = [{"id": m, "object": "model", "owned_by": "system"} for m in self.models]
        return json_reply(200, {"object": "list", "data": data})

    def push_rerank_fault(self, kind: str | Fault | Reply, **kw: Any) -> None:
        """The next rerank request fails with this fault (or gets this raw Reply, e.g. hang())."""
        flt = kind if isinstance(kind, Fault | Reply) else fault(kind, **kw)
        with self._embed_lock:
            self._rerank_faults.append(flt)

    @property
    def rerank_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == dashscope_rerank.PATH]

    def _rerank(self, req: RecordedRequest) -> Reply:
        with self._embed_lock:
            flt = self._rerank_faults.popleft() if self._rerank_faults else None
        if isinstance(flt, Reply):
            return flt
        if flt is not None:
            return render_fault(flt, req.path)
        return dashscope_rerank.rerank(req)

    def _embed(self, req: RecordedRequest) -> Reply:
        self.embeddings_open.wait(60)
        flt = self._pop_embedding_fault()
        if flt is not None:
            return render_fault(flt, req.path, req.headers.get("authorization", ""))
        if req.path.startswith("/api/"):
            return dashscope_embed.native(req, self.embedding_dim)
        return dashscope_embed.compatible(req, self.embedding_dim)

    def _chat(self, req: RecordedRequest) -> Reply:
        body = req.body if isinstance(req.body, dict) else {}
        if not body.get("messages"):
            return render_fault(
                fault(
                    "bad_request",
                    message=(
                        '<400> InternalError.Algo.InvalidParameter: Either "prompt" or "messages" '
                        "must exist and cannot both be none"
                    ),
                ),
                req.path,
            )
        if body.get("enable_thinking") and not body.get("stream"):
            return render_fault(
                fault(
                    "bad_request",
                    message=(
                        "<400> InternalError.Algo.InvalidParameter: parameter.enable_thinking must "
                        "be set to false for non-streaming calls"
                    ),
                ),
                req.path,
            )
        return self.render(self._next_script(req), req)

    def _generation(self, req: RecordedRequest) -> Reply:
        """Native generation takes its script from the same FIFO as compatible chat."""
        script = self._next_script(req)
        if isinstance(script, str):
            script = text(script)
        if not isinstance(script, Turn):
            return self.render(script, req)
        return dashscope_native.generation(req, script)

    def render(self, script: Any, req: RecordedRequest) -> Reply:
        """Turn a script (Turn, Fault, Reply or plain answer text) into a reply."""
        if script is None:
            script = text("")
        if isinstance(script, str):
            script = text(script)
        if isinstance(script, Reply):
            return script
        if isinstance(script, Fault):
            return render_fault(script, req.path, req.headers.get("authorization", ""))
        return render_turn(script, req.body or {})
