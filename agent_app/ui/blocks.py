"""Small render pieces shared by the live turn and the stored history: tool steps, thinking, turn notes."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any, Literal

import streamlit as st

from agent_app.textsafe import truncate
from agent_app.ui.render import sanitize_markdown
from agent_app.ui.state import tr

OUTPUT_LIMIT = 4000
IMAGE_WIDTH = 240
"""Images in messages are shown as thumbnails (the stored picture is up to 2048 px)."""
SOFT_ERRORS = {"stopped", "rate_limited", "step_limit", "empty_answer", "interrupted"}
RETRYABLE = SOFT_ERRORS | {"timeout", "provider_unavailable", "internal", "tool_failed", "storage"}


def md(text: str) -> None:
    """Render model, document or user text: sanitized Markdown, never HTML."""
    st.markdown(sanitize_markdown(text))


TOOL_LABELS = {
    "running": "ui.tool.running",
    "waiting": "ui.tool.waiting",
    "error": "ui.tool.failed",
    "rejected": "ui.tool.rejected",
    "edited": "ui.tool.edited",
    "done": "ui.tool.done",
}
StatusState = Literal["running", "complete", "error"]


def tool_label(name: str, state: str, duration_ms: float | None = None) -> str:
    """'Used `calculator` · 12 ms' style status label (st.status adds the state icon)."""
    took = ""
    if duration_ms is not None:
        took = (
            f" · {duration_ms / 1000:.1f} s" if duration_ms >= 1000 else f" · {duration_ms:.0f} ms"
        )
    key = TOOL_LABELS.get(state, "ui.tool.done")
    return tr(key, name=f"`{name.replace('`', '')}`") + took


def status_state(outcome: str) -> StatusState:
    """The st.status icon for a step's outcome."""
    if outcome in ("running", "waiting"):
        return "running"
    return "error" if outcome in ("error", "rejected") else "complete"


def tool_args(args: dict[str, Any]) -> None:
    """Show a tool call's arguments as JSON."""
    st.caption(tr("ui.tool.args"))
    st.code(truncate(json.dumps(args, ensure_ascii=False, indent=2), OUTPUT_LIMIT), language="json")


def tool_result(output: str, outcome: str) -> None:
    """A tool's result as plain text (tool output is untrusted: never Markdown)."""
    caption = {"error": "ui.tool.error", "rejected": "ui.tool.reason"}.get(
        outcome, "ui.tool.result"
    )
    if outcome == "rejected" and not output:
        return
    st.caption(tr(caption))
    st.code(truncate(output or "", OUTPUT_LIMIT), language=None, wrap_lines=True)


def tool_step(
    name: str, args: dict[str, Any], result: dict[str, Any] | None, waiting: bool = False
) -> None:
    """A tool step from the stored conversation: its result, a rejection, or still waiting."""
    if result is not None:
        outcome, took = result["outcome"], result.get("duration_ms")
    else:
        outcome, took = ("waiting" if waiting else "done"), None
    with st.status(tool_label(name, outcome, took), state=status_state(outcome), expanded=False):
        tool_args(args)
        if result is not None:
            tool_result(result["text"], outcome)
        elif not waiting:
            st.caption(tr("ui.tool.no_result"))


def thinking(text: str) -> None:
    """Show the model's reasoning in a collapsed expander."""
    with st.expander(tr("ui.thinking"), icon=":material/psychology:", expanded=False):
        md(text)


def usage_text(usages: list[dict[str, Any]]) -> str:
    """One caption for a turn: model, tokens in → out, model time."""
    if not usages:
        return ""
    models = ", ".join(dict.fromkeys(u["model"] for u in usages if u.get("model")))
    tokens_in = sum(int(u.get("input_tokens") or 0) for u in usages)
    tokens_out = sum(int(u.get("output_tokens") or 0) for u in usages)
    seconds = sum(float(u.get("latency_ms") or 0) for u in usages) / 1000
    return tr(
        "ui.usage",
        model=models or "?",
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        seconds=f"{seconds:.1f}",
        calls=len(usages),
    )


def turn_notes(meta: dict[str, Any]) -> None:
    """Under an answer: memories used, sources cited, notices and the usage caption."""
    memories = meta.get("memories") or []
    if memories:
        with st.expander(tr("ui.memories_used", count=len(memories)), icon=":material/neurology:"):
            for item in memories:
                st.markdown("- " + sanitize_markdown(str(item.get("text", ""))[:500]))
    citations = meta.get("citations") or []
    if citations:
        with st.expander(tr("ui.sources", count=len(citations)), icon=":material/menu_book:"):
            for c in citations:
                page = tr("ui.page", page=c["page"]) if c.get("page") not in (None, "") else ""
                st.markdown(
                    f"**{sanitize_markdown(str(c.get('source', '')))}** {page} · "
                    f"{float(c.get('score') or 0):.2f}"
                )
                if c.get("url"):  # a web result: its address as text, never a live link
                    st.caption(sanitize_markdown(str(c["url"])[:300]))
                if c.get("text"):
                    st.caption(sanitize_markdown(str(c["text"])[:300]))
    for notice in meta.get("notices") or []:
        st.caption(":material/info: " + sanitize_markdown(notice))
    caption = usage_text(meta.get("usage") or [])
    if caption:
        st.caption(caption)


def retry_button(on_click: Callable[[], None]) -> None:
    """The Retry button under a failed turn."""
    st.button(tr("ui.retry"), key="retry", icon=":material/refresh:", on_click=on_click)


def images(urls: list[str]) -> None:
    """A message's images (stored as data URLs of our own re-encoding), shown from their bytes."""
    pictures = []
    for url in urls:
        head, _, body = url.partition(",")
        if head.startswith("data:image/") and head.endswith(";base64"):
            try:
                pictures.append(base64.b64decode(body, validate=True))
            except ValueError:
                continue
    if pictures:
        st.image(pictures, width=IMAGE_WIDTH)
