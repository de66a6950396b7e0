"""Application errors: few, named for meaning, each carrying a user-facing message key."""

from __future__ import annotations

from agent_app.i18n import t


class AppError(Exception):
    """Base error: `kind` is the event kind, `key` the localized message key."""

    kind = "internal"
    key = "error.internal"

    def __init__(self, detail: str = "", *, key: str | None = None, **params: object) -> None:
        super().__init__(detail or self.__class__.__name__)
        self.detail = detail
        if key:
            self.key = key
        self.params = params

    def user_message(self, lang: str | None = "zh") -> str:
        """The short localized message shown to users (never the detail)."""
        return t(self.key, lang, **self.params)


class ProviderAuthError(AppError):
    """The provider refused the key."""

    kind, key = "provider_auth", "error.provider_auth"


class ProviderNotConfiguredError(AppError):
    """The chosen provider lacks its key or address."""

    kind, key = "provider_not_configured", "error.provider_not_configured"


class RateLimitedError(AppError):
    """The provider asked us to slow down."""

    kind, key = "rate_limited", "error.rate_limited"


class QuotaExhaustedError(AppError):
    """The account's quota or balance is used up; retrying will not help."""

    kind, key = "quota_exhausted", "error.quota_exhausted"


class ContentFilteredError(AppError):
    """The provider's content inspection blocked the input or the answer."""

    kind, key = "content_filtered", "error.content_filtered"


class ProviderUnavailableError(AppError):
    """The provider cannot be reached or failed on its side."""

    kind, key = "provider_unavailable", "error.provider_unavailable"


class ProviderTimeoutError(AppError):
    """The provider did not answer in time."""

    kind, key = "timeout", "error.timeout"


class StreamInterruptedError(AppError):
    """The answer's stream broke off after it had started."""

    kind, key = "interrupted", "error.interrupted"


class ContextTooLongError(AppError):
    """The conversation no longer fits the model's context window."""

    kind, key = "context_too_long", "error.context_too_long"


class BadRequestError(AppError):
    """The provider rejected the request as malformed."""

    kind, key = "bad_request", "error.bad_request"


class InputRejectedError(AppError):
    """The message was refused before any provider call (too long)."""

    kind, key = "input_rejected", "error.input_too_long"


class StepLimitError(AppError):
    """The turn hit its limit of steps, tool calls or time."""

    kind, key = "step_limit", "error.step_limit"


class StopRequestedError(AppError):
    """The user stopped the turn."""

    kind, key = "stopped", "error.stopped"


class ToolFailedError(AppError):
    """A tool failed; the message says so without internals."""

    kind, key = "tool_failed", "error.tool_failed"


class NotFoundError(AppError):
    """No such conversation or item for this user (someone else's looks the same)."""

    kind, key = "not_found", "error.not_found"


class AmbiguousIdError(AppError):
    """An id prefix that matches several of the user's conversations (`candidates` lists them)."""

    kind, key = "ambiguous_id", "error.ambiguous_id"


class UnsafeURLError(AppError):
    """A URL the web reader must not fetch (private address, bad scheme or port)."""

    kind, key = "unsafe_url", "error.unsafe_url"


class UnsupportedFileError(AppError):
    """A file type the knowledge base does not accept."""

    kind, key = "unsupported_file", "error.unsupported_file"


class StorageError(AppError):
    """The data directory or a database could not be used."""

    kind, key = "storage", "error.storage"


class DatabaseUnavailableError(StorageError):
    """The database server refused us or cannot be reached (address, password, server down)."""

    kind, key = "database_unavailable", "error.database_unreachable"


class BackendUnavailableError(AppError):
    """The LangGraph Server that runs the turns (`AGENT_APP_BACKEND`) cannot be reached."""

    kind, key = "backend_unavailable", "error.backend_unavailable"


class BackendFailedError(AppError):
    """The LangGraph Server ended the turn with an error of its own."""

    kind, key = "backend_failed", "error.backend_failed"


def is_database_error(exc: BaseException) -> bool:
    """Whether a raw exception comes from the PostgreSQL driver or its pool (not imported here)."""
    return type(exc).__module__.split(".")[0] in ("psycopg", "psycopg_pool")
