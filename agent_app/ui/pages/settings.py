"""The Settings page: effective configuration (keys masked), tools and their state, where data lives."""

from __future__ import annotations

import streamlit as st
from pydantic import SecretStr

from agent_app.service import ChatService
from agent_app.settings import mask
from agent_app.ui.picker import PROVIDER_NAMES
from agent_app.ui.render import sanitize_markdown
from agent_app.ui.state import service, tr, user


def _model(svc: ChatService) -> None:
    s = svc.settings
    st.subheader(tr("ui.set.model"), anchor=False)
    st.markdown(
        tr(
            "ui.set.provider_line",
            provider=PROVIDER_NAMES.get(s.resolved_provider, s.resolved_provider),
            model=f"`{s.resolved_model}`",
        )
    )
    if s.resolved_provider == "offline" and not s.backend:
        st.info(tr("notice.offline"), icon=":material/cloud_off:")
    rows = [
        ("DASHSCOPE_API_KEY", _masked(s.dashscope_api_key)),
        ("AGENT_APP_DASHSCOPE_REGION", s.dashscope_region),
        (tr("ui.set.row.dashscope_endpoint"), s.dashscope_base),
        ("OLLAMA_HOST", s.ollama_host),
        (tr("ui.set.row.ollama_models"), ", ".join(svc.ollama_models()) or "–"),
        ("OPENAI_BASE_URL", s.openai_base_url or "–"),
        ("OPENAI_API_KEY", _masked(s.openai_api_key)),
        ("AGENT_APP_FALLBACK_MODEL", s.fallback_model or "–"),
    ]
    with st.expander(tr("ui.set.keys"), icon=":material/key:", expanded=True):
        cells = [(name, sanitize_markdown(str(value)).replace("|", "\\|")) for name, value in rows]
        head = f"| {tr('ui.set.col_setting')} | {tr('ui.set.col_value')} |\n|---|---|\n"
        st.markdown(head + "\n".join(f"| {_name(n)} | {v} |" for n, v in cells))


def _name(name: str) -> str:
    """Variable names as code; the localized labels as plain text."""
    return f"`{name}`" if name.replace("_", "").isupper() else name


def _masked(secret: SecretStr | None) -> str:
    """The masked key, or "not set" in the page's language."""
    return (
        mask(secret) if secret is not None and secret.get_secret_value() else tr("ui.set.not_set")
    )


def _description(name: str, description: str) -> str:
    """A shipped tool's description in the page's language; others as their authors wrote them."""
    key = f"tool.desc.{name}"
    text = tr(key)
    return description if text == key else text


def _source(source: str) -> str:
    return tr("ui.set.source.builtin") if source == "builtin" else source


def _tools(svc: ChatService) -> None:
    st.subheader(tr("ui.set.tools"), anchor=False)
    mode = svc.settings.approval_mode
    st.caption(tr("ui.set.approval_mode", mode=tr(f"ui.set.mode.{mode}")))
    for row in svc.tools():
        state = tr("ui.set.tool_enabled") if row.enabled else tr("ui.set.tool_disabled")
        icon = ":material/check_circle:" if row.enabled else ":material/block:"
        extra = f" · {tr('ui.set.tool_approval')}" if row.needs_approval else ""
        source = sanitize_markdown(_source(row.source or ""))
        st.markdown(f"{icon} `{row.name}` · {state}{extra} · {source}")
        detail = (row.reason or _description(row.name, row.description or "")).strip()
        if detail:
            st.caption(sanitize_markdown(detail.split("\n")[0][:300]))


def page() -> None:
    """Render the Settings page."""
    svc = service()
    s = svc.settings
    st.title(tr("ui.set.title"), anchor=False)
    st.caption(tr("ui.set.user", user=user(svc)))
    _model(svc)
    _tools(svc)
    st.subheader(tr("ui.set.data"), anchor=False)
    st.markdown(tr("ui.set.data_dir", path=str(s.data_dir.resolve())))
    st.caption(
        tr(
            "ui.set.limits",
            tools=s.max_tool_calls,
            steps=s.recursion_limit,
            seconds=int(s.turn_deadline_s),
        )
    )
    st.info(tr("ui.set.how_to"), icon=":material/info:")
