"""What the model sees of the tools that take a ToolRuntime: only their own arguments, runtime injected."""

from __future__ import annotations

import pytest
from langchain_core.utils.function_calling import convert_to_openai_tool

from agent_app.memory.tools import forget, recall, remember

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("tool", "argument"), [(remember, "text"), (recall, "query"), (forget, "memory_id")]
)
def test_memory_tools_show_the_model_one_string_argument_and_inject_the_runtime(tool, argument):
    parameters = convert_to_openai_tool(tool)["function"]["parameters"]
    assert parameters == {
        "type": "object",
        "properties": {argument: {"type": "string"}},
        "required": [argument],
    }
    assert tool._injected_args_keys == frozenset({"runtime"})


def test_search_knowledge_shows_the_model_only_the_query(settings):
    from agent_app.knowledge.service import KnowledgeService
    from agent_app.knowledge.tool import search_knowledge_tool

    knowledge = KnowledgeService(settings)
    try:
        tool = search_knowledge_tool(knowledge)
        parameters = convert_to_openai_tool(tool)["function"]["parameters"]
        assert parameters == {
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        }
        assert tool._injected_args_keys == frozenset({"runtime"})
    finally:
        knowledge.close()
