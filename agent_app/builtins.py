"""Built-in tools that need the app's services: knowledge search and the memory tools."""

from __future__ import annotations

import logging
from typing import Any

from langchain.tools import ToolRuntime
from langchain_core.tools import BaseTool, tool

from agent_app.errors import AppError
from agent_app.i18n import t

log = logging.getLogger(__name__)


def knowledge_tool(knowledge: Any, k: int = 5) -> BaseTool:
    """`search_knowledge`, scoped in code to the calling user and the conversation's collections."""
    from agent_app.knowledge.tool import DESCRIPTION, format_hits

    @tool("search_knowledge", description=DESCRIPTION, response_format="content_and_artifact")
    def search_knowledge(query: str, runtime: ToolRuntime) -> tuple[str, list[dict[str, Any]]]:
        ctx = runtime.context
        user, lang = getattr(ctx, "user_id", "local"), getattr(ctx, "lang", "zh")
        collections = list(getattr(ctx, "collections", ()) or ()) or None
        try:
            hits = knowledge.for_user(user).search(query, collections, k)
        except AppError as exc:
            return exc.user_message(lang), []
        if not hits:
            return t("kb.tool_no_results", lang), []
        artifact = [{"n": n, **hit} for n, hit in enumerate(hits, start=1)]
        return format_hits(artifact), artifact

    return search_knowledge


def service_builtins(knowledge: Any | None, with_memory: bool) -> list[BaseTool]:
    """The extra built-ins handed to the tool loader (same path as every other tool)."""
    tools: list[BaseTool] = []
    if knowledge is not None:
        tools.append(knowledge_tool(knowledge))
    if with_memory:
        from agent_app.memory.tools import MEMORY_TOOLS

        tools.extend(MEMORY_TOOLS)
    return tools
