"""DashScope error bodies (native `/api/v1` and OpenAI-compatible forms) for the fake."""

from __future__ import annotations

import uuid
from typing import Any

from ._http import Reply, json_reply
from .script import Fault

_DOC = "For details, see: https://help.aliyun.com/zh/model-studio/error-code"

# kind -> (status, native code, compatible code, compatible type, message)
# Compatible-mode codes follow the Model Studio error-code page: InvalidApiKey /
# invalid_api_key, Throttling.AllocationQuota / insufficient_quota, Arrearage and
# data_inspection_failed as sent by compatible-mode. `limit_requests` for RateQuota is
# the compatible-mode code as best known (the message text is documented).
FAULTS: dict[str, tuple[int, str, str, str, str]] = {
    "auth": (401, "InvalidApiKey", "invalid_api_key", "invalid_request_error",
             f"Incorrect API key provided. {_DOC}#apikey-error"),
    "rate_limit": (429, "Throttling.RateQuota", "limit_requests", "limit_requests",
                   f"Requests rate limit exceeded, please try again later. {_DOC}#rate-limit"),
    "quota": (429, "Throttling.AllocationQuota", "insufficient_quota", "insufficient_quota",
              f"You exceeded your current quota, please check your plan and billing details. "
              f"{_DOC}#rate-limit"),
    "free_tier": (403, "AllocationQuota.FreeTierOnly", "AllocationQuota.FreeTierOnly",
                  "AllocationQuota.FreeTierOnly",
                  "The free tier of the model has been exhausted. If you wish to continue "
                  "access the model on a paid basis, please disable the \"use free tier only\" "
                  "mode in the management console."),
    "arrearage": (400, "Arrearage", "Arrearage", "Arrearage",
                  f"Access denied, please make sure your account is in good standing. "
                  f"{_DOC}#overdue-payment"),
    "inspection": (400, "DataInspectionFailed", "data_inspection_failed",
                   "data_inspection_failed",
                   f"Input data may contain inappropriate content. {_DOC}#inappropriate-content"),
    "context_length": (400, "InvalidParameter", "invalid_parameter_error",
                       "invalid_request_error",
                       "<400> InternalError.Algo.InvalidParameter: Range of input length "
                       "should be [1, 129024]"),
    "bad_request": (400, "InvalidParameter", "invalid_parameter_error", "invalid_request_error",
                    "Required parameter(s) missing or invalid, please check the request "
                    "parameters."),
    "500": (500, "InternalError", "internal_error", "internal_error",
            "An internal error has occured, please try again later or contact service support."),
    "503": (503, "ServiceUnavailable", "ServiceUnavailable", "ServiceUnavailable",
            "Service is temporarily unavailable, please try again later."),
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


def render_fault(flt: Fault, path: str) -> Reply:
    """Render `flt` in the native or compatible form, chosen by the request path."""
    headers = {"x-request-id": request_id(), **flt.extra_headers()}
    if flt.kind in HTML_FAULTS:
        status, reason = HTML_FAULTS[flt.kind]
        return html_reply(status, reason, headers)
    if flt.kind not in FAULTS:
        raise ValueError(f"unknown DashScope fault kind {flt.kind!r}; known: {sorted(KINDS)}")
    status, ncode, ccode, ctype, message = FAULTS[flt.kind]
    message = flt.message or message
    if path.startswith("/api/"):
        body = native_error(flt.code or ncode, message)
    else:
        body = compat_error(flt.code or ccode, ctype, message)
    return json_reply(status, body, headers)
