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
    kind, key = "provider_auth", "error.provider_auth"


class ProviderNotConfiguredError(AppError):
    kind, key = "provider_not_configured", "error.provider_not_configured"


class RateLimitedError(AppError):
    kind, key = "rate_limited", "error.rate_limited"


class QuotaExhaustedError(AppError):
    kind, key = "quota_exhausted", "error.quota_exhausted"


class ContentFilteredError(AppError):
    kind, key = "content_filtered", "error.content_filtered"


class ProviderUnavailableError(AppError):
    kind, key = "provider_unavailable", "error.provider_unavailable"


class ProviderTimeoutError(AppError):
    kind, key = "timeout", "error.timeout"


class StreamInterruptedError(AppError):
    kind, key = "interrupted", "error.interrupted"


class ContextTooLongError(AppError):
    kind, key = "context_too_long", "error.context_too_long"


class BadRequestError(AppError):
    kind, key = "bad_request", "error.bad_request"


class InputRejectedError(AppError):
    kind, key = "input_rejected", "error.input_too_long"


class StepLimitError(AppError):
    kind, key = "step_limit", "error.step_limit"


class StopRequestedError(AppError):
    kind, key = "stopped", "error.stopped"


class ToolFailedError(AppError):
    kind, key = "tool_failed", "error.tool_failed"


class NotFoundError(AppError):
    kind, key = "not_found", "error.not_found"


class UnsafeURLError(AppError):
    kind, key = "unsafe_url", "error.unsafe_url"


class UnsupportedFileError(AppError):
    kind, key = "unsupported_file", "error.unsupported_file"


class StorageError(AppError):
    kind, key = "storage", "error.storage"
