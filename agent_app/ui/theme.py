"""A few static style rules the widgets cannot express (never built from model or user text).

Streamlit's header Stop is hidden here too (config `ui.hideTopBar` hides it where our config is
read): it ends the page run without the chat's clean-up, and the chat has its own Stop.
"""

from __future__ import annotations

import streamlit as st

CSS = """
<style>
.st-key-thread_list button, .st-key-thread_list button > div { justify-content: flex-start; }
.st-key-thread_list button p { text-align: left; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.st-key-thread_list [data-testid="stPopoverButton"] div[aria-hidden="true"] { display: none; }
.st-key-turn_controls { margin-top: -0.5rem; }
[data-testid="stStatusWidget"] button { display: none; }
</style>
"""


def apply() -> None:
    """Inject the app's constant CSS."""
    st.html(CSS)
