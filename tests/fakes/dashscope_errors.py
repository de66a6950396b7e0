"""DashScope error bodies (native `/api/v1` and OpenAI-compatible forms) for the fake."""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

from ._http import Reply, json_reply
from .script import Fault

_DOC = "For details, see: https://help.aliyun.com/zh/model-studio/error-code"
_FREE_TIER = (
    "The free tier of the model has been exhausted. If you wish to continue access the model "
    'on a paid basis, please disable the "use free tier only" mode in the management console.'
)
_RANGE = "Range of input length should be [1, 129024]"
_INVALID = "Required parameter(s) missing or invalid, please check the request parameters."
_INTERNAL = "An internal error has occured, please try again later or contact service support."
_UNAVAILABLE = "Service is temporarily unavailable, please try again later."


class Spec(NamedTuple):
    """How one fault kind looks in the native and the compatible API."""

    status: int
    native_code: str
    native_message: str
    compat_code: str
    compat_type: str
    compat_message: str


# Native codes/messages follow DashScope's status-code table; compatible-mode codes
# follow the Model Studio error-code page (InvalidApiKey / invalid_api_key,
# Throttling.AllocationQuota / insufficient_quota, Arrearage, data_inspection_failed).
# `limit_requests` for RateQuota is the compatible code as best known (not verified).
FAULTS: dict[str, Spec] = {
    "auth": Spec(
        401,
        "InvalidApiKey",
        "Invalid API-key provided.",
        "invalid_api_key",
        "invalid_request_error",
        f"Incorrect API key provided. {_DOC}#apikey-error",
    ),
    "rate_limit": Spec(
        429,
        "Throttling.RateQuota",
        "Requests rate limit exceeded, please try again later.",
        "limit_requests",
        "limit_requests",
        f"You exceeded your current requests list. {_DOC}#rate-limit",
    ),
    "quota": Spec(
        429,
        "Throttling.AllocationQuota",
        "Allocated quota exceeded, please increase your quota limit.",
        "insufficient_quota",
        "insufficient_quota",
        "You exceeded your current quota, please check your plan and billing "
        f"details. {_DOC}#rate-limit",
    ),
    "free_tier": Spec(
        403,
        "AllocationQuota.FreeTierOnly",
        _FREE_TIER,
        "AllocationQuota.FreeTierOnly",
        "AllocationQuota.FreeTierOnly",
        _FREE_TIER,
    ),
    "arrearage": Spec(
        400,
        "Arrearage",
        "Access denied, please make sure your account is in good standing.",
        "Arrearage",
        "Arrearage",
        f"Access denied, please make sure your account is in good standing. {_DOC}#overdue-payment",
    ),
    "inspection": Spec(
        400,
        "DataInspectionFailed",
        "Input or output data may contain inappropriate content.",
        "data_inspection_failed",
        "data_inspection_failed",
        f"Input data may contain inappropriate content. {_DOC}#inappropriate-content",
    ),
    "context_length": Spec(
        400,
        "InvalidParameter",
        _RANGE,
        "invalid_parameter_error",
        "invalid_request_error",
        f"<400> InternalError.Algo.InvalidParameter: {_RANGE}",
    ),
    "bad_request": Spec(
        400,
        "InvalidParameter",
        _INVALID,
        "invalid_parameter_error",
        "invalid_request_error",
        _INVALID,
    ),
    "500": Spec(500, "InternalError", _INTERNAL, "internal_error", "internal_error", _INTERNAL),
    "503": Spec(
        503,
        "ServiceUnavailable",
        _UNAVAILABLE,
        "ServiceUnavailable",
        "ServiceUnavailable",
        _UNAVAILABLE,
    ),
}

OUTPUT_INSPECTION_MESSAGE = (
    f"Output data may contain inappropriate content. {_DOC}#inappropriate-content"
)

_HTML = (
    "<!DOCTYPE html>\n<html>\n<head><title>{status} {reason}</title></head>\n<body>\n"
    "<center><h1>{status} {reason}</h1></center>\n"
    "<hr><center>Tengine</center>\n</body>\n</html>\n"
)
HTML_FAULTS = {"html500": (500, "Internal Server Error"), "502": (502, "Bad Gateway")}

KINDS = frozenset(FAULTS) | frozenset(HTML_FAULTS)


def request_id() -> str:
    return str(uuid.uuid4())


def html_reply(status: int, reason: str, headers: dict[str, str] | None = None) -> Reply:
    """An HTML error page as a gateway (Tengine) would send it."""
    body = _HTML.format(status=status, reason=reason).encode("utf-8")
    hdrs = {"Content-Type": "text/html; charset=utf-8"}
    hdrs.update(headers or {})
    return Reply(status=status, headers=hdrs, parts=[body])


def compat_error(code: str, etype: str, message: str) -> dict[str, Any]:
    """The OpenAI-compatible error envelope DashScope sends."""
    rid = request_id()
    return {
        "error": {"message": message, "type": etype, "param": None, "code": code},
        "id": f"chatcmpl-{rid}",
        "request_id": rid,
    }


def native_error(code: str, message: str) -> dict[str, Any]:
    """The native `/api/v1` error body DashScope sends."""
    return {"code": code, "message": message, "request_id": request_id()}


def render_fault(flt: Fault, path: str, authorization: str = "") -> Reply:
    """Render `flt` in the native or compatible form, chosen by the request path."""
    headers = {"x-request-id": request_id(), **flt.extra_headers()}
    if flt.kind in HTML_FAULTS:
        status, reason = HTML_FAULTS[flt.kind]
        return html_reply(status, reason, headers)
    if flt.kind not in FAULTS:
        raise ValueError(f"unknown DashScope fault kind {flt.kind!r}; known: {sorted(KINDS)}")
    spec = FAULTS[flt.kind]
    native = path.startswith("/api/")
    message = flt.message or (spec.native_message if native else spec.compat_message)
    if flt.echo_auth:
        message += f" (request headers: {{'Authorization': {authorization!r}}})"
    if native:
        body = native_error(flt.code or spec.native_code, message)
    else:
        body = compat_error(flt.code or spec.compat_code, spec.compat_type, message)
    return json_reply(spec.status, body, headers)
