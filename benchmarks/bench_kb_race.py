"""Knowledge-base isolation under load: 30 s of other users' uploads racing one user's searches."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import record, row  # noqa: E402

# Run: .venv/bin/python benchmarks/bench_kb_race.py [--seconds 30]
# Not a speed figure: the count of another user's chunks returned (must be 0), next to how many
# searches and uploads ran, so a run that raced nothing cannot pass unnoticed.
logging.disable(logging.WARNING)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--quick", action="store_true", help="5 s instead of 30")
    args, _ = parser.parse_known_args()
    if args.quick:
        args.seconds = min(args.seconds, 5.0)
    from agent_app.knowledge.worker import ParserPool
    from tests.kb_eval.helpers import make_service
    from tests.kb_eval.race import run_race

    pool = ParserPool(size=2)
    pool.start()
    try:
        with tempfile.TemporaryDirectory(prefix="kb-race-") as tmp:
            service = make_service(Path(tmp) / "data", pool)
            try:
                report = run_race(service, args.seconds)
            finally:
                service.close()
    finally:
        pool.close()
    searches, uploads = float(report["searches"]), float(report["uploads"])
    record(
        [
            row("kb.race_leaked_hits", float(report["leaks"]), "hits", None),
            row("kb.race_searches", searches, "count", None),
            row("kb.race_uploads", uploads, "count", None),
        ]
    )
    if report["errors"] or report["leaks"] or not (searches and uploads):
        print(f"FAILED: {report}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
