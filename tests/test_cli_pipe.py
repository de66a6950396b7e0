"""`agent-app chat --json | head`: a reader that goes away early gets no traceback (issue 12)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.fakes import FakeDashScope, text
from tests.test_cli import ROOT, _env

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_closed_stdout_ends_quietly(data_dir) -> None:
    with FakeDashScope() as fake:
        fake.push(text("一句很长的回答，" * 40, chunk=2, pause=0.02))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_APP_", "DASHSCOPE"))}
        env.update(_env(fake), AGENT_APP_MEMORY_EXTRACT="false")
        cmd = [sys.executable, "-m", "agent_app.cli.main", "--data-dir", str(data_dir)]
        proc = subprocess.Popen(
            [*cmd, "chat", "--json", "你好"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stderr is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]  # `head -n 2`, then it exits
        proc.stdout.close()
        err = proc.stderr.read().decode()
        code = proc.wait(60)
    assert b'"type": "started"' in lines[0] and b'"type": "token"' in lines[1]
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert code == 141  # the shell's code for a command ended by SIGPIPE
