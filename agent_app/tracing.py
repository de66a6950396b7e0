"""LangSmith tracing stays content-free unless the operator asks: conversations are the users' data."""

from __future__ import annotations

import logging
import os
from collections.abc import MutableMapping

log = logging.getLogger(__name__)
_SWITCHES = (
    "LANGSMITH_TRACING",
    "LANGSMITH_TRACING_V2",
    "LANGCHAIN_TRACING_V2",
    "LANGCHAIN_TRACING",
)
_HIDE = ("LANGSMITH_HIDE_INPUTS", "LANGSMITH_HIDE_OUTPUTS")


def tracing_enabled(env: MutableMapping[str, str] | None = None) -> bool:
    """Whether LangChain will send runs to LangSmith (one of its switches is true)."""
    env = os.environ if env is None else env
    return any(env.get(name, "").strip().lower() == "true" for name in _SWITCHES)


def redact_traces(trace_content: bool, env: MutableMapping[str, str] | None = None) -> bool:
    """Hide run inputs and outputs from LangSmith unless content was asked for; True when hidden.

    Tracing is off unless an operator turns it on; on, the traces still show the graph, timings,
    token counts and errors, but no messages, documents or tool arguments. An explicit
    LANGSMITH_HIDE_* value is the operator's and is left alone.
    """
    env = os.environ if env is None else env
    if not tracing_enabled(env) or trace_content:
        return False
    for name in _HIDE:
        env.setdefault(name, "true")
    log.info(
        "LangSmith tracing is on; inputs and outputs are hidden (AGENT_APP_TRACE_CONTENT=true shows them)"
    )
    return True
