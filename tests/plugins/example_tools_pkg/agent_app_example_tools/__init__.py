"""Example entry-point tools for agent-app: word_count (read-only) and send_greeting (asks first)."""

from langchain_core.tools import BaseTool, tool


@tool
def word_count(text: str) -> str:
    """Count the words and characters in a text."""
    return f"{len(text.split())} words, {len(text)} characters"


@tool
def send_greeting(name: str) -> str:
    """Pretend to send a greeting to someone (an example of a tool that needs approval)."""
    return f"Greeting queued for {name}."


# Declaring approval: the agent pauses and asks the user before every call of this tool.
send_greeting.metadata = {"needs_approval": True}


def get_tools() -> list[BaseTool]:
    """Entry point target: the tools this package adds."""
    return [word_count, send_greeting]
