"""Taint rule cost: a turn that reads untrusted text then calls a tool, with the rule vs without it."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import p50, record, row  # noqa: E402


def _agents() -> tuple[Any, Any, Any]:
    """The same agent three times: with the taint rule, with only the declared approval, with neither."""
    from langchain.agents.middleware import HumanInTheLoopMiddleware
    from langchain_core.messages import HumanMessage, ToolMessage
    from langchain_core.tools import tool
    from langgraph.checkpoint.memory import InMemorySaver

    from agent_app.agent import graph
    from agent_app.agent.taint import approval_middleware as real_rule
    from agent_app.settings import Settings
    from tests.helpers import add
    from tests.scripted_model import ScriptedChatModel, answer, call

    @tool
    def lookup(query: str) -> str:
        """Read a document (untrusted text)."""
        return f"passage about {query}"

    @tool
    def note(text: str) -> str:
        """Write a note (a side effect)."""
        return "noted"

    lookup.metadata = {"untrusted_output": "document"}
    note.metadata = {"side_effects": True, "needs_approval": True}

    def respond(messages: list[Any]) -> Any:
        last = messages[-1]
        if isinstance(last, HumanMessage):
            return call("lookup", {"query": "tea"})
        if isinstance(last, ToolMessage) and last.name == "lookup":
            return call("add", {"a": 1, "b": 2})
        return answer("done")

    settings = Settings(data_dir=ROOT / ".bench-unused", provider="offline", _env_file=None)
    tools = [lookup, add, note]

    def build() -> Any:
        return graph.build_agent(
            settings,
            model=ScriptedChatModel(default=respond),
            tools=tools,
            checkpointer=InMemorySaver(),
        )

    def with_approval(make: Any) -> Any:
        real = graph.approval_middleware
        graph.approval_middleware = make  # type: ignore[assignment]
        try:
            return build()
        finally:
            graph.approval_middleware = real

    ours = with_approval(lambda *_a, **_k: real_rule(tools, ["note"], "ask"))
    # What main built before the rule: one HITL for the tool that declares needs_approval.
    hitl = with_approval(
        lambda *_a, **_k: [
            HumanInTheLoopMiddleware(
                interrupt_on={"note": {"allowed_decisions": ["approve", "edit", "reject"]}}
            )
        ]
    )
    bare = with_approval(lambda *_a, **_k: [])
    return ours, hitl, bare


def _turn(agent: Any, thread: str, i: int) -> float:
    from agent_app.agent.context import AgentContext

    started = time.perf_counter()
    for _ in agent.stream(
        {"messages": [("user", f"q{i}")]},
        {"configurable": {"thread_id": thread}},
        context=AgentContext(user_id="u"),
        stream_mode=["messages", "updates"],
    ):
        pass
    return (time.perf_counter() - started) * 1000


def main() -> None:
    turns = 20 if "--quick" in sys.argv else 80
    agents = _agents()
    times: list[list[float]] = [[], [], []]
    for i in range(turns):  # interleaved, so all three see the same machine load
        for n, agent in enumerate(agents):
            times[n].append(_turn(agent, f"t{n}", i))
    ours, hitl, bare = (p50(t) for t in times)
    record(
        [
            row("taint.tainted_turn_vs_declared_hitl_ms", ours, "ms", hitl),
            row("taint.tainted_turn_vs_no_approval_ms", ours, "ms", bare),
        ]
    )


if __name__ == "__main__":
    main()
