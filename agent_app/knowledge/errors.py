"""Knowledge-base errors: one class carrying a reason code that maps to a localized message."""

from __future__ import annotations

from agent_app.errors import AppError, UnsupportedFileError


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
