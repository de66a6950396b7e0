"""The agent under `astream`, as LangGraph Server runs it: our sync middleware hooks still apply."""

from __future__ import annotations

import asyncio

from langchain_core.messages import HumanMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command

from agent_app.agent.context import AgentContext
from agent_app.agent.graph import build_agent
from agent_app.memory.service import MemoryService
from agent_app.server.embed import DIMS, embed_texts
from agent_app.toolbox.calculator import calculator
from tests.scripted_model import ScriptedChatModel, answer, call


@tool
def send_mail(to: str) -> str:
    """Send a mail."""
    return f"sent to {to}"


send_mail.metadata = {"needs_approval": True}


def _run(agent, payload, thread_id: str) -> list[tuple[str, object]]:
    async def go():
        ctx = AgentContext(user_id="u1", thread_id=thread_id, lang="en")
        config = {"configurable": {"thread_id": thread_id}}
        stream = agent.astream(payload, config, context=ctx, stream_mode=["custom", "updates"])
        return [part async for part in stream]

    return asyncio.run(go())


def _custom(parts, kind: str) -> list[dict]:
    return [d for mode, d in parts if mode == "custom" and d.get("type") == kind]


def test_tool_steps_usage_and_memory_recall_under_astream(settings):
    # The store langgraph.json gives the server: an index over our offline embedder.
    store = InMemoryStore(index={"embed": embed_texts, "dims": DIMS, "fields": ["text"]})
    MemoryService(store).add("u1", "The user's name is Xiaoming.")
    model = ScriptedChatModel(script=[call("calculator", {"expression": "6*7"}), answer("42.")])
    agent = build_agent(
        settings, model=model, tools=[calculator], checkpointer=InMemorySaver(), store=store
    )
    parts = _run(agent, {"messages": [HumanMessage("what is my name?")]}, "t1")
    assert [(s["name"], s["args"]) for s in _custom(parts, "tool_start")] == [
        ("calculator", {"expression": "6*7"})
    ]
    assert [e["output"] for e in _custom(parts, "tool_end")] == ["42"]
    assert len(_custom(parts, "usage")) == 2  # one per model call, from our provider middleware
    assert _custom(parts, "memory_used")
    assert "Xiaoming" in model.seen[0][0].text  # recalled into the system prompt


def test_approval_pauses_and_resumes_under_astream(settings):
    model = ScriptedChatModel(script=[call("send_mail", {"to": "a@example.com"}), answer("Sent.")])
    agent = build_agent(
        settings,
        model=model,
        tools=[send_mail],
        checkpointer=InMemorySaver(),
        approval_tools=["send_mail"],
    )
    paused = _run(agent, {"messages": [HumanMessage("mail a")]}, "t2")
    assert [d for mode, d in paused if mode == "updates" and "__interrupt__" in d]
    assert _custom(paused, "tool_end") == []
    resumed = _run(agent, Command(resume={"decisions": [{"type": "approve"}]}), "t2")
    assert [e["output"] for e in _custom(resumed, "tool_end")] == ["sent to a@example.com"]
