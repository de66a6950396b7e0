"""One loader for built-ins, tools/*.py and entry points; broken sources are isolated (G1-G5)."""

from __future__ import annotations

import json
import os
import sys
import time
import tomllib
from pathlib import Path

import pytest

from agent_app.settings import Settings
from agent_app.toolbox import BUILTIN_NAMES, load_tools, needs_approval

ROOT = Path(__file__).resolve().parents[1]
GOOD = '''from langchain_core.tools import tool


@tool
def {name}(x: int) -> str:
    """Return x doubled."""
    return str(2 * x)
'''


def write(directory: Path, filename: str, body: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / filename
    path.write_text(body, encoding="utf-8")
    return path


def settings_for(tmp_path: Path, *dirs: Path) -> Settings:
    tools_dirs = os.pathsep.join(str(d) for d in dirs) if dirs else str(tmp_path / "tools")
    return Settings(data_dir=tmp_path / "data", tools_dirs=tools_dirs, _env_file=None)


def load(tmp_path: Path, *dirs: Path, **kwargs):
    kwargs.setdefault("include_mcp", False)
    kwargs.setdefault("import_timeout", 1.5)
    return load_tools(settings_for(tmp_path, *dirs), **kwargs)


def rows_by_source(toolset) -> dict[str, list]:
    rows: dict[str, list] = {}
    for info in toolset.infos:
        rows.setdefault(Path(info.source).name, []).append(info)
    return rows


@pytest.mark.unit
def test_builtins_load_through_the_same_path(tmp_path: Path) -> None:
    toolset = load(tmp_path)
    assert toolset.names[:3] == list(BUILTIN_NAMES)
    assert all(info.source == "builtin" and info.enabled for info in toolset.infos)
    assert not any(needs_approval(tool) for tool in toolset.tools)  # read-only built-ins
    assert toolset.get("calculator").invoke({"expression": "6*7"}) == "42"


@pytest.mark.unit
def test_extra_builtins_are_registered_first(tmp_path: Path) -> None:
    from langchain_core.tools import tool

    @tool
    def search_knowledge(query: str) -> str:
        """Search the knowledge base."""
        return "hits"

    write(tmp_path / "tools", "clash.py", GOOD.format(name="search_knowledge"))
    toolset = load(tmp_path, extra_builtins=[search_knowledge])
    info = toolset.info("search_knowledge")
    assert info.enabled and info.source == "builtin"
    clash = rows_by_source(toolset)["clash.py"][0]
    assert not clash.enabled and "duplicate name: already provided by builtin" in clash.reason


@pytest.mark.integration
def test_g1_broken_modules_are_disabled_and_the_rest_works(tmp_path: Path) -> None:
    tools = tmp_path / "tools"
    write(tools, "good.py", GOOD.format(name="double"))
    write(tools, "syntax.py", "def broken(:\n")
    write(tools, "missing_dep.py", "import definitely_not_installed_pkg\n")
    write(
        tools,
        "raises.py",
        "raise RuntimeError('boom at /home/admin/secret/config.py sk-ABCDEF123456')\n",
    )
    write(tools, "exits.py", "import sys\nsys.exit(1)\n")
    write(tools, "empty.py", "VALUE = 1\n")
    toolset = load(tmp_path)
    rows = rows_by_source(toolset)
    assert rows["good.py"][0].enabled and toolset.get("double").invoke({"x": 4}) == "8"
    reasons = {name: rows[name][0].reason for name in rows if name != "builtin"}
    assert reasons["syntax.py"].startswith("SyntaxError: ")
    assert reasons["missing_dep.py"].startswith("ModuleNotFoundError: ")
    assert reasons["raises.py"] == "RuntimeError: boom at config.py sk-***"  # redacted, no path
    assert reasons["exits.py"] == "SystemExit: 1"
    assert "no tools found" in reasons["empty.py"]
    assert all("\n" not in r and "Traceback" not in r for r in reasons.values())


@pytest.mark.integration
def test_g2_hanging_and_crashing_imports_cost_only_a_timeout(tmp_path: Path) -> None:
    tools = tmp_path / "tools"
    write(tools, "a_sleeps.py", "import time\ntime.sleep(600)\n")
    write(tools, "b_spins.py", "while True:\n    pass\n")
    write(tools, "c_kills.py", "import os\nos._exit(7)\n")
    write(tools, "d_good.py", GOOD.format(name="after_the_hang"))
    started = time.monotonic()
    toolset = load(tmp_path, import_timeout=1.0)
    # The probe host's one-off boot (a fresh interpreter) is start-up cost, not the hangs' cost.
    elapsed = time.monotonic() - started - toolset.timings_ms["probe_start_ms"] / 1000
    rows = rows_by_source(toolset)
    assert rows["a_sleeps.py"][0].reason == "import timed out after 1 s"
    assert rows["b_spins.py"][0].reason == "import timed out after 1 s"
    assert rows["c_kills.py"][0].reason == "import crashed the interpreter"
    assert toolset.get("after_the_hang").invoke({"x": 1}) == "2"
    assert elapsed < 8, elapsed
    again = time.monotonic()
    load(tmp_path, import_timeout=1.0)  # outcome remembered per file version: no second wait
    assert time.monotonic() - again < 1.0


@pytest.mark.integration
def test_g2_known_good_module_that_starts_hanging(tmp_path: Path) -> None:
    """Probe once, remember the content hash; a later hang still costs only the timeout."""
    from agent_app.toolbox import loader

    marker = tmp_path / "hang-now"
    write(
        tmp_path / "tools",
        "flaky.py",
        f"import os, time\nif os.path.exists({str(marker)!r}):\n"
        "    time.sleep(600)\n" + GOOD.format(name="flaky"),
    )
    assert load(tmp_path).get("flaky") is not None
    cache = json.loads((tmp_path / "data" / "tool_probe_cache.json").read_text())
    assert any("flaky.py" in key for key in cache["ok"])
    marker.touch()
    loader._outcomes.clear()  # what a restart does
    started = time.monotonic()
    toolset = load(tmp_path, import_timeout=1.0)
    assert toolset.info("flaky").reason == "import timed out after 1 s"
    assert time.monotonic() - started < 4
    cache = json.loads((tmp_path / "data" / "tool_probe_cache.json").read_text())
    assert not any("flaky.py" in key for key in cache["ok"])  # back to the isolated probe


@pytest.mark.integration
def test_g2_the_probe_child_is_a_fresh_interpreter_not_a_fork(tmp_path: Path) -> None:
    """A fork of the (multi-threaded) app would carry its modules and locks; a spawned child not."""
    report = tmp_path / "child.json"
    write(
        tmp_path / "tools",
        "reporter.py",
        "import json, os, sys\n"
        f"if not os.path.exists({str(report)!r}):\n"
        f"    open({str(report)!r}, 'w').write(json.dumps({{'pid': os.getpid(), "
        "'pytest': 'pytest' in sys.modules}))\n" + GOOD.format(name="reporter"),
    )
    write(tmp_path / "tools", "zz_bad.py", "raise ImportError('nope')\n")
    toolset = load(tmp_path)
    child = json.loads(report.read_text())  # written by the first importer: the probe child
    assert child["pid"] != os.getpid() and child["pytest"] is False
    rows = rows_by_source(toolset)
    assert rows["reporter.py"][0].enabled and rows["zz_bad.py"][0].reason == "ImportError: nope"


@pytest.mark.unit
def test_g3_duplicates_are_rejected_deterministically(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    write(first, "b_mod.py", GOOD.format(name="shared"))
    write(first, "a_mod.py", GOOD.format(name="shared"))
    write(second, "a_mod.py", GOOD.format(name="shared"))
    write(second, "calc.py", GOOD.format(name="calculator"))
    for _ in range(2):
        toolset = load(tmp_path, first, second)
        shared = [i for i in toolset.infos if i.name == "shared"]
        assert [(Path(i.source).parent.name, Path(i.source).name, i.enabled) for i in shared] == [
            ("first", "a_mod.py", True),
            ("first", "b_mod.py", False),
            ("second", "a_mod.py", False),
        ]
        assert "already provided by" in shared[1].reason
        calc = [i for i in toolset.infos if i.name == "calculator"]
        assert [i.source for i in calc if i.enabled] == ["builtin"]


@pytest.mark.unit
def test_g4_only_plain_files_directly_under_the_directory(tmp_path: Path) -> None:
    tools, outside = tmp_path / "tools", tmp_path / "outside"
    write(outside, "evil.py", GOOD.format(name="evil"))
    write(tools, "os.py", GOOD.format(name="from_os_py"))
    write(tools, "Bad-Name.py", GOOD.format(name="bad_name"))
    write(tools, "dotted.name.py", GOOD.format(name="dotted"))
    write(tools / "sub", "nested.py", GOOD.format(name="nested"))
    write(tools, "_helper.py", GOOD.format(name="helper"))
    (tools / "link.py").symlink_to(outside / "evil.py")
    (tools / "inner_link.py").symlink_to(tools / "os.py")
    os.mkfifo(tools / "fifo.py")
    write(tools, "big.py", "# " + "x" * 1_100_000 + "\n")
    toolset = load(tmp_path)
    rows = {name: rows[0].reason for name, rows in rows_by_source(toolset).items()}
    assert toolset.get("from_os_py") is not None and sys.modules["os"] is os  # no shadowing
    assert (
        "file name not allowed" in rows["Bad-Name.py"]
        and "file name not allowed" in rows["dotted.name.py"]
    )
    assert rows["link.py"] == rows["inner_link.py"] == "symbolic links are not loaded"
    assert rows["fifo.py"] == "not a regular file" and rows["big.py"] == "file larger than 1 MB"
    assert not {"nested.py", "_helper.py", "evil.py"} & set(rows)
    assert {"evil", "nested", "helper"}.isdisjoint(toolset.names)


@pytest.mark.unit
def test_g4_tools_dirs_with_parent_segments_are_ignored(tmp_path: Path, monkeypatch) -> None:
    write(tmp_path / "tools", "up.py", GOOD.format(name="via_parent"))
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    settings = Settings(data_dir=tmp_path / "data", tools_dirs="../tools", _env_file=None)
    assert "via_parent" not in load_tools(settings, include_mcp=False).names


@pytest.mark.unit
def test_g5_loading_never_writes_into_tools(tmp_path: Path) -> None:
    tools = tmp_path / "tools"
    write(tools, "good.py", GOOD.format(name="clean"))
    write(tools, "broken.py", "raise ValueError('x')\n")
    before = sorted((p.relative_to(tools), p.stat().st_mtime_ns) for p in tools.rglob("*"))
    tools.chmod(0o555)
    try:
        load(tmp_path)
    finally:
        tools.chmod(0o755)
    after = sorted((p.relative_to(tools), p.stat().st_mtime_ns) for p in tools.rglob("*"))
    assert after == before and not (tools / "__pycache__").exists()


@pytest.mark.unit
def test_approval_declarations(tmp_path: Path) -> None:
    write(
        tmp_path / "tools",
        "mixed.py",
        '''from langchain_core.tools import tool

NEEDS_APPROVAL = {"delete_note"}


@tool
def delete_note(note_id: str) -> str:
    """Delete a note."""
    return "deleted"


@tool
def list_notes() -> str:
    """List notes."""
    return "none"


@tool
def send_mail(to: str) -> str:
    """Send a mail."""
    return "sent"


send_mail.metadata = {"needs_approval": True}
''',
    )
    toolset = load(tmp_path)
    flags = {i.name: i.needs_approval for i in toolset.infos if i.source != "builtin"}
    assert flags == {"delete_note": True, "list_notes": False, "send_mail": True}
    assert needs_approval(toolset.get("delete_note")) and not needs_approval(
        toolset.get("list_notes")
    )


@pytest.mark.unit
def test_explicit_tools_list_and_reexports(tmp_path: Path, capsys) -> None:
    body = GOOD.format(name="one") + GOOD.format(name="two").split("\n", 1)[1]
    write(tmp_path / "tools", "listed.py", body + "\nTOOLS = [two]\nprint('noise at import')\n")
    write(
        tmp_path / "tools", "reexport.py", "from agent_app.toolbox.calculator import calculator\n"
    )
    toolset = load(tmp_path)
    assert "two" in toolset.names and "one" not in toolset.names
    assert "no tools found" in rows_by_source(toolset)["reexport.py"][0].reason
    assert "noise at import" not in capsys.readouterr().out  # stdout stays machine-readable


@pytest.mark.integration
def test_fifty_modules_all_load_with_timings(tmp_path: Path) -> None:
    """Fifty modules load, each enabled; how fast is `make bench`'s job (bench_tools), not a test's."""
    for i in range(50):
        write(tmp_path / "tools", f"gen_{i:02d}.py", GOOD.format(name=f"gen_tool_{i:02d}"))
    toolset = load(tmp_path)
    names = {t.name for t in toolset.tools}
    assert {f"gen_tool_{i:02d}" for i in range(50)} <= names
    assert len(toolset.tools) == 53
    assert toolset.timings_ms["modules"] >= toolset.timings_ms["probe_start_ms"] >= 0


def _install_example_package(site: Path, extra_entry_points: str = "") -> None:
    pkg = ROOT / "tests" / "plugins" / "example_tools_pkg"
    project = tomllib.loads((pkg / "pyproject.toml").read_text())["project"]
    (site / "agent_app_example_tools").mkdir(parents=True)
    source = pkg / "agent_app_example_tools" / "__init__.py"
    (site / "agent_app_example_tools" / "__init__.py").write_text(source.read_text())
    dist = site / f"agent_app_example_tools-{project['version']}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    lines = [f"{k} = {v}" for k, v in project["entry-points"]["agent_app.tools"].items()]
    (dist / "entry_points.txt").write_text(
        "[agent_app.tools]\n" + "\n".join(lines) + "\n" + extra_entry_points
    )


@pytest.mark.integration
def test_entry_point_package_loads_after_tools_dirs(tmp_path: Path, monkeypatch) -> None:
    site = tmp_path / "site"
    _install_example_package(
        site,
        "direct = agent_app_example_tools:word_count\nbroken = agent_app_example_missing:tools\n",
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "agent_app_example_tools", raising=False)
    write(tmp_path / "tools", "wc.py", GOOD.format(name="word_count"))
    toolset = load(tmp_path)
    sources = {(i.name, i.source, i.enabled) for i in toolset.infos if "entry point" in i.source}
    assert sources == {
        ("send_greeting", "entry point agent-app-example-tools:example", True),
        ("word_count", "entry point agent-app-example-tools:example", False),
        ("word_count", "entry point agent-app-example-tools:direct", False),
        ("broken", "entry point agent-app-example-tools:broken", False),
    }
    assert toolset.info("word_count").source.endswith("wc.py")  # tools dir wins over entry points
    assert toolset.info("send_greeting").needs_approval
    assert toolset.get("send_greeting").invoke({"name": "Li"}) == "Greeting queued for Li."
    assert "ModuleNotFoundError" in toolset.info("broken").reason


@pytest.mark.integration
def test_cli_tools_list_json_and_table(tmp_path: Path, monkeypatch, capsys) -> None:
    from agent_app.cli.main import main

    write(tmp_path / "tools", "good.py", GOOD.format(name="cli_tool"))
    write(tmp_path / "tools", "broken.py", "raise ValueError('bad')\n")
    monkeypatch.setenv("AGENT_APP_TOOLS_DIRS", str(tmp_path / "tools"))
    assert main(["--data-dir", str(tmp_path / "data"), "tools", "list", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert all(
        set(item) == {"name", "source", "enabled", "reason", "needs_approval"} for item in items
    )
    by_name = {item["name"]: item for item in items}
    assert by_name["cli_tool"]["enabled"] and not by_name["broken"]["enabled"]
    assert by_name["broken"]["reason"] == "ValueError: bad"
    assert main(["--data-dir", str(tmp_path / "data"), "tools", "list"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["NAME", "SOURCE", "STATUS", "APPROVAL", "REASON"]
    assert any(line.startswith("broken") and "disabled" in line for line in table)


@pytest.mark.unit
def test_worked_example_in_tools_dir_loads_by_default(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)
    toolset = load_tools(settings, include_mcp=False)
    assert toolset.info("convert_units").source == "tools/unit_convert.py"
    out = toolset.get("convert_units").invoke({"value": 1, "from_unit": "斤", "to_unit": "g"})
    assert out == "1 斤 = 500 g"
