"""First token visible on the first and the tenth turn after a fresh start, ours next to bare Streamlit.

Each start is a new `streamlit run`; the page is opened, and ten questions are sent one after the
other. What is timed is from the moment the fake model sends its first token to the moment that
token shows in Chromium, p50 over the starts, in the same run for both apps.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_ui import BARE_APP, OBSERVER, StampedFake, _serve  # noqa: E402
from benchmarks.results import p50, record, row  # noqa: E402

BOX = '[data-testid="stChatInputTextArea"]'


def _turns_ms(browser: Any, app: Any, stamped: StampedFake, turns: int) -> list[float]:
    """The first-token-visible delay of each turn, from the first turn after the page opened."""
    app.ready()
    page = browser.new_page()
    page.add_init_script(OBSERVER)
    page.goto(app.url)
    box = page.locator(BOX)
    box.wait_for(timeout=120_000)
    out = []
    for i in range(turns):
        stamped.marker = f"ZQ{i}X{int(time.time() * 1000) % 100000}"
        page.evaluate("m => { window.__want = [m]; }", stamped.marker)
        box.fill(f"question {i}")
        box.press("Enter")
        page.wait_for_function("m => m in window.__seen", arg=stamped.marker, timeout=120_000)
        out.append(
            page.evaluate("m => window.__seen[m]", stamped.marker) - stamped.sent[stamped.marker]
        )
        page.wait_for_function(
            "() => !document.querySelector('.st-key-turn_controls')", timeout=120_000
        )
        box.wait_for(timeout=120_000)
        page.wait_for_timeout(300)
    page.close()
    return out


def main() -> None:
    from playwright.sync_api import sync_playwright

    from tests.e2e.harness import chromium_missing, launch_browser

    if chromium_missing():
        print(f"skipping: {chromium_missing()}")
        return
    starts = 3 if "--quick" in sys.argv else 10
    turns = 10
    stamped = StampedFake()
    env = {
        "DASHSCOPE_API_KEY": "sk-test",
        "DASHSCOPE_API_BASE": stamped.fake.base_url,
        "BENCH_BASE": stamped.fake.base_url,
        "AGENT_APP_MEMORY_EXTRACT": "false",
        "AGENT_APP_TITLE_MODEL": "false",
    }
    seen: dict[str, list[list[float]]] = {"ours": [], "bare": []}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = launch_browser(pw)
        for n in range(starts):
            for name, script in (("ours", None), ("bare", BARE_APP)):
                app = _serve(script, env, Path(tmp) / f"{name}-{n}")
                try:
                    seen[name].append(_turns_ms(browser, app, stamped, turns))
                finally:
                    app.stop()
                print(name, n, [round(x) for x in seen[name][-1]], flush=True)
        browser.close()
    stamped.stop()
    first = {k: p50([v[0] for v in runs]) for k, runs in seen.items()}
    tenth = {k: p50([v[turns - 1] for v in runs]) for k, runs in seen.items()}
    print(f"first turn p50 ms: ours={first['ours']:.0f} bare={first['bare']:.0f}")
    print(f"tenth turn p50 ms: ours={tenth['ours']:.0f} bare={tenth['bare']:.0f}")
    record(
        [
            row("ui.first_turn_first_token_visible_p50_ms", first["ours"], "ms", first["bare"]),
            row("ui.tenth_turn_first_token_visible_p50_ms", tenth["ours"], "ms", tenth["bare"]),
        ]
    )


if __name__ == "__main__":
    main()
