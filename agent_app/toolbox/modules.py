"""Find tool modules (tools/*.py and the agent_app.tools entry points) and turn each into tools."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import os
import re
import stat
import sys
import types
from dataclasses import dataclass
from importlib.machinery import SourceFileLoader
from pathlib import Path
from typing import Any, Literal

from langchain_core.tools import BaseTool

from agent_app.toolbox.registry import mark_needs_approval

ENTRY_POINT_GROUP = "agent_app.tools"
MODULE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")
MAX_MODULE_BYTES = 1_000_000
# Tool modules live under this private package, so `tools/os.py` can never shadow `os`.
PRIVATE_PACKAGE = "_agent_app_user_tools"


@dataclass(frozen=True)
class Job:
    """One source of tools to import: a file under a tools directory, or an entry point."""

    kind: Literal["file", "entry_point"]
    target: str
    """Absolute real path of the file, or the entry point as 'name = module:attr'."""
    label: str
    """How the source is shown: 'tools/unit_convert.py' or 'entry point dist:name'."""
    name: str
    """Module stem or entry point name; names the row when the source fails."""
    signature: str = ""
    """Changes whenever the source changes (stat of the file, version of the distribution)."""


@dataclass(frozen=True)
class Rejected:
    """A file in a tools directory that was refused before import (name, symlink, location)."""

    name: str
    label: str
    reason: str


class _SourceOnlyLoader(SourceFileLoader):
    """Compiles from source every time: never uses __pycache__ in tools/ (no planted .pyc)."""

    def get_code(self, fullname: str) -> types.CodeType:
        return self.source_to_code(self.get_data(self.path), self.path)

    def set_data(self, *args: Any, **kwargs: Any) -> None:
        return None


def split_dirs(setting: str) -> list[str]:
    """The configured tools directories, in order; entries with '..' segments are ignored."""
    dirs = [part.strip() for part in (setting or "").split(os.pathsep) if part.strip()]
    return [d for d in dirs if ".." not in Path(d).parts]


def discover_files(setting: str) -> tuple[list[Job], list[Rejected]]:
    """Every *.py directly under each tools directory (sorted), with refusals explained."""
    jobs: list[Job] = []
    rejected: list[Rejected] = []
    seen: set[str] = set()
    for directory in split_dirs(setting):
        root = os.path.realpath(directory)
        if root in seen or not os.path.isdir(root):
            continue
        seen.add(root)
        for entry in sorted(os.scandir(root), key=lambda e: e.name):
            if not entry.name.endswith(".py") or entry.name.startswith(("_", ".")):
                continue  # helpers and __init__.py are not tool modules
            label = f"{directory.rstrip('/')}/{entry.name}"
            stem = entry.name[:-3]
            problem = _file_problem(entry, root, stem)
            if problem:
                rejected.append(Rejected(name=stem[:41], label=label, reason=problem))
                continue
            info = entry.stat(follow_symlinks=False)
            signature = f"{info.st_ino}:{info.st_size}:{info.st_mtime_ns}"
            jobs.append(Job("file", os.path.join(root, entry.name), label, stem, signature))
    return jobs, rejected


def _file_problem(entry: os.DirEntry[str], root: str, stem: str) -> str:
    if not MODULE_NAME.match(stem):
        return "file name not allowed (use lowercase letters, digits and '_')"
    if entry.is_symlink():
        return "symbolic links are not loaded"
    info = entry.stat(follow_symlinks=False)
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if os.path.dirname(os.path.realpath(entry.path)) != root:
        return "file is outside the tools directory"
    if info.st_size > MAX_MODULE_BYTES:
        return "file larger than 1 MB"
    return ""


def discover_entry_points() -> list[Job]:
    """Installed entry points of group agent_app.tools, sorted by distribution then name."""
    found = []
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist is not None else "unknown"
        version = ep.dist.version if ep.dist is not None else ""
        found.append(
            Job(
                "entry_point",
                f"{ep.name} = {ep.value}",
                f"entry point {dist}:{ep.name}",
                ep.name,
                f"{dist}=={version}",
            )
        )
    return sorted(found, key=lambda job: job.label)


def module_name(path: str) -> str:
    """The private, collision-free module name for a tool file."""
    digest = hashlib.sha1(os.path.dirname(path).encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{PRIVATE_PACKAGE}.d{digest}_{Path(path).stem}"


def _ensure_package() -> None:
    if PRIVATE_PACKAGE not in sys.modules:
        package = types.ModuleType(PRIVATE_PACKAGE, "Tool modules loaded by path.")
        package.__path__ = []
        sys.modules[PRIVATE_PACKAGE] = package


def import_file(path: str) -> types.ModuleType:
    """Import a tool file by path under the private package (never by a user-given name)."""
    _ensure_package()
    name = module_name(path)
    loader = _SourceOnlyLoader(name, path)
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before exec: pydantic and dataclasses look themselves up here
    try:
        # Module-level prints go to stderr so `tools list --json` stdout stays parseable.
        with contextlib.redirect_stdout(sys.stderr):
            loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _defined_here(tool: BaseTool, module_name_: str) -> bool:
    func = getattr(tool, "func", None) or getattr(tool, "coroutine", None)
    owner = getattr(func, "__module__", None) or type(tool).__module__
    return owner == module_name_


def tools_of_module(module: types.ModuleType) -> list[BaseTool]:
    """`TOOLS` if the module lists them, else every tool object defined at its top level."""
    declared = getattr(module, "TOOLS", None)
    if declared is not None:
        tools = list(declared)
    else:
        tools = [
            v
            for v in vars(module).values()
            if isinstance(v, BaseTool) and _defined_here(v, module.__name__)
        ]
    if not all(isinstance(tool, BaseTool) for tool in tools):
        raise TypeError("TOOLS must contain only tool objects (use @tool)")
    if not tools:
        raise LookupError("no tools found: decorate a function with @tool")
    approval = set(getattr(module, "NEEDS_APPROVAL", ()) or ())
    for tool in tools:
        if tool.name in approval:
            mark_needs_approval(tool)
    return tools


def load_entry_point(target: str) -> list[BaseTool]:
    """Load an entry point: a tool, a list of tools, or a function returning either."""
    name, _, value = target.partition(" = ")
    obj = importlib.metadata.EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP).load()
    if not isinstance(obj, BaseTool) and callable(obj):
        obj = obj()
    tools = [obj] if isinstance(obj, BaseTool) else list(obj)
    if not tools or not all(isinstance(tool, BaseTool) for tool in tools):
        raise TypeError("the entry point must give a tool or a list of tools")
    return tools


def produce_tools(job: Job) -> list[BaseTool]:
    """Import one job's source and return its tools (used by the probe child and the app)."""
    if job.kind == "file":
        return tools_of_module(import_file(job.target))
    return load_entry_point(job.target)
