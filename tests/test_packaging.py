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
    assert answer.split() == t("offline.answer", "en").split()


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


def test_the_packaged_streamlit_config_is_the_repository_one() -> None:
    from agent_app.cli import ui

    assert ui.PACKAGED_CONFIG.read_text() == (ROOT / ".streamlit" / "config.toml").read_text()


def test_ui_flags_leave_the_operators_own_choices_alone(tmp_path: Path) -> None:
    from agent_app.cli.ui import packaged_flags

    home, cwd = tmp_path / "home", tmp_path / "cwd"
    flags = packaged_flags({}, cwd, home)
    pairs = dict(zip(flags[::2], flags[1::2], strict=True))
    assert pairs["--server.maxUploadSize"] == "20"
    assert pairs["--client.showErrorDetails"] == "false"
    (cwd / ".streamlit").mkdir(parents=True)
    (cwd / ".streamlit" / "config.toml").write_text("[server]\nmaxUploadSize = 5\n")
    env = {"STREAMLIT_CLIENT_SHOW_ERROR_DETAILS": "true"}
    left = packaged_flags(env, cwd, home)
    assert "--server.maxUploadSize" not in left and "--client.showErrorDetails" not in left
    assert "--theme.base" in left


@pytest.mark.e2e
@pytest.mark.timeout(300)
def test_agent_app_ui_from_the_wheel_applies_the_streamlit_config(
    venv: Path, tmp_path: Path
) -> None:
    """The upload limit a user sees comes from the packaged config (Streamlit's default is 200 MB)."""
    from tests.e2e.harness import chromium_missing, free_port, launch_browser

    assert chromium_missing() is None, chromium_missing()
    data = tmp_path / "data"
    note = tmp_path / "note.md"
    note.write_text("# Note\n\nA line to index.\n")
    added = _run(
        [str(venv / "bin" / "agent-app"), "--data-dir", str(data), "kb", "add", str(note)],
        cwd=tmp_path,
    )
    assert added.returncode == 0, added.stderr[-2000:]
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("AGENT_APP_")
    }
    env.update({"AGENT_APP_MEMORY_EXTRACT": "false", "AGENT_APP_LANG": "en", "HOME": str(tmp_path)})
    log = open(tmp_path / "ui.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(venv / "bin" / "agent-app"), "--data-dir", str(data), "ui", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        from playwright.sync_api import sync_playwright

        _wait_healthy(f"http://127.0.0.1:{port}", proc)
        with sync_playwright() as pw:
            browser = launch_browser(pw)
            tab = browser.new_page(locale="en-US")
            tab.set_default_timeout(60_000)
            tab.goto(f"http://127.0.0.1:{port}/knowledge")
            uploader = tab.locator('[data-testid="stFileUploaderDropzoneInstructions"]')
            try:
                uploader.wait_for()
            except Exception:
                raise AssertionError(tab.locator("body").inner_text()) from None
            text = uploader.inner_text()
            browser.close()
        assert "20MB" in text.replace(" ", ""), text
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    import time
    import urllib.request

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, "agent-app ui exited"
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as resp:
                if resp.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError("agent-app ui did not become healthy")
