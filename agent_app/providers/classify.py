"""Turn any provider exception into one AppError with a clear kind (auth, quota, timeout…)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from agent_app import errors as E

_QUOTA = ("allocationquota", "insufficient_quota", "arrearage", "quota exhausted", "free quota")
_INSPECTION = ("datainspectionfailed", "data_inspection_failed", "inappropriate content")
_CONTEXT = ("range of input length", "context_length", "maximum context", "too long")


def _body_text(exc: Exception) -> str:
    """Provider error code/message as lower-case text; never assumes JSON."""
    parts: list[str] = []
    body: Any = getattr(exc, "body", None)
    if body is not None:
        parts.append(json.dumps(body, ensure_ascii=False) if not isinstance(body, str) else body)
    code = getattr(exc, "code", None)
    if code:
        parts.append(str(code))
    parts.append(str(getattr(exc, "message", "") or exc))
    return " ".join(parts).lower()


def retry_after(exc: Exception) -> float | None:
    """Seconds from a Retry-After header, when the provider sent one."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _status(exc: Exception) -> int | None:
    status = getattr(exc, "status_code", None)
    if status is None:
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def classify(exc: BaseException, backend: str = "model", *, streamed: bool = False) -> E.AppError:
    """Map an exception raised by a chat/embedding client onto an AppError subclass."""
    if isinstance(exc, E.AppError):
        return exc
    assert isinstance(exc, Exception)
    name = type(exc).__name__
    if E.is_database_error(exc):  # e.g. the checkpointer's server restarted mid-turn
        return E.DatabaseUnavailableError(name)
    text, status = _body_text(exc), _status(exc)
    if any(k in text for k in _INSPECTION):
        return E.ContentFilteredError(name)
    if any(k in text for k in _QUOTA):
        return E.QuotaExhaustedError(name)
    if status in (401, 403) or "invalidapikey" in text or name == "AuthenticationError":
        return E.ProviderAuthError(name)
    if status == 429 or "throttling" in text:
        err = E.RateLimitedError(name)
        err.retry_after = retry_after(exc)  # type: ignore[attr-defined]
        return err
    if status == 404 or ("not found" in text and "model" in text):
        return E.ProviderUnavailableError(name, key="error.model_not_found", backend=backend)
    if status == 400 and any(k in text for k in _CONTEXT):
        return E.ContextTooLongError(name)
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError) or streamed:
        return E.StreamInterruptedError(name)
    if "timeout" in name.lower() or isinstance(exc, httpx.TimeoutException | TimeoutError):
        return E.ProviderTimeoutError(name)
    if status is not None and status >= 500:
        return E.ProviderUnavailableError(name, backend=backend)
    if status is not None and 400 <= status < 500:
        return E.BadRequestError(name)
    if isinstance(exc, ConnectionError | httpx.TransportError | json.JSONDecodeError) or (
        "connection" in name.lower()
    ):
        return E.ProviderUnavailableError(name, backend=backend)
    return E.ProviderUnavailableError(name, backend=backend)


RETRYABLE = (E.RateLimitedError, E.ProviderUnavailableError, E.ProviderTimeoutError)


def is_retryable(err: E.AppError) -> bool:
    """Transient errors only; never auth, quota, content inspection or a model that is missing."""
    return isinstance(err, RETRYABLE) and err.key != "error.model_not_found"
