"""`make bench`: run every benchmark script in turn; each appends to benchmarks/results.json."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = (
    "bench_core.py",
    "bench_coldstart.py",
    "bench_memory.py",
    "bench_kb.py",
    "bench_kb_race.py",
    "bench_recall.py",
    "bench_embedders.py",
    "bench_storage.py",
    "bench_tools.py",
    "bench_taint.py",
    "bench_ui.py",
    "bench_first_turn.py",
    "bench_teams.py",
    "bench_sharing.py",
    "bench_media.py",
    "bench_ocr.py",
    "bench_server.py",
    "bench_scale.py",
)


def main() -> int:
    failed = []
    for name in SCRIPTS:
        path = HERE / name
        if not path.exists():
            continue
        print(f"\n== {name}", flush=True)
        code = subprocess.call([sys.executable, str(path), *sys.argv[1:]], cwd=HERE.parent)
        if code:
            failed.append(name)
    print(f"\nresults: {HERE / 'results.json'}")
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
