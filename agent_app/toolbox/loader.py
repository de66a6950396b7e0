"""load_tools: the one loading path for built-ins, tools/*.py, entry points and MCP servers.

Order decides duplicates (first wins): built-ins, then tools directories in configured order
(files sorted by name), then entry points (sorted by distribution and name), then MCP servers
(sorted by name). The loader writes only into the data directory (MCP pins, the probe cache),
never into tools/.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool

from agent_app.toolbox import mcp_servers
from agent_app.toolbox.calculator import calculator
from agent_app.toolbox.clock import make_current_time
from agent_app.toolbox.guard import describe_error, prepare_tool
from agent_app.toolbox.isolation import KnownGood, ProbeResult, import_with_deadline, probe
from agent_app.toolbox.mcp_sessions import McpSessions
from agent_app.toolbox.modules import (
    Job,
    discover_entry_points,
    discover_files,
)
from agent_app.toolbox.netguard import NetPolicy
from agent_app.toolbox.registry import Kind, Registry, Toolset
from agent_app.toolbox.webreader import make_read_webpage
from agent_app.toolbox.websearch import make_web_search

logger = logging.getLogger(__name__)
DEFAULT_IMPORT_TIMEOUT = 3.0
PROBE_CACHE_NAME = "tool_probe_cache.json"
MCP_LIST_TTL_S = 300.0
"""A server that never announces a changed tool list is listed again after this long."""
BUILTIN_NAMES = ("calculator", "current_time", "read_webpage")
# Outcome per source already tried in this process, (kind, target) -> (signature, tools, reason):
# a Streamlit rerun or a second load_tools call reuses it instead of importing (or timing out)
# again; editing the file changes its signature and triggers a fresh probe.
_outcomes: dict[tuple[str, str], tuple[str, list[BaseTool] | None, str]] = {}


def net_policy_from(settings: Any) -> NetPolicy:
    """The web reader policy; `web_allowed_ports` is honoured if the settings define it."""
    ports = getattr(settings, "web_allowed_ports", None)
    return NetPolicy(allowed_ports=frozenset(int(p) for p in ports)) if ports else NetPolicy()


def builtin_tools(settings: Any, net_policy: NetPolicy | None = None) -> list[BaseTool]:
    """calculator, current_time (settings.timezone), read_webpage, and web_search if configured."""
    tools = [
        calculator,
        make_current_time(getattr(settings, "timezone", "Asia/Shanghai")),
        make_read_webpage(net_policy or net_policy_from(settings)),
    ]
    search = make_web_search(settings)
    return tools if search is None else [*tools, search]


def _seen_here(job: Job) -> bool:
    return _outcomes.get((job.kind, job.target), ("",))[0] == job.signature


def _outcomes_in_order(
    jobs: Sequence[Job], known: KnownGood, timeout: float, stats: dict[str, float]
) -> Iterator[tuple[Job, list[BaseTool] | None, str]]:
    """Each job with its tools (or None and a reason), in job order."""
    keys = {job: known.key(job) for job in jobs if not _seen_here(job)}
    fresh = [job for job, key in keys.items() if key not in known.keys]
    # The probe host boots while the sources whose exact content passed a probe before are
    # imported directly (see isolation.py).
    results: Iterator[tuple[int, ProbeResult]] = (
        probe(fresh, timeout=timeout, stats=stats) if fresh else iter(())
    )
    direct = import_with_deadline([job for job in keys if job not in fresh], timeout)
    try:
        for job in jobs:
            if job not in keys:
                _, tools, reason = _outcomes[(job.kind, job.target)]
                yield job, tools, reason
                continue
            if job in direct:
                tools, reason = direct[job]
            else:
                tools, reason = _import_after_probe(job, next(results)[1], timeout)
            if keys[job]:
                (known.keys.add if tools is not None else known.keys.discard)(keys[job])
            _outcomes[(job.kind, job.target)] = (job.signature, tools, reason)
            yield job, tools, reason
    finally:
        close = getattr(results, "close", None)
        if close:
            close()  # stops the probe child if we leave early


def _import_after_probe(
    job: Job, result: ProbeResult, timeout: float
) -> tuple[list[BaseTool] | None, str]:
    if not result.ok:
        return None, result.reason or "import failed"
    # The child imported it cleanly; now for real, still with a deadline: a module may behave
    # differently the second time (or in the app's process), and start-up must not stall on it.
    return import_with_deadline([job], timeout)[job]


def _load_modules(
    registry: Registry, settings: Any, timeout: float, stats: dict[str, float]
) -> None:
    files, rejected = discover_files(str(getattr(settings, "tools_dirs", "tools")))
    for item in rejected:
        registry.fail(item.name, item.label, item.reason, "module")
    try:
        entry_points = discover_entry_points()
    except Exception as exc:  # broken package metadata must not stop start-up
        logger.warning("entry points unreadable: %s", describe_error(exc))
        entry_points = []
    known = KnownGood(Path(getattr(settings, "data_dir", "data")) / PROBE_CACHE_NAME)
    for job, tools, reason in _outcomes_in_order(files + entry_points, known, timeout, stats):
        kind: Kind = "module" if job.kind == "file" else "entry_point"
        if tools is None:
            registry.fail(job.name, job.label, reason, kind)
        else:
            registry.add_all((prepare_tool(tool) for tool in tools), job.label, kind)
    known.save()


def _load_mcp(registry: Registry, data_dir: Path, config: Path | None) -> Callable[[Toolset], None]:
    """Open a session per configured server and register its tools.

    Returns what ties the sessions to the finished Toolset: later listings (a server announced
    new tools, a reconnect, the TTL) replace that server's tools in it, and closing it ends them.
    """
    path = mcp_servers.find_config(data_dir, config)
    if path is None:
        return lambda toolset: None
    specs, refused = mcp_servers.read_config(path)
    for name, reason in refused:
        registry.fail(name, f"mcp:{name}", reason, "mcp")
    store = mcp_servers.PinStore(data_dir)
    # Each call checks the pin again: a server may change a tool's description while it runs.
    sessions = McpSessions(check=lambda server, tool: mcp_servers.check_pin(store, server, tool))
    loaded: dict[str, mcp_servers.ServerSpec] = {}
    for spec, result in mcp_servers.load_servers(specs, sessions):
        source = f"mcp:{spec.name}"
        if isinstance(result, str):
            registry.fail(spec.name, source, result, "mcp")
            continue
        loaded[spec.name] = spec
        ready, held = _mcp_tools(store, spec, result)
        registry.add_all(ready, source, "mcp")
        for tool, reason in held:
            registry.disable(tool, source, reason, "mcp")

    def attach(toolset: Toolset) -> None:
        def relisted(server: str, tools: list[BaseTool]) -> None:
            if server not in loaded:  # it failed at start: its tools were never offered
                return
            ready, held = _mcp_tools(store, loaded[server], tools)
            toolset.replace_source(f"mcp:{server}", "mcp", ready, held)

        sessions.on_listed = relisted
        toolset.refreshers.append(lambda: sessions.refresh_due(MCP_LIST_TTL_S))
        toolset.closers.append(sessions.close)

    return attach


def _mcp_tools(
    store: mcp_servers.PinStore, spec: mcp_servers.ServerSpec, listed: list[BaseTool]
) -> tuple[list[BaseTool], list[tuple[BaseTool, str]]]:
    """A server's listed tools: those ready for the agent, and those held back with the reason."""
    ready, held = [], []
    for tool in listed:
        tool = mcp_servers.apply_approval_policy(tool, spec)
        reason = mcp_servers.check_pin(store, spec.name, tool)
        if reason:
            held.append((tool, reason))
        else:
            ready.append(prepare_tool(tool, timeout=spec.call_timeout))
    store.save()
    return ready, held


def load_tools(
    settings: Any,
    extra_builtins: Iterable[BaseTool] = (),
    *,
    include_mcp: bool = True,
    mcp_config: Path | None = None,
    import_timeout: float = DEFAULT_IMPORT_TIMEOUT,
    net_policy: NetPolicy | None = None,
) -> Toolset:
    """Load every tool source once, isolating failures; see the module docstring for the order."""
    registry = Registry()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    for tool in [*builtin_tools(settings, net_policy), *extra_builtins]:
        registry.add(prepare_tool(tool), "builtin", "builtin")
    timings["builtins"] = _ms_since(started)
    started = time.perf_counter()
    _load_modules(registry, settings, import_timeout, timings)
    timings["modules"] = _ms_since(started)
    attach = None
    if include_mcp:
        started = time.perf_counter()
        attach = _load_mcp(registry, Path(getattr(settings, "data_dir", "data")), mcp_config)
        timings["mcp"] = _ms_since(started)
    toolset = registry.toolset(timings)
    if attach is not None:
        attach(toolset)
    return toolset


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
