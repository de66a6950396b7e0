"""FakeOllama: a loopback Ollama server (/api/chat NDJSON, /api/show, /api/tags, /api/embed)."""

from __future__ import annotations

import hashlib
from typing import Any

from ._http import FakeServer, RecordedRequest, Reply, json_reply
from .ollama_chat import KINDS, error_reply, now, render_fault, render_turn
from .script import Fault, Turn, approx_tokens, echo, text
from .vectors import embed_text

DEFAULT_MODELS: dict[str, list[str]] = {
    "qwen3:0.6b": ["completion", "tools", "thinking"],
    "gemma3:1b": ["completion"],
    "qwen3-embedding:0.6b": ["embedding"],
}


def _family(model: str) -> str:
    return model.split(":")[0].split("-")[0]


def _details(model: str) -> dict[str, Any]:
    size = model.split(":")[1].upper() if ":" in model else "1B"
    return {
        "parent_model": "",
        "format": "gguf",
        "family": _family(model),
        "families": [_family(model)],
        "parameter_size": size,
        "quantization_level": "Q4_K_M",
    }


class FakeOllama(FakeServer):
    """Ollama on 127.0.0.1; `fake.models` maps model name -> capabilities list.

    Chat requests consume the FIFO (`fake.push(text(...), tool_calls(...), fault(...))`),
    then `fake.default` (echo by default). Like real Ollama it refuses unknown models
    (404), tools for a model without "tools" and `think` for one without "thinking" (400).
    """

    def __init__(
        self,
        *,
        models: dict[str, list[str]] | None = None,
        version: str = "0.17.1",
        embedding_dim: int = 1024,
    ) -> None:
        super().__init__()
        self.models: dict[str, list[str]] = dict(models or DEFAULT_MODELS)
        self.version = version
        self.embedding_dim = embedding_dim
        self.default = echo

    @property
    def base_url(self) -> str:
        """For ChatOllama(base_url=...), OllamaEmbeddings and ollama.Client(host=...)."""
        return self.root_url

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return self.requests_to("/api/chat")

    def _check_script(self, resp: Any) -> None:
        if isinstance(resp, Fault) and resp.kind not in KINDS:
            raise ValueError(f"unknown Ollama fault kind {resp.kind!r}; known: {sorted(KINDS)}")
        if isinstance(resp, Turn) and resp.malformed:
            raise ValueError("malformed_sse() is DashScope-only; Ollama speaks NDJSON")
        if not isinstance(resp, (Turn, Fault, Reply, str)):
            raise TypeError(f"cannot script {type(resp).__name__}: use text(), fault(), ...")

    def _model(self, body: Any) -> str:
        if not isinstance(body, dict):
            return ""
        return str(body.get("model") or body.get("name") or "")

    def handle(self, req: RecordedRequest) -> Reply:
        path = req.path.split("?")[0]
        routes = {
            ("POST", "/api/chat"): self._chat,
            ("POST", "/api/show"): self._show,
            ("GET", "/api/tags"): self._tags,
            ("GET", "/api/version"): self._version,
            ("POST", "/api/embed"): self._embed,
            ("GET", "/"): self._root,
            ("HEAD", "/"): self._root,
        }
        route = routes.get((req.method, path))
        if route is None:
            return Reply(
                status=404, headers={"Content-Type": "text/plain"}, parts=[b"404 page not found"]
            )
        return route(req)

    def _root(self, req: RecordedRequest) -> Reply:
        return Reply(
            headers={"Content-Type": "text/plain; charset=utf-8"}, parts=[b"Ollama is running"]
        )

    def _version(self, req: RecordedRequest) -> Reply:
        return json_reply(200, {"version": self.version})

    def _tags(self, req: RecordedRequest) -> Reply:
        return json_reply(
            200,
            {
                "models": [
                    {
                        "name": m,
                        "model": m,
                        "modified_at": now(),
                        "size": 522_653_767,
                        "digest": hashlib.sha256(m.encode()).hexdigest(),
                        "details": _details(m),
                    }
                    for m in self.models
                ]
            },
        )

    def _show(self, req: RecordedRequest) -> Reply:
        model = self._model(req.body)
        if model not in self.models:
            return error_reply(404, f"model '{model}' not found")
        family = _family(model)
        return json_reply(
            200,
            {
                "license": "Apache License 2.0",
                "modelfile": f"FROM {model}\n",
                "parameters": "temperature 0.6\ntop_k 20\ntop_p 0.95",
                "template": "{{ .Prompt }}",
                "details": _details(model),
                "model_info": {
                    "general.architecture": family,
                    f"{family}.context_length": 40960,
                    f"{family}.embedding_length": self.embedding_dim,
                },
                "capabilities": list(self.models[model]),
                "modified_at": now(),
            },
        )

    def _embed(self, req: RecordedRequest) -> Reply:
        body = req.body if isinstance(req.body, dict) else {}
        model = self._model(body)
        if model not in self.models:
            return error_reply(404, f'model "{model}" not found, try pulling it first')
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
        dim = int(body.get("dimensions") or self.embedding_dim)
        return json_reply(
            200,
            {
                "model": model,
                "embeddings": [embed_text(t, dim) for t in texts],
                "total_duration": 14_000_000,
                "load_duration": 1_000_000,
                "prompt_eval_count": sum(approx_tokens(t) for t in texts),
            },
        )

    def _chat(self, req: RecordedRequest) -> Reply:
        body = req.body if isinstance(req.body, dict) else {}
        model = self._model(body)
        if model not in self.models:
            return error_reply(404, f'model "{model}" not found, try pulling it first')
        caps = self.models[model]
        if body.get("tools") and "tools" not in caps:
            return error_reply(400, f"registry.ollama.ai/library/{model} does not support tools")
        if body.get("think") not in (None, False) and "thinking" not in caps:
            return error_reply(400, f'"{model}" does not support thinking')
        return self.render(self._next_script(req), body)

    def render(self, script: Any, body: dict[str, Any]) -> Reply:
        """Turn a script (Turn, Fault, Reply or plain answer text) into a reply."""
        if script is None:
            script = text("")
        if isinstance(script, str):
            script = text(script)
        if isinstance(script, Reply):
            return script
        if isinstance(script, Fault):
            return render_fault(script, self._model(body))
        return render_turn(script, body)
