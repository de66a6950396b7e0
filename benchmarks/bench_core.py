"""Agent core: turn overhead vs bare create_agent, first-token latency (cold start: bench_coldstart)."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import p50, record, row  # noqa: E402


def _turn_overhead(turns: int) -> list[dict[str, object]]:
    from langchain.agents import create_agent
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.store.memory import InMemoryStore

    from agent_app.settings import Settings
    from tests.helpers import add, scripted_service
    from tests.scripted_model import ScriptedChatModel, tool_then_answer

    def model() -> ScriptedChatModel:
        return ScriptedChatModel(default=tool_then_answer("add", {"a": 1, "b": 2}))

    bare = create_agent(model(), tools=[add], checkpointer=InMemorySaver())
    with tempfile.TemporaryDirectory() as tmp:
        store = InMemoryStore()
        store.put(("u", "memories"), "m1", {"text": "likes tea"})
        settings = Settings(data_dir=Path(tmp), provider="offline", _env_file=None)
        svc = scripted_service(settings, model(), tools=[add], store=store)
        thread = svc.new_thread("u").id
        ours_t, bare_t = [], []
        for i in range(turns):
            t0 = time.perf_counter()
            for _ in bare.stream(
                {"messages": [("user", f"q{i}")]},
                {"configurable": {"thread_id": "b"}},
                stream_mode=["messages", "updates"],
            ):
                pass
            t1 = time.perf_counter()
            for _ in svc.stream(thread, f"q{i}", user_id="u"):
                pass
            t2 = time.perf_counter()
            bare_t.append((t1 - t0) * 1000)
            ours_t.append((t2 - t1) * 1000)
        svc.close()
    return [row("core.turn_with_tool_ms", p50(ours_t), "ms", p50(bare_t))]


def _first_token_latency(turns: int) -> list[dict[str, object]]:
    from agent_app import events as ev
    from agent_app.settings import Settings
    from tests.helpers import scripted_service
    from tests.scripted_model import ScriptedChatModel

    stamps: list[float] = []

    class Stamped(ScriptedChatModel):
        def _stream(self, *a, **kw):  # type: ignore[no-untyped-def]
            for i, chunk in enumerate(super()._stream(*a, **kw)):
                if i == 0:
                    stamps.append(time.perf_counter())
                yield chunk

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), provider="offline", _env_file=None)
        svc = scripted_service(settings, Stamped(default="hello world answer"), tools=[])
        thread = svc.new_thread("u").id
        lat = []
        for i in range(turns):
            for event in svc.stream(thread, f"q{i}", user_id="u"):
                if isinstance(event, ev.Token):
                    lat.append((time.perf_counter() - stamps[-1]) * 1000)
                    break
            for _ in svc.stream(thread, "drain", user_id="u"):
                pass
        svc.close()
    return [row("core.first_token_latency_p50_ms", p50(lat), "ms", None)]


def main() -> None:
    quick = "--quick" in sys.argv
    rows = _turn_overhead(20 if quick else 60)
    rows += _first_token_latency(20 if quick else 60)
    record(rows)


if __name__ == "__main__":
    main()
