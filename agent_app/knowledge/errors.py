"""Knowledge-base errors: one class carrying a reason code that maps to a localized message."""

from __future__ import annotations

import json

from agent_app.errors import AppError, UnsupportedFileError
from agent_app.i18n import t


class DocumentError(UnsupportedFileError):
    """A document was rejected or could not be ingested; `code` names why (kb.<code> message)."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code, key=f"kb.{code}", **params)
        self.code = code

    def to_json(self) -> dict[str, object]:
        """Plain form sent from the parse worker to the parent."""
        return {"code": self.code, "params": {k: str(v) for k, v in self.params.items()}}


class KnowledgeError(AppError):
    """A knowledge-base request that cannot be served (unknown collection, bad name…)."""

    kind = "knowledge"

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code, key=f"kb.{code}", **params)
        self.code = code


def stored_reason(stored: str | None, lang: str) -> str | None:
    """The localized one-line reason for a failed document (stored as {code, params} JSON)."""
    if not stored:
        return None
    try:
        data = json.loads(stored)
        return t(f"kb.{data['code']}", lang, **dict(data.get("params") or {}))
    except (ValueError, KeyError, TypeError):
        return t("kb.corrupt", lang)


def stored_params(stored: str | None) -> dict[str, str]:
    """The parameters of a stored reason (the page count and limit of an OCR decision)."""
    try:
        return {str(k): str(v) for k, v in dict(json.loads(stored or "")["params"]).items()}
    except (ValueError, KeyError, TypeError):
        return {}
