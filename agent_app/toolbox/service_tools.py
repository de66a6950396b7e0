"""Built-in tools that need the app's services: knowledge search and the memory tools."""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_core.tools import BaseTool

if TYPE_CHECKING:
    from agent_app.knowledge.service import KnowledgeService


def service_tools(knowledge: KnowledgeService | None, with_memory: bool) -> list[BaseTool]:
    """The extra built-ins handed to the tool loader (same path as every other tool)."""
    tools: list[BaseTool] = []
    if knowledge is not None:
        from agent_app.knowledge.tool import search_knowledge_tool

        tools.append(search_knowledge_tool(knowledge))
    if with_memory:
        from agent_app.memory.tools import MEMORY_TOOLS

        tools.extend(MEMORY_TOOLS)
    return tools
