"""`pip install .` from a clean copy of the tree gives a working `agent-app` (prompts, locales, UI)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from agent_app.i18n import t

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]


def _tracked_copy(dest: Path) -> Path:
    """What a fresh clone would hold: tracked and not-ignored files as in the work tree, nothing else."""
    if (ROOT / ".git").exists():
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        for name in filter(None, listed.stdout.decode().split("\0")):
            src = ROOT / name
            if src.is_file():
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest / name)
    else:  # an unpacked sdist: no git, nothing untracked to leave out
        shutil.copytree(
            ROOT,
            dest,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(".venv", "data", "build", "*.egg-info", "__pycache__"),
        )
    return dest


def _run(cmd: list[str], cwd: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    # No PYTHONPATH: the source tree must not stand in for the installed package.
    env = {
        k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("AGENT_APP_")
    }
    env["AGENT_APP_MEMORY_EXTRACT"] = "false"
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=90, **kw)  # type: ignore[call-overload, no-any-return]


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv holding only the wheel built from a clean copy; other packages come from ours."""
    work = tmp_path_factory.mktemp("packaging")
    src = _tracked_copy(work / "src")
    built = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(work / "dist"),
            str(src),
        ],
        cwd=work,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (work / "dist").glob("agent_app-*.whl")
    venv = work / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60
    )
    purelib = Path(
        _run(
            [
                str(venv / "bin" / "python"),
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ],
            cwd=work,
        ).stdout.strip()
    )
    # A plain path line: the shared dependencies become importable, but the .pth files there (our
    # own editable install among them) are not run, so the wheel is the only agent_app.
    (purelib / "shared-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            str(wheel),
        ],
        cwd=work,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    return venv


def test_the_installed_package_is_the_wheel_and_carries_the_pyproject_version(
    venv: Path, tmp_path: Path
) -> None:
    out = _run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import agent_app, json; print(json.dumps([agent_app.__file__, agent_app.__version__]))",
        ],
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    where, version = json.loads(out.stdout)
    assert Path(where).is_relative_to(venv)
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert version == expected
    cli = _run([str(venv / "bin" / "agent-app"), "--version"], cwd=tmp_path)
    assert cli.stdout.split() == ["agent-app", expected]


def test_chat_json_answers_offline_from_the_wheel(venv: Path, tmp_path: Path) -> None:
    out = _run(
        [
            str(venv / "bin" / "agent-app"),
            "--data-dir",
            str(tmp_path / "data"),
            "chat",
            "--json",
            "--lang",
            "en",
            "hi",
        ],
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert [e["type"] for e in events][-1] == "done"
    answer = "".join(e["text"] for e in events if e["type"] == "token")
    # The offline model answers with the localized notice: the system prompt and locales loaded.
    assert answer.split() == t("notice.offline", "en").split()


def test_tools_list_json_from_the_wheel(venv: Path, tmp_path: Path) -> None:
    out = _run(
        [
            str(venv / "bin" / "agent-app"),
            "--data-dir",
            str(tmp_path / "data"),
            "tools",
            "list",
            "--json",
        ],
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    rows = json.loads(out.stdout)
    builtins = {r["name"] for r in rows if r["source"] == "builtin"}
    assert {"calculator", "current_time", "search_knowledge"} <= builtins


def test_every_prompt_locale_and_static_file_ships(venv: Path, tmp_path: Path) -> None:
    source = sorted(
        p.relative_to(ROOT / "agent_app").as_posix()
        for pattern in ("prompts/*.md", "locales/*.json", "ui/static/*")
        for p in (ROOT / "agent_app").glob(pattern)
    )
    listing = _run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import agent_app, json, pathlib; d = pathlib.Path(agent_app.__file__).parent; "
            "print(json.dumps(sorted(p.relative_to(d).as_posix() for g in ('prompts/*.md', "
            "'locales/*.json', 'ui/static/*') for p in d.glob(g))))",
        ],
        cwd=tmp_path,
    )
    assert json.loads(listing.stdout) == source
    # A prompt dropped into the top-level prompts/ would never be loaded; it belongs in the package.
    assert [p.name for p in (ROOT / "prompts").iterdir()] == ["README.md"]


def test_the_ui_entry_script_ships(venv: Path, tmp_path: Path) -> None:
    out = _run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "from agent_app.cli import ui; print(ui.APP.is_file())",
        ],
        cwd=tmp_path,
    )
    assert out.stdout.strip() == "True", out.stderr[-2000:]
