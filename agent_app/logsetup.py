"""Logging with a redaction filter: keys, Authorization headers and ?key= never reach a log (H2)."""

from __future__ import annotations

import logging
import os
import re

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


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken %-format must not kill logging
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def configure_logging(level: str | None = None) -> None:
    """Root logging to stderr with redaction; SDK loggers pinned to WARNING even under DEBUG."""
    root = logging.getLogger()
    wanted = (level or os.environ.get("AGENT_APP_LOG_LEVEL") or "WARNING").upper()
    root.setLevel(wanted)
    if not any(isinstance(f, RedactingFilter) for h in root.handlers for f in h.filters):
        handler: logging.Handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
