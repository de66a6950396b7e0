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


def bench_mcp(rounds: int = 3, calls: int = 10) -> list[dict[str, object]]:
    """Loading one stdio server, and a tool call through its kept session vs a session per call."""
    from agent_app.settings import Settings
    from agent_app.toolbox import load_tools

    server = ROOT / "tests" / "plugins" / "mcp_example_server.py"
    spec = {"command": sys.executable, "args": [str(server)]}
    times, kept, fresh = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "mcp.json"
        config.write_text(json.dumps({"mcpServers": {"example": spec}}))
        settings = Settings(data_dir=Path(tmp) / "data", tools_dirs="", _env_file=None)
        for _ in range(rounds):
            toolset = load_tools(settings, mcp_config=config)
            add = toolset.get("add_numbers")
            assert add is not None
            times.append(toolset.timings_ms["mcp"])
            for i in range(calls):
                started = time.perf_counter()
                assert add.invoke({"a": i, "b": 1}) is not None
                kept.append((time.perf_counter() - started) * 1000)
            toolset.close()
        fresh = _calls_without_session(spec, max(3, calls // 3))
    return [
        row("tools.mcp_stdio_server_load_ms", p50(times), "ms", None),
        row("tools.mcp_call_kept_session_ms", p50(kept), "ms", p50(fresh)),
    ]


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
