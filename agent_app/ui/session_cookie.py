"""The sign-in cookie of `password` mode: a reload finds its session again (the token, never the password)."""

from __future__ import annotations

import json
import re

import streamlit as st

COOKIE = "agent_app_session"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,128}$")  # what secrets.token_urlsafe makes


def read_token() -> str | None:
    """The session token the browser sent with this connection, if it looks like one."""
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # no browser connection (a bare script run): no cookie
        return None
    return value if isinstance(value, str) and _TOKEN.match(value) else None


def _path() -> str:
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else "/"


def _set_cookie_js(value: str, max_age: int) -> str:
    # Streamlit cannot send Set-Cookie from a script run, so the page sets it: SameSite=Strict (no
    # other site's request carries it), Secure over https, scoped to the app's path, expiring with
    # the session. Only the random token goes in; the server keeps its hash and can end it.
    attrs = f"; Path={_path()}; Max-Age={max_age}; SameSite=Strict"
    cookie = json.dumps(f"{COOKIE}={value}{attrs}")
    return (
        "<script>document.cookie = "
        f"{cookie} + (location.protocol === 'https:' ? '; Secure' : '');</script>"
    )


def remember(token: str, hours: float) -> None:
    """Have the browser keep the token for `hours` (sent again on a reload or a new tab)."""
    if not _TOKEN.match(token):
        return
    st.html(_set_cookie_js(token, max(60, int(hours * 3600))), unsafe_allow_javascript=True)


def forget() -> None:
    """Have the browser drop the cookie (sign-out, an ended session)."""
    st.html(_set_cookie_js("", 0), unsafe_allow_javascript=True)
