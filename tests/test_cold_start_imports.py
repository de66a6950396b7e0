"""An offline `agent-app chat --json` turn leaves unimported what only other paths need (start-up time)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

# Runs the real CLI entry point in a fresh interpreter, then reports which modules got loaded.
PROBE = """
import json, sys
from agent_app.cli.main import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""
# Only the web reader's fetch needs these; DashScope's client loads them itself when it is used.
NOT_NEEDED = ("httpcore", "h11")


def test_offline_chat_turn_does_not_import_the_web_readers_http_stack(tmp_path):
    env = {**os.environ, "AGENT_APP_PROVIDER": "offline"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, "--data-dir", str(tmp_path / "data"), "chat", "--json", "hi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    *events, report = out.stdout.splitlines()
    assert json.loads(events[-1])["type"] == "done"
    loaded = set(json.loads(report)["modules"])
    assert "agent_app.toolbox.webreader" in loaded  # the tool itself is there
    assert not [name for name in NOT_NEEDED if name in loaded]
