"""User ids: one rule for threads, memories and the knowledge base, which all store the id verbatim."""

from __future__ import annotations

import unicodedata

from agent_app.errors import AppError
from agent_app.textsafe import strip_invisible

MAX_USER_ID = 128


class InvalidUserIdError(AppError):
    """A user id with control or invisible characters, surrounding spaces, or not in NFC form."""

    kind, key = "bad_user_id", "error.bad_user_id"


def check_user_id(user_id: object) -> str:
    r"""The id, unchanged, when it is valid; else InvalidUserIdError.

    Refused rather than cleaned: cleaning made `bob\x07` and `bob` one memory namespace while
    threads and documents kept them apart. An id that any cleaning would change is refused.
    """
    if not isinstance(user_id, str) or not 0 < len(user_id) <= MAX_USER_ID:
        raise InvalidUserIdError("bad length or type")
    if (
        user_id != user_id.strip()
        or strip_invisible(user_id) != user_id
        or unicodedata.normalize("NFC", user_id) != user_id
        or any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in user_id)
    ):
        raise InvalidUserIdError("control, invisible or non-NFC characters")
    return user_id
