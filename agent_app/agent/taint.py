"""The taint rule: once untrusted text enters a turn, side-effecting tool calls need the user's decision."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain.agents.middleware import AgentMiddleware, HumanInTheLoopMiddleware
from langchain_core.messages import AnyMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command

from agent_app.agent.async_twins import async_twins
from agent_app.i18n import t
from agent_app.transcript import EDIT_NOTICE

UNTRUSTED = "untrusted_output"
"""Tool metadata: its output is text nobody vouches for ("document", "web", or True)."""
SIDE_EFFECTS = "side_effects"
"""Tool metadata: a call changes something (memory, files, the outside world)."""
MARK = "taint"
"""Key in a ToolMessage's response_metadata naming the untrusted source it carries."""
DECISIONS = ["approve", "edit", "reject"]
_URL = re.compile(r"https?://[^\s\"'<>`]+", re.IGNORECASE)
_URL_KEYS = re.compile(r"url|uri|link|href|endpoint", re.IGNORECASE)
MAX_LABEL = 200


@dataclass(frozen=True)
class Source:
    """Where untrusted text came from: kind is 'document', 'web' or 'tool'."""

    kind: str
    label: str


def _meta(tool: BaseTool | None, key: str) -> Any:
    return (tool.metadata or {}).get(key) if tool is not None else None


def source_of(tool: BaseTool, call: dict[str, Any], message: ToolMessage) -> list[Source]:
    """The sources a result of an untrusted tool carries (documents cited, the page read, the tool)."""
    kind = _meta(tool, UNTRUSTED)
    kind = kind if kind in ("document", "web", "search") else "tool"
    query = (call.get("args") or {}).get("query") if isinstance(call.get("args"), dict) else None
    if kind == "search" and isinstance(query, str):
        return [Source("search", query[:MAX_LABEL])]
    if kind == "document" and isinstance(message.artifact, list):
        names = dict.fromkeys(
            str(h.get("source", "")) for h in message.artifact if isinstance(h, dict)
        )
        return [Source("document", n[:MAX_LABEL]) for n in names if n] or [
            Source("tool", tool.name)
        ]
    url = (call.get("args") or {}).get("url") if isinstance(call.get("args"), dict) else None
    if kind == "web" and isinstance(url, str):
        return [Source("web", url[:MAX_LABEL])]
    return [Source("tool", tool.name)]


def current_turn(messages: Sequence[AnyMessage]) -> list[AnyMessage]:
    """The messages of the running turn: everything after the user's latest message."""
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            return list(messages[i + 1 :])
    return list(messages)


def turn_sources(messages: Sequence[AnyMessage]) -> list[Source]:
    """Untrusted sources whose text entered this turn, oldest first, without repeats."""
    seen: dict[Source, None] = {}
    for msg in current_turn(messages):
        for mark in (
            (msg.response_metadata or {}).get(MARK, []) if isinstance(msg, ToolMessage) else []
        ):
            if isinstance(mark, dict):
                seen.setdefault(
                    Source(str(mark.get("kind", "tool")), str(mark.get("label", ""))), None
                )
    return list(seen)


def result_urls(messages: Sequence[AnyMessage]) -> set[str]:
    """Addresses a web search of this turn returned as results (not URLs written in snippets)."""
    urls: set[str] = set()
    for msg in current_turn(messages):
        marks = (msg.response_metadata or {}).get(MARK, []) if isinstance(msg, ToolMessage) else []
        if isinstance(msg, ToolMessage) and any(
            isinstance(m, dict) and m.get("kind") == "search" for m in marks
        ):
            artifact = msg.artifact if isinstance(msg.artifact, list) else []
            urls.update(str(h["url"]) for h in artifact if isinstance(h, dict) and "url" in h)
    return urls


def _user_text(messages: Sequence[AnyMessage]) -> str:
    human = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
    return human.text if human is not None else ""


def _strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, str(k))
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v, key)


def foreign_urls(args: Any, user_text: str) -> list[str]:
    """URLs in the call's arguments that the user did not write in this turn's message."""
    found: list[str] = []
    for key, text in _strings(args):
        found += _URL.findall(text)
        bare = text.strip()
        # An address argument without a scheme ("evil.example/x") is a URL too.
        if (
            _URL_KEYS.search(key)
            and bare
            and not _URL.search(bare)
            and not any(c.isspace() for c in bare)
        ):
            found.append(bare)
    said = user_text.rstrip("/")
    return [u for u in dict.fromkeys(found) if u.rstrip("/.,;)") not in said]


def describe(sources: Sequence[Source], urls: Sequence[str], lang: str) -> str:
    """Why this call asks, in the user's language: which untrusted text it follows."""
    parts = [t(f"approval.source.{s.kind}", lang, label=s.label) for s in sources[-3:]]
    text = t("approval.reason.tainted", lang, sources=t("approval.list_sep", lang).join(parts))
    if urls:
        text += " " + t("approval.reason.url", lang, url=urls[0][:MAX_LABEL])
    return text


class TaintPolicy:
    """Which calls of this agent's tools are guarded once the turn is tainted."""

    def __init__(self, tools: Sequence[BaseTool]) -> None:
        # A tool that asks for approval has effects worth asking about, whatever else it declares.
        self.side_effects = {
            t.name for t in tools if _meta(t, SIDE_EFFECTS) or _meta(t, "needs_approval")
        }
        self.possible = any(_meta(tool, UNTRUSTED) for tool in tools)

    def reason(
        self, call: Mapping[str, Any], messages: Sequence[AnyMessage], lang: str
    ) -> str | None:
        """None when the call may run unasked; otherwise the (localized) reason to ask."""
        sources = turn_sources(messages)
        if not sources:
            return None
        # Reading a page the search returned is what searching is for; its address was chosen by
        # the engine before the results were read, so it cannot carry what they asked for.
        found = result_urls(messages)
        urls = [
            u for u in foreign_urls(call.get("args") or {}, _user_text(messages)) if u not in found
        ]
        if call.get("name") not in self.side_effects and not urls:
            return None
        return describe(sources, urls, lang)


def _lang(runtime: Any) -> str:
    return str(getattr(getattr(runtime, "context", None), "lang", "") or "en")


@async_twins
class TaintMiddleware(AgentMiddleware):
    """Marks results of untrusted tools; with approvals off, refuses the calls they would guard."""

    def __init__(self, policy: TaintPolicy, *, refuse: bool) -> None:
        super().__init__()
        self.policy, self.refuse = policy, refuse

    def wrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], ToolMessage | Command]
    ) -> ToolMessage | Command:
        """Run the call, marking an untrusted tool's result; refuse guarded calls when told to."""
        call = request.tool_call
        if self.refuse:
            # The model reads this refusal: its reason stays in English like every tool message.
            reason = self.policy.reason(call, request.state.get("messages", []), "en")
            if reason is not None:
                return ToolMessage(
                    t("approval.refused", "en", reason=reason),
                    tool_call_id=call.get("id") or "",
                    name=call.get("name"),
                    status="error",
                )
        result = handler(request)
        if (
            isinstance(result, ToolMessage)
            and _meta(request.tool, UNTRUSTED)
            and request.tool is not None
        ):
            marks = [
                {"kind": s.kind, "label": s.label}
                for s in source_of(request.tool, dict(call), result)
            ]
            result.response_metadata = {**(result.response_metadata or {}), MARK: marks}
        return result


def approval_middleware(
    tools: Sequence[BaseTool], approval_tools: Collection[str], mode: str = "ask"
) -> list[AgentMiddleware]:
    """The taint marker plus one HumanInTheLoopMiddleware asking for declared and guarded calls."""
    policy = TaintPolicy(tools)
    out: list[AgentMiddleware] = (
        [TaintMiddleware(policy, refuse=mode == "none")] if policy.possible else []
    )
    if mode == "none":
        return out

    def why(call: Any, state: Any, runtime: Any) -> str:
        return policy.reason(call, state.get("messages", []), _lang(runtime)) or ""

    def guarded(request: ToolCallRequest) -> bool:
        return policy.reason(request.tool_call, request.state.get("messages", []), "en") is not None

    interrupt_on: dict[str, Any] = {}
    for tool in tools:
        config: dict[str, Any] = {"allowed_decisions": DECISIONS, "description": why}
        if tool.name not in approval_tools:
            if not policy.possible:
                continue
            config["when"] = guarded
        interrupt_on[tool.name] = config
    if interrupt_on:
        out.append(HumanInTheLoopMiddleware(interrupt_on=interrupt_on, edit_notice=EDIT_NOTICE))
    return out
