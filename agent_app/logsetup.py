"""Logging with a redaction filter: keys, Authorization headers and ?key= never reach a log."""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from pydantic import SecretStr

_PATTERNS = [
    (re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(bearer\s+)?[^\s\"',}]+"), r"\1\2***"),
    (re.compile(r"(?i)(api[_-]?key[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"), r"\1***"),
    (re.compile(r"(?i)([?&](?:api_?)?key=)[^&\s]+"), r"\1***"),
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}"), "sk-***"),
]
_NOISY = ("httpx", "httpcore", "openai", "dashscope", "urllib3", "ollama", "watchdog")
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret value so that it is masked wherever it shows up in a log line."""
    if value and len(value) >= 6:
        _secrets.add(value)


def redact(text: str) -> str:
    """Mask anything that looks like a credential."""
    for secret in _secrets:
        text = text.replace(secret, "***")
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def register_configured_secrets(settings: Any) -> None:
    """Register every SecretStr value of the settings (called once the settings are loaded)."""
    for name in type(settings).model_fields:
        value = getattr(settings, name, None)
        if isinstance(value, SecretStr):
            register_secret(value.get_secret_value())


class RedactingFilter(logging.Filter):
    """Rewrites each record with secrets masked: message, formatted exception and stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact secrets from the formatted message; never drops a record."""
        try:
            message = record.getMessage()
        except Exception:  # a broken %-format must not kill logging
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            # A provider error can echo request headers into the exception text; formatters
            # render exc_text when it is set, so format it here, masked, and drop the raw one.
            record.exc_text = _PLAIN.formatException(record.exc_info)
        record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RedactingFormatter(logging.Formatter):
    """Masks the whole formatted line, whatever another formatter or a field put into it."""

    def __init__(self, inner: logging.Formatter | None = None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """Format the record, then redact secrets from the whole line."""
        return redact(self.inner.format(record))


_PLAIN = logging.Formatter()


def configure_logging(level: str | None = None) -> None:
    """Root logging to stderr with redaction; SDK loggers pinned to WARNING even under DEBUG."""
    root = logging.getLogger()
    wanted = (level or os.environ.get("AGENT_APP_LOG_LEVEL") or "WARNING").upper()
    root.setLevel(wanted)
    if not any(isinstance(f, RedactingFilter) for h in root.handlers for f in h.filters):
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
        if not isinstance(handler.formatter, RedactingFormatter):
            handler.setFormatter(RedactingFormatter(handler.formatter))
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
