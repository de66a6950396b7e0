"""Loopback protocol fakes (DashScope, Ollama) that the real provider clients run against."""

from ._http import RecordedRequest, Reply
from .dashscope import FakeDashScope
from .ollama import FakeOllama
from .script import (
    Fault,
    ToolCallSpec,
    Turn,
    cut_stream,
    echo,
    fault,
    hang,
    inspection_midstream,
    last_user_text,
    malformed_sse,
    searched,
    split_utf8,
    text,
    tool_calls,
)
from .vectors import cosine, embed_text

__all__ = [
    "FakeDashScope",
    "FakeOllama",
    "Fault",
    "RecordedRequest",
    "Reply",
    "ToolCallSpec",
    "Turn",
    "cosine",
    "cut_stream",
    "echo",
    "embed_text",
    "fault",
    "hang",
    "inspection_midstream",
    "last_user_text",
    "malformed_sse",
    "searched",
    "split_utf8",
    "text",
    "tool_calls",
]
