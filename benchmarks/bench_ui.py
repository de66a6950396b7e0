"""Streamlit UI: first token visible in Chromium, rerun time on a 200-message thread, cold start."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import p50, record, row  # noqa: E402

# A bare chat page over the same fake: st.write_stream of the SSE deltas, nothing else.
BARE_APP = textwrap.dedent('''
    """Baseline: the smallest streaming chat page."""
    import json, os
    import httpx
    import streamlit as st

    def tokens(prompt):
        body = {"model": "qwen-plus", "stream": True, "messages": [{"role": "user", "content": prompt}]}
        with httpx.stream("POST", os.environ["BENCH_BASE"] + "/chat/completions", json=body,
                          headers={"Authorization": "Bearer sk-test"}, timeout=30) as resp:
            for line in resp.iter_lines():
                if line.startswith("data: {"):
                    choices = json.loads(line[6:]).get("choices") or [{}]
                    piece = (choices[0].get("delta") or {}).get("content")
                    if piece:
                        yield piece

    st.markdown("### How can I help?")
    if prompt := st.chat_input("Message"):
        st.chat_message("user").write(prompt)
        with st.chat_message("assistant"):
            st.write_stream(tokens(prompt))
''')
TTFT_S = 0.4
"""The fake model's time to first token (real Qwen models take longer)."""
# Records (epoch ms) when a marker first shows up in the page.
OBSERVER = """
window.__seen = {};
new MutationObserver(() => {
  const text = document.body ? document.body.textContent : "";
  for (const m of (window.__want || [])) {
    if (!(m in window.__seen) && text.includes(m)) window.__seen[m] = performance.timeOrigin + performance.now();
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


class StampedFake:
    """FakeDashScope whose answers start with a marker; remembers when the marker left the server."""

    def __init__(self) -> None:
        from tests.fakes import FakeDashScope

        self.fake = FakeDashScope().start()
        self.sent: dict[str, float] = {}
        self.marker = "ZQ0"
        self.ttft_s = TTFT_S
        self.fake.default = self._reply

    def _reply(self, req: dict[str, Any]) -> Any:
        from tests.fakes.dashscope_chat import sse_events
        from tests.fakes.script import text

        marker = self.marker
        turn = text(f"{marker} " + "streamed words follow here " * 6, chunk=6, pause=0.01)
        turn.chunk = len(marker) + 1  # the first content delta is exactly the marker
        events = sse_events(turn, req, "qwen-plus")
        from tests.fakes._http import stream_reply

        reply = stream_reply(events, "text/event-stream;charset=UTF-8", pause=0.01)
        reply.parts = self._stamp(reply.parts, marker)  # type: ignore[assignment]
        return reply

    def _stamp(self, parts: list[bytes], marker: str) -> Any:
        for part in parts:
            if marker.encode() in part and marker not in self.sent:
                time.sleep(
                    self.ttft_s
                )  # like a real model: the page settles before the first token
                self.sent[marker] = time.time() * 1000
            yield part

    def stop(self) -> None:
        self.fake.stop()


def _serve(script: str | None, env: dict[str, str], where: Path) -> Any:
    """Start the real app (script None) or the baseline page; not yet waited for."""
    from tests.e2e.harness import StreamlitApp

    where.mkdir()
    if script is None:
        return StreamlitApp(where / "data", env, where / "log")
    (where / "bare.py").write_text(script)
    return _BareApp(where / "bare.py", env, where / "log")


class _BareApp:
    """`streamlit run` of the baseline script (same flags as the real app)."""

    def __init__(self, path: Path, env: dict[str, str], log: Path) -> None:
        import subprocess

        from tests.e2e.harness import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.started = time.perf_counter()
        self._log = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(path),
                "--server.port",
                str(self.port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=path.parent,
            env={**os.environ, **env},
            stdout=self._log,
            stderr=self._log,
        )

    def ready(self) -> float:
        import urllib.request

        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1) as resp:
                    if resp.read() == b"ok":
                        return time.perf_counter() - self.started
            except OSError:
                time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self._log.close()


def _page_ready_s(browser: Any, app: Any, ready_selector: str) -> float:
    """streamlit run → health → first page fully rendered in Chromium (seconds)."""
    app.ready()
    page = browser.new_page()
    page.goto(app.url)
    page.locator(ready_selector).first.wait_for(timeout=60_000)
    elapsed = time.perf_counter() - app.started
    page.close()
    return elapsed


def _first_token_ms(
    browser: Any, app: Any, stamped: StampedFake, turns: int, warmup: int = 2
) -> list[float]:
    page = browser.new_page()
    page.add_init_script(OBSERVER)
    page.goto(app.url)
    box = page.locator('[data-testid="stChatInputTextArea"]')
    box.wait_for(timeout=60_000)
    out = []
    for i in range(turns + warmup):
        stamped.marker = f"ZQ{i}X{int(time.time() * 1000) % 100000}"
        page.evaluate("m => { window.__want = [m]; }", stamped.marker)
        box.fill(f"question {i}")
        box.press("Enter")
        page.wait_for_function("m => m in window.__seen", arg=stamped.marker, timeout=60_000)
        seen = page.evaluate("m => window.__seen[m]", stamped.marker)
        if i >= warmup:
            out.append(seen - stamped.sent[stamped.marker])
        page.wait_for_function(
            "() => !document.querySelector('.st-key-turn_controls')", timeout=60_000
        )
        page.wait_for_timeout(300)
    page.close()
    return out


def _browser_rows(turns: int, starts: int) -> list[dict[str, object]]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.harness import chromium_missing, launch_browser

    if chromium_missing():
        print(f"skipping browser benchmarks: {chromium_missing()}")
        return []
    stamped = StampedFake()
    env = {
        "DASHSCOPE_API_KEY": "sk-test",
        "DASHSCOPE_API_BASE": stamped.fake.base_url,
        "BENCH_BASE": stamped.fake.base_url,
        "AGENT_APP_MEMORY_EXTRACT": "false",
    }
    cold: dict[str, list[float]] = {"ours": [], "bare": []}
    tokens: dict[str, list[float]] = {"ours": [], "bare": []}
    variants = (
        ("ours", None, ".st-key-welcome"),
        ("bare", BARE_APP, '[data-testid="stChatInputTextArea"]'),
    )
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = launch_browser(pw)
        for n in range(starts):
            for name, script, ready in variants:
                app = _serve(script, env, Path(tmp) / f"{name}-{n}")
                try:
                    cold[name].append(_page_ready_s(browser, app, ready))
                    if n == 0:  # first-token runs on the warm server, realistic and instant model
                        stamped.ttft_s = TTFT_S
                        tokens[name] = _first_token_ms(browser, app, stamped, turns)
                        stamped.ttft_s = 0.0
                        tokens[f"{name}-instant"] = _first_token_ms(browser, app, stamped, turns)
                finally:
                    app.stop()
        browser.close()
    stamped.stop()
    ours_tok, bare_tok = tokens["ours"], tokens["bare"]
    instant, bare_instant = tokens["ours-instant"], tokens["bare-instant"]
    ours_cold, bare_cold = cold["ours"], cold["bare"]
    print(
        f"first token ms  ours={[round(x) for x in ours_tok]}  bare={[round(x) for x in bare_tok]}"
    )
    return [
        row("ui.first_token_visible_p50_ms", p50(ours_tok), "ms", p50(bare_tok)),
        row("ui.first_token_visible_instant_model_p50_ms", p50(instant), "ms", p50(bare_instant)),
        row("ui.cold_start_to_page_ready_s", p50(ours_cold), "s", p50(bare_cold)),
    ]


def _rerun_rows(reruns: int) -> list[dict[str, object]]:
    from streamlit.testing.v1 import AppTest

    from agent_app.settings import Settings
    from agent_app.ui.history import PAGE
    from agent_app.ui.state import SERVICE_KEY
    from tests.helpers import scripted_service
    from tests.scripted_model import ScriptedChatModel

    answer = "Here is a **useful** answer with `code`, a list:\n\n- one\n- two\n\nand ¥100 or $5."
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), provider="offline", _env_file=None)
        svc = scripted_service(settings, ScriptedChatModel(default=answer), tools=[])
        thread = svc.new_thread(settings.user, "long thread")
        for i in range(100):
            for _ in svc.stream(thread.id, f"question number {i}?", user_id=settings.user):
                pass
        messages = svc.messages(settings.user, thread.id)
        assert len(messages) == 200

        def timed(at: Any) -> float:
            at.run()
            times = []
            for _ in range(reruns):
                t0 = time.perf_counter()
                at.run()
                times.append((time.perf_counter() - t0) * 1000)
            assert not at.exception, at.exception
            return statistics.median(times)

        ours = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
        ours.session_state[SERVICE_KEY] = svc
        ours_ms = timed(ours)
        full = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
        full.session_state[SERVICE_KEY] = svc
        full.session_state[f"ui.shown.{thread.id}"] = 10_000
        full_ms = timed(full)
        bare = AppTest.from_function(
            _bare_history, args=([(m["role"], m["text"]) for m in messages],), default_timeout=60
        )
        bare_ms = timed(bare)
        svc.close()
    print(
        f"rerun ms: ours (last {PAGE} shown)={ours_ms:.0f}  ours (all 200)={full_ms:.0f}  bare={bare_ms:.0f}"
    )
    return [
        row("ui.rerun_200_messages_ms", ours_ms, "ms", bare_ms),
        row("ui.rerun_200_messages_all_shown_ms", full_ms, "ms", bare_ms),
    ]


def _bare_history(messages: list[tuple[str, str]]) -> None:
    import streamlit as st

    for role, text in messages:
        with st.chat_message(role):
            st.markdown(text)
    st.chat_input("Message")


def main() -> None:
    quick = "--quick" in sys.argv
    rows = _rerun_rows(5 if quick else 15)
    rows += _browser_rows(turns=5 if quick else 12, starts=2 if quick else 3)
    record(rows)


if __name__ == "__main__":
    main()
