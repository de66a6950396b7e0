"""Current date and time in a named IANA timezone (default Asia/Shanghai)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from langchain_core.tools import BaseTool, StructuredTool, ToolException

DEFAULT_TIMEZONE = "Asia/Shanghai"
# IANA names only: letters, digits, '_', '+', '-' and '/' between parts; no '..' or absolute paths.
_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$")
_ALIASES = {
    "beijing": "Asia/Shanghai",
    "china": "Asia/Shanghai",
    "北京": "Asia/Shanghai",
    "utc": "UTC",
    "gmt": "UTC",
    "z": "UTC",
}


def resolve_zone(name: str) -> ZoneInfo:
    """Return the ZoneInfo for an IANA name (or a few aliases); raises ToolException if unknown."""
    cleaned = (name or "").strip()
    cleaned = _ALIASES.get(cleaned.lower(), cleaned)
    if len(cleaned) > 64 or not _ZONE_NAME.match(cleaned):
        raise ToolException(f"Unknown timezone {name[:64]!r}; use an IANA name like Asia/Shanghai.")
    try:
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ToolException(
            f"Unknown timezone {cleaned!r}; use an IANA name like Asia/Shanghai or Europe/Berlin."
        ) from None


def describe_now(timezone: str, now: Callable[[], datetime] | None = None) -> str:
    """One line with the local date, time, weekday, UTC offset and ISO form."""
    zone = resolve_zone(timezone)
    moment = (now or (lambda: datetime.now(tz=zone)))().astimezone(zone)
    offset = moment.strftime("%z")
    return (
        f"{moment:%Y-%m-%d %H:%M:%S} {moment.tzname()} ({zone.key}, UTC{offset[:3]}:{offset[3:]}), "
        f"{moment:%A}; ISO 8601: {moment.isoformat(timespec='seconds')}"
    )


def make_current_time(default_timezone: str = DEFAULT_TIMEZONE) -> BaseTool:
    """Build the current_time tool with the configured default timezone."""
    resolve_zone(default_timezone)  # a bad setting fails at start-up, not at the first call

    def current_time(timezone: str = default_timezone) -> str:
        return describe_now(timezone)

    return StructuredTool.from_function(
        func=current_time,
        name="current_time",
        description=(
            "Get the current date, time and weekday. `timezone` is an IANA name such as "
            f"Asia/Shanghai or America/New_York (default {default_timezone})."
        ),
        handle_tool_error=True,
    )


current_time = make_current_time()
