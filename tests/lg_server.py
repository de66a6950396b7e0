"""Start `langgraph dev` (LangGraph Server, in memory) on a loopback port for a test module."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
NETGUARD = Path(__file__).resolve().parent / "netguard"
# Nothing leaves the machine: no CLI analytics, no PyPI version check at start, no LangSmith
# tracing, no license or metadata calls (those need a license key, which stays unset); with
# --no-browser no Studio organisation lookup either. The netguard catches anything else.
QUIET_ENV = {
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGGRAPH_NO_VERSION_CHECK": "true",
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGGRAPH_STRICT_MSGPACK": "true",
}
DROPPED = ("AGENT_APP_", "DASHSCOPE", "LANGSMITH", "LANGCHAIN", "LANGGRAPH", "OPENAI")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(extra: dict[str, str], net_log: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED)}
    env.update(QUIET_ENV)
    env["AGENT_APP_NET_LOG"] = str(net_log)
    env["PYTHONPATH"] = os.pathsep.join([str(NETGUARD), str(ROOT), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


def _absolute(value: str) -> str:
    return str(ROOT / value) if value.startswith(("./", ".")) else value


def config_in(workdir: Path) -> Path:
    """The repository's langgraph.json with its paths made absolute, written into `workdir`.

    The dev server reads those paths relative to its working directory and pickles its state
    into `.langgraph_api/` there (and unpickles it at the next start): run it in a fresh
    directory, not in the repository.
    """
    config = json.loads((ROOT / "langgraph.json").read_text())
    config["dependencies"] = [_absolute(d) for d in config.get("dependencies", [])]
    config["graphs"] = {k: _absolute(v) for k, v in config["graphs"].items()}
    index = (config.get("store") or {}).get("index")
    if index and isinstance(index.get("embed"), str):
        index["embed"] = _absolute(index["embed"])
    path = workdir / "langgraph.json"
    path.write_text(json.dumps(config))
    return path


@contextmanager
def langgraph_dev(workdir: Path, env: dict[str, str], timeout: float = 60) -> Iterator[str]:
    """`langgraph dev` for the repository's langgraph.json; yields its http://127.0.0.1:PORT."""
    port = free_port()
    log = (workdir / "server.log").open("w")
    cli = Path(sys.executable).with_name("langgraph")
    if not cli.exists():  # `make test` installs it; a bare dev install may not have
        raise RuntimeError("langgraph CLI missing: pip install -c constraints.txt -e '.[server]'")
    args = ["dev", "--config", str(config_in(workdir)), "--no-browser", "--no-reload"]
    # Our tools and stores are sync code; the dev server's blocking-call detector would reject them.
    args += ["--allow-blocking", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(
        [str(cli), *args], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, url, timeout, workdir / "server.log")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def _wait_ready(proc: subprocess.Popen, url: str, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"langgraph dev exited {proc.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"langgraph dev not ready in {timeout}s:\n{log.read_text()[-3000:]}")
