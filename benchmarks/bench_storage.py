"""Checkpoint storage per turn at 10, 100 and 1,000 turns: pruned (ours) against keep-everything."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import record, row  # noqa: E402

# Run: .venv/bin/python benchmarks/bench_storage.py [--quick]
# Baseline, in the same run: the plain SqliteSaver the app used before (every checkpoint kept).
# Ratios are ours / baseline (below 1 is better). Also: a 10,000-message thread (built with
# update_state, 100 messages at a time) against the bytes of its text.
logging.disable(logging.WARNING)
QUESTION = "第{n}个问题：滤网多久换一次？更换以后需要重新设置吗？"
# A chat answer of a realistic length (~200 characters); message metadata (ids, usage) adds
# ~200-300 bytes per message on top of the text.
ANSWER = (
    "好的，这是第{n}轮的回答。"
    + "按照手册第三章的步骤：先断电，取下前盖，再更换滤网，最后重启设备并在设置里清零计时。" * 4
)


def _plain_checkpointer(path: Path) -> Any:
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    from langgraph.checkpoint.sqlite import SqliteSaver

    from agent_app.storage.sqlite import connect

    saver = SqliteSaver(connect(path), serde=JsonPlusSerializer(allowed_msgpack_modules=None))
    saver.setup()
    return saver


def _service(data_dir: Path, pruned: bool) -> Any:
    import agent_app.storage.checkpoints as checkpoints
    from agent_app.settings import Settings
    from tests.helpers import scripted_service
    from tests.scripted_model import ScriptedChatModel

    settings = Settings(data_dir=data_dir, provider="offline", memory_extract=False, _env_file=None)
    model = ScriptedChatModel(default=lambda msgs: ANSWER.format(n=len(msgs)))
    opener = checkpoints.open_checkpointer
    if not pruned:
        checkpoints.open_checkpointer = _plain_checkpointer  # type: ignore[assignment]
    try:
        return scripted_service(settings, model, tools=[])
    finally:
        checkpoints.open_checkpointer = opener  # type: ignore[assignment]


def _stored_bytes(svc: Any, path: Path) -> tuple[int, int]:
    """(checkpoint + write blob bytes, database file bytes after a WAL checkpoint)."""
    conn = svc.checkpointer.conn
    blobs = conn.execute("SELECT COALESCE(SUM(LENGTH(checkpoint)), 0) FROM checkpoints").fetchone()
    writes = conn.execute("SELECT COALESCE(SUM(LENGTH(value)), 0) FROM writes").fetchone()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return int(blobs[0] + writes[0]), path.stat().st_size


def _turns(marks: list[int]) -> dict[bool, dict[int, tuple[int, int, float]]]:
    """Blob bytes, file bytes and mean ms per turn at each mark, for both savers, turns interleaved."""
    out: dict[bool, dict[int, tuple[int, int, float]]] = {True: {}, False: {}}
    with tempfile.TemporaryDirectory(prefix="bench-ckpt-") as tmp:
        dirs = {pruned: Path(tmp) / str(pruned) for pruned in out}
        services = {pruned: _service(dirs[pruned], pruned) for pruned in out}
        threads = {pruned: svc.new_thread("u").id for pruned, svc in services.items()}
        spent = dict.fromkeys(out, 0.0)
        for turn in range(1, marks[-1] + 1):
            order = list(services.items())  # alternate who goes first: the second runs warmer
            for pruned, svc in order if turn % 2 else reversed(order):
                started = time.perf_counter()
                for _ in svc.stream(threads[pruned], QUESTION.format(n=turn), user_id="u"):
                    pass
                spent[pruned] += time.perf_counter() - started
                if turn in marks:
                    sizes = _stored_bytes(svc, dirs[pruned] / "checkpoints.db")
                    out[pruned][turn] = (*sizes, spent[pruned] * 1000 / turn)
        for svc in services.values():
            svc.close()
    return out


def _long_thread(messages: int, pruned: bool) -> tuple[int, int]:
    """(database file bytes, text bytes) of one thread of `messages` messages."""
    from langchain_core.messages import AIMessage, HumanMessage

    with tempfile.TemporaryDirectory(prefix="bench-ckpt-") as tmp:
        svc = _service(Path(tmp), pruned)
        thread = svc.new_thread("u").id
        graph = svc._state_graph(svc.get_thread("u", thread))
        config = {"configurable": {"thread_id": thread}}
        text = 0
        for start in range(0, messages, 100):
            batch = []
            for n in range(start, start + 100, 2):
                batch += [HumanMessage(QUESTION.format(n=n)), AIMessage(ANSWER.format(n=n))]
            text += sum(len(str(m.content).encode()) for m in batch)
            graph.update_state(config, {"messages": batch})
        assert len(svc.messages("u", thread)) == messages
        size = _stored_bytes(svc, Path(tmp) / "checkpoints.db")[1]
        svc.close()
    return size, text


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="10 and 100 turns only")
    args, _ = parser.parse_known_args()
    marks = [10, 100] if args.quick else [10, 100, 1000]
    both = _turns(marks)
    ours, base = both[True], both[False]
    rows = []
    for n in marks:
        rows.append(
            row(f"storage.checkpoint_bytes_per_turn_{n}", ours[n][0] / n, "B", base[n][0] / n)
        )
        rows.append(
            row(f"storage.checkpoint_file_bytes_per_turn_{n}", ours[n][1] / n, "B", base[n][1] / n)
        )
        rows.append(row(f"storage.turn_ms_mean_{n}", ours[n][2], "ms", base[n][2]))
    size, text = _long_thread(2_000 if args.quick else 10_000, pruned=True)
    rows.append(row("storage.long_thread_file_vs_text", size / text, "ratio", None))
    rows.append(row("storage.long_thread_text_bytes", float(text), "B", None))
    record(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
