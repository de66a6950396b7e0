"""benchmarks/results.json: a list of {name, value, unit, baseline, ratio}; rows replaced by name."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.json"


def record(rows: list[dict[str, object]]) -> None:
    """Merge rows into results.json (same name replaces) and print them as a table."""
    existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    names = {r["name"] for r in rows}
    merged = [r for r in existing if r.get("name") not in names] + rows
    RESULTS.write_text(json.dumps(merged, indent=2, ensure_ascii=False) + "\n")
    print(f"{'name':48} {'value':>12} {'unit':6} {'baseline':>12} {'ratio':>7}")
    for r in rows:
        base = r.get("baseline")
        ratio = r.get("ratio")
        print(
            f"{r['name']:48} {r['value']:>12.3f} {r['unit']:6} "
            f"{(f'{base:.3f}' if isinstance(base, float) else str(base)):>12} "
            f"{(f'{ratio:.2f}' if isinstance(ratio, float) else '-'):>7}"
        )


def row(name: str, value: float, unit: str, baseline: float | None) -> dict[str, object]:
    ratio = value / baseline if baseline else None
    return {
        "name": name,
        "value": round(value, 4),
        "unit": unit,
        "baseline": round(baseline, 4) if baseline is not None else None,
        "ratio": round(ratio, 3) if ratio is not None else None,
    }


def p50(values: list[float]) -> float:
    return statistics.median(values)
