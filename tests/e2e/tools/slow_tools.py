"""A deliberately slow tool, so the browser tests can watch a tool step while it runs."""

import time

from langchain_core.tools import tool


@tool
def slow_lookup(topic: str) -> str:
    """Look a topic up in the (slow) company wiki."""
    time.sleep(3.0)
    return f"wiki: {topic} is served at 3 pm"
