"""The per-conversation model picker: provider, model, thinking, temperature, knowledge collections."""

from __future__ import annotations

from typing import Any

import streamlit as st

from agent_app.service import ChatService
from agent_app.storage.threads import ThreadInfo
from agent_app.thread_options import ThreadOptions
from agent_app.ui.state import knowledge, open_thread, tr, user

PROVIDER_NAMES = {
    "dashscope": "DashScope · Qwen",
    "ollama": "Ollama",
    "openai": "OpenAI-compatible",
    "offline": "Offline",
}
DEFAULT_TEMPERATURE = 0.7


def _save(svc: ChatService, info: ThreadInfo | None, **options: Any) -> None:
    """Store options on the conversation (a draft becomes a real conversation here)."""
    thread_id = info.id if info else svc.new_thread(user(svc)).id
    svc.set_thread_options(user(svc), thread_id, **options)
    if info is None:
        open_thread(thread_id)


def _on_provider(svc: ChatService, info: ThreadInfo | None, key: str) -> None:
    provider = st.session_state[key]
    _save(svc, info, provider=provider, model=svc.models(provider)[0])


def _on_value(svc: ChatService, info: ThreadInfo | None, key: str, option: str) -> None:
    value = st.session_state[key]
    if value not in (None, ""):
        _save(svc, info, **{option: value})


def _on_ask(svc: ChatService, info: ThreadInfo | None, key: str) -> None:
    default = svc.settings.approval_mode if svc.settings.approval_mode != "all" else "ask"
    _save(svc, info, approval_mode="all" if st.session_state[key] else default)


def _collections(
    svc: ChatService, info: ThreadInfo | None, tid: str, chosen: tuple[str, ...]
) -> None:
    kb = knowledge(svc)
    # Own and shared collections; one entry per name (a search by name reads all of them).
    names = list(dict.fromkeys(c["name"] for c in kb.list_collections())) if kb is not None else []
    if not names:
        return
    key = f"collections_{tid}"
    st.multiselect(
        tr("ui.collections"),
        names,
        default=[c for c in chosen if c in names],
        key=key,
        help=tr("ui.collections_help"),
        on_change=_on_value,
        args=(svc, info, key, "collections"),
    )


def label(svc: ChatService, info: ThreadInfo | None) -> str:
    """'DashScope · Qwen · qwen-plus' for the picker button and captions."""
    options = svc.thread_options(info)
    return f"{PROVIDER_NAMES.get(options.provider, options.provider)} · {options.model}"


def _model_fields(svc: ChatService, info: ThreadInfo | None, choice: ThreadOptions) -> str:
    """Provider and model selectors; returns the provider shown."""
    tid = info.id if info else "draft"
    providers = svc.providers()
    provider = choice.provider if choice.provider in providers else providers[0]
    key = f"provider_{tid}"
    st.selectbox(tr("ui.provider"), providers, index=providers.index(provider), key=key,
                 format_func=lambda p: PROVIDER_NAMES.get(p, p), on_change=_on_provider,
                 args=(svc, info, key))  # fmt: skip
    options = svc.models(provider)
    if choice.model not in options:
        options.append(choice.model)
    key = f"model_{tid}_{provider}"
    st.selectbox(tr("ui.model"), options, index=options.index(choice.model), key=key,
                 accept_new_options=True, on_change=_on_value, args=(svc, info, key, "model"))  # fmt: skip
    return provider


def _behaviour_fields(svc: ChatService, info: ThreadInfo | None, choice: ThreadOptions) -> None:
    """Thinking, ask-before-tools and temperature."""
    tid = info.id if info else "draft"
    key = f"thinking_{tid}"
    st.toggle(tr("ui.thinking_toggle"), value=choice.thinking, key=key,
              on_change=_on_value, args=(svc, info, key, "thinking"))  # fmt: skip
    key = f"ask_{tid}"
    st.toggle(tr("ui.ask_every_tool"), value=choice.approval_mode == "all", key=key, help=tr("ui.ask_every_tool_help"),
              on_change=_on_ask, args=(svc, info, key))  # fmt: skip
    key = f"plan_{tid}"
    st.toggle(tr("ui.plan_toggle"), value=choice.plan, key=key, help=tr("ui.plan_help"),
              on_change=_on_value, args=(svc, info, key, "plan"))  # fmt: skip
    _tool_switches(svc, info, choice, tid)
    key = f"temperature_{tid}"
    temperature = DEFAULT_TEMPERATURE if choice.temperature is None else choice.temperature
    st.slider(tr("ui.temperature"), 0.0, 2.0, step=0.1, key=key, value=float(temperature),
              on_change=_on_value, args=(svc, info, key, "temperature"))  # fmt: skip


def _on_tools(svc: ChatService, info: ThreadInfo | None, key: str, names: list[str]) -> None:
    chosen = set(st.session_state[key])
    _save(svc, info, disabled_tools=[n for n in names if n not in chosen])


def _tool_switches(
    svc: ChatService, info: ThreadInfo | None, choice: ThreadOptions, tid: str
) -> None:
    """Which tools this conversation may use (stored as the thread's disabled_tools)."""
    names = list(dict.fromkeys(row.name for row in svc.tools() if row.enabled))
    if not names:
        return
    disabled = set(choice.disabled_tools)
    key = f"tools_{tid}"
    st.multiselect(tr("ui.tools_enabled"), names, default=[n for n in names if n not in disabled], key=key,
                   help=tr("ui.tools_enabled_help"), on_change=_on_tools, args=(svc, info, key, names))  # fmt: skip


def render(svc: ChatService, info: ThreadInfo | None) -> None:
    """A popover with the model settings of the open conversation."""
    settings, tid = svc.settings, info.id if info else "draft"
    choice = svc.thread_options(info)
    with st.popover(label(svc, info), icon=":material/tune:", key=f"picker_{tid}"):
        provider = _model_fields(svc, info, choice)
        _behaviour_fields(svc, info, choice)
        if provider == "dashscope":
            st.caption(tr("ui.region", region=settings.dashscope_region))
        if provider == "ollama" and not svc.ollama_models():
            st.caption(tr("ui.ollama_none", host=settings.ollama_host))
        _collections(svc, info, tid, choice.collections or ())
