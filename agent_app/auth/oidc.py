"""`oidc` mode: Streamlit's st.user claims mapped onto a stable user id (the subject, not the e-mail)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

OIDC_PREFIX = "oidc:"


def oidc_user(claims: Mapping[str, Any]) -> tuple[str, str] | None:
    """(user_id, display name) from ID-token claims; None until signed in or without a subject."""
    if not claims.get("is_logged_in"):
        return None
    subject = str(claims.get("sub") or "").strip()
    if not subject:
        return None
    issuer = str(claims.get("iss") or "").strip()
    # Subjects are unique per issuer only; a short issuer tag keeps two providers' users apart.
    user_id = f"{OIDC_PREFIX}{_issuer_tag(issuer)}{subject}"[:200]
    name = str(claims.get("email") or claims.get("name") or subject)[:120]
    return user_id, name


def _issuer_tag(issuer: str) -> str:
    if not issuer:
        return ""
    return hashlib.sha256(issuer.encode()).hexdigest()[:8] + ":"
