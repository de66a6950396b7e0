"""Tools platform: loading 50 tool modules, one stdio MCP server, and per-call guard overhead."""

from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import p50, record, row  # noqa: E402

MODULE = '''from langchain_core.tools import tool


@tool
def bench_tool_{i}(x: int, label: str = "a") -> str:
    """Benchmark tool number {i}."""
    return label * x
'''


def _generate(directory: Path, count: int = 50) -> Path:
    directory.mkdir(parents=True)
    for i in range(count):
        (directory / f"mod_{i:02d}.py").write_text(MODULE.format(i=f"{directory.name}_{i}"))
    return directory


def _bare_import(directory: Path) -> float:
    """Baseline: import each file in-process with no isolation, policy or guard."""
    started = time.perf_counter()
    for path in sorted(directory.glob("*.py")):
        name = f"_bench_bare_{directory.name}_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return (time.perf_counter() - started) * 1000


def bench_loading(rounds: int = 5) -> list[dict[str, object]]:
    """Cold: first start, every module probed (the probe host boots). Warm: content known-good."""
    from agent_app.settings import Settings
    from agent_app.toolbox import load_tools, loader

    cold, warm, bare = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        settings = Settings(data_dir=base / "data", tools_dirs=str(base / "none"), _env_file=None)
        load_tools(settings, include_mcp=False)  # built-ins and langchain's one-off @tool warm-up
        _bare_import(_generate(base / "warm"))
        for r in range(rounds):  # fresh files each round: the loader remembers files it has seen
            bare.append(_bare_import(_generate(base / f"bare{r}")))
            settings = settings.with_overrides(
                tools_dirs=str(_generate(base / f"ours{r}")), data_dir=base / f"data{r}"
            )
            for times in (cold, warm):
                loader._outcomes.clear()  # what a restart does to the in-process memory
                toolset = load_tools(settings, include_mcp=False)
                assert len(toolset.tools) == 53, [i.reason for i in toolset.infos if not i.enabled]
                times.append(toolset.timings_ms["modules"])
    return [
        row("tools.load_50_modules_cold_ms", p50(cold), "ms", p50(bare)),
        row("tools.load_50_modules_ms", p50(warm), "ms", p50(bare)),
    ]


def bench_mcp(rounds: int = 3, calls: int = 20) -> list[dict[str, object]]:
    """Loading one stdio server; a tool call through its kept session against a bare in-process
    tool, the previous kept-session path and a session per call, interleaved in one run."""
    from agent_app.settings import Settings
    from agent_app.toolbox import load_tools, mcp_sessions

    server = ROOT / "tests" / "plugins" / "mcp_example_server.py"
    spec = {"command": sys.executable, "args": [str(server)]}
    times: list[float] = []
    samples: dict[str, list[float]] = {"bare": [], "ours": [], "previous": []}
    cpu: dict[str, list[float]] = {"ours": [], "previous": []}
    bare = _bare_add()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "mcp.json"
        config.write_text(json.dumps({"mcpServers": {"example": spec}}))
        settings = Settings(data_dir=Path(tmp) / "data", tools_dirs="", _env_file=None)
        for _ in range(rounds):
            toolset = load_tools(settings, mcp_config=config)
            times.append(toolset.timings_ms["mcp"])
            before = _previous_path(load_tools, settings, config, mcp_sessions)
            paths = {"bare": bare, "ours": toolset.get("add_numbers"), "previous": before[1]}
            for tool in paths.values():
                for i in range(5):  # warm-up: first calls pay imports and caches
                    tool.invoke({"a": i, "b": 1})
            for i in range(calls):
                for name, tool in paths.items():
                    wall, proc = time.perf_counter(), time.process_time()
                    assert tool.invoke({"a": i, "b": 1}) is not None
                    samples[name].append((time.perf_counter() - wall) * 1000)
                    if name in cpu:
                        cpu[name].append((time.process_time() - proc) * 1000)
            toolset.close()
            before[0].close()
        fresh = _calls_without_session(spec, max(3, calls // 6))
    ours = p50(samples["ours"])
    return [
        row("tools.mcp_stdio_server_load_ms", p50(times), "ms", None),
        row("tools.mcp_call_kept_session_ms", ours, "ms", p50(fresh)),
        row("tools.mcp_call_vs_bare_tool_ms", ours, "ms", p50(samples["bare"])),
        row("tools.mcp_call_vs_previous_kept_ms", ours, "ms", p50(samples["previous"])),
        row("tools.mcp_call_app_cpu_ms", p50(cpu["ours"]), "ms", p50(cpu["previous"])),
    ]


def _bare_add():
    """The baseline tool: the same addition in-process, prepared as the loader prepares tools."""
    from langchain_core.tools import tool

    from agent_app.toolbox import prepare_tool

    @tool
    def add_numbers(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    return prepare_tool(add_numbers)


def _previous_path(load_tools, settings, config, mcp_sessions):
    """The kept session as it was before: the SDK's per-call schema check and the generic
    async-to-sync bridge (a private event loop on a new thread for every call)."""
    from agent_app.toolbox import prepare_tool

    keep = mcp_sessions._check_output_schemas_once
    mcp_sessions._check_output_schemas_once = lambda session: None
    try:
        toolset = load_tools(settings.with_overrides(data_dir=settings.data_dir / "before"),
                             mcp_config=config)  # fmt: skip
    finally:
        mcp_sessions._check_output_schemas_once = keep
    add = toolset.get("add_numbers")
    return toolset, prepare_tool(add.model_copy(update={"func": None}))


def _calls_without_session(spec: dict[str, object], calls: int) -> list[float]:
    """The baseline: langchain-mcp-adapters' stateless tools start the server for every call."""
    import asyncio

    from langchain_mcp_adapters.client import MultiServerMCPClient

    async def run() -> list[float]:
        client = MultiServerMCPClient({"example": {**spec, "transport": "stdio"}})  # type: ignore[dict-item]
        add = next(t for t in await client.get_tools() if t.name == "add_numbers")
        samples = []
        for i in range(calls):
            started = time.perf_counter()
            await add.ainvoke({"a": i, "b": 1})
            samples.append((time.perf_counter() - started) * 1000)
        return samples

    return asyncio.run(run())


def _graph(tool):
    from langgraph.graph import END, START, MessagesState, StateGraph
    from langgraph.prebuilt import ToolNode

    graph = StateGraph(MessagesState)
    graph.add_node("tools", ToolNode([tool]))
    graph.add_edge(START, "tools")
    graph.add_edge("tools", END)
    return graph.compile()


def _per_call_us(graph, calls: int, guard=None) -> float:
    from langchain_core.messages import AIMessage

    samples = []
    for i in range(calls):
        message = AIMessage(
            "", tool_calls=[{"id": f"c{i}", "name": "lookup", "args": {"key": "k"}}]
        )
        started = time.perf_counter()
        if guard is None:
            graph.invoke({"messages": [message]})
        else:
            guard(lambda message=message: graph.invoke({"messages": [message]}))
        samples.append((time.perf_counter() - started) * 1e6)
    return p50(samples)


def bench_call_overhead(calls: int = 400) -> list[dict[str, object]]:
    """The tool guard (own thread with a deadline, stdout diverted, bounded output) per call."""
    from langchain_core.tools import tool

    from agent_app.toolbox import guarded_call, needs_approval

    @tool
    def lookup(key: str) -> str:
        """Look a key up."""
        return f"value for {key} " * 20

    def guard(run):
        needs_approval(lookup)
        return guarded_call(run, name="lookup", call_id="c", timeout=60.0, lang="en")

    graph = _graph(lookup)
    _per_call_us(graph, 50)
    _per_call_us(graph, 50, guard)
    bare, ours = [], []
    for _ in range(4):  # interleaved, so machine load hits both alike
        bare.append(_per_call_us(graph, calls // 4))
        ours.append(_per_call_us(graph, calls // 4, guard))
    return [row("tools.call_through_toolnode_us", p50(ours), "us", p50(bare))]


def main() -> None:
    rows = bench_loading() + bench_mcp() + bench_call_overhead()
    record(rows)


if __name__ == "__main__":
    main()
