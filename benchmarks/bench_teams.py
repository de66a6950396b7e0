"""Teams: 20 signed-in users x 20 turns against one process; throughput, p95 overhead, 0 lost/crossed."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import p50, record, row  # noqa: E402


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


def _echo(messages: list[Any]) -> str:
    """Answer with the user's own marker, so a crossed answer is visible in the transcript."""
    return f"answer to [{messages[-1].text}]"


def _open(tmp: Path, signed_in: bool) -> Any:
    from argon2 import PasswordHasher

    from agent_app.auth import open_accounts
    from agent_app.auth.passwords import Passwords
    from agent_app.budget import open_ledger
    from agent_app.settings import Settings
    from tests.helpers import scripted_service
    from tests.scripted_model import ScriptedChatModel

    settings = Settings(
        data_dir=tmp,
        provider="offline",
        _env_file=None,
        memory_recall=False,
        auth="password" if signed_in else "none",
        requests_per_minute=0,
    )
    cheap = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    extra = (
        {"accounts": open_accounts(settings, cheap), "budget": open_ledger(settings)}
        if signed_in
        else {"accounts": None, "budget": None}
    )
    return scripted_service(settings, ScriptedChatModel(default=_echo), tools=[], **extra)


def _user_turns(svc: Any, name: str, token: str | None, turns: int, lat: list[float]) -> None:
    """What one browser session does per turn: resolve the session, then stream the turn."""
    user_id = name
    thread = svc.new_thread(user_id).id
    for i in range(turns):
        t0 = time.perf_counter()
        if token is not None:
            identity = svc.accounts.session(token)  # the sign-in gate, run at every action
            assert identity is not None
            user_id = identity.user_id
        events = list(svc.stream(thread, f"{name}-{i}", user_id=user_id))
        lat.append((time.perf_counter() - t0) * 1000)
        assert events[-1].type == "done", events[-1]


def _run(tmp: Path, users: int, turns: int, signed_in: bool, concurrent: bool) -> dict[str, Any]:
    svc = _open(tmp, signed_in)
    names = [f"user{u:02d}" for u in range(users)]
    tokens: dict[str, str | None] = {}
    for name in names:
        if signed_in:
            svc.accounts.add_user(name, f"{name}-password")
            tokens[name] = svc.accounts.authenticate(name, f"{name}-password").token
        else:
            tokens[name] = None
    lat: dict[str, list[float]] = {name: [] for name in names}
    t0 = time.perf_counter()
    if concurrent:
        workers = [
            threading.Thread(target=_user_turns, args=(svc, n, tokens[n], turns, lat[n]))
            for n in names
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    else:
        for n in names:
            _user_turns(svc, n, tokens[n], turns, lat[n])
    wall = time.perf_counter() - t0
    problems = _audit(svc, names, turns, signed_in)
    svc.close()
    every = [x for xs in lat.values() for x in xs]
    return {
        "turns_per_s": users * turns / wall,
        "p50": p50(every),
        "p95": p95(every),
        "problems": problems,
    }


def _audit(svc: Any, names: list[str], turns: int, signed_in: bool) -> int:
    """Lost or crossed messages: each user's one thread holds exactly its own 20 questions and answers."""
    problems = 0
    for name in names:
        threads = svc.list_threads(name)
        if len(threads) != 1:
            problems += 1
            continue
        msgs = svc.messages(name, threads[0].id)
        humans = [m["text"] for m in msgs if m["role"] == "user"]
        answers = [m["text"] for m in msgs if m["role"] == "assistant"]
        want = [f"{name}-{i}" for i in range(turns)]
        problems += sum(a != b for a, b in zip(humans, want, strict=False)) + abs(
            len(humans) - turns
        )
        problems += sum(f"[{q}]" not in a for q, a in zip(want, answers, strict=False)) + abs(
            len(answers) - turns
        )
        if signed_in and svc.budget.usage(name)[0]["requests"] != turns:
            problems += 1
    return problems


def _gate_and_budget_overhead(tmp: Path, turns: int) -> tuple[float, float]:
    """p50 of one turn with sign-in + budget vs without, interleaved so machine load hits both alike."""
    plain, signed = _open(tmp / "plain", False), _open(tmp / "signed", True)
    signed.accounts.add_user("solo", "solo-password")
    token = signed.accounts.authenticate("solo", "solo-password").token
    threads = plain.new_thread("solo").id, signed.new_thread("solo").id
    plain_ms: list[float] = []
    signed_ms: list[float] = []
    for i in range(turns):
        t0 = time.perf_counter()
        list(plain.stream(threads[0], f"q{i}", user_id="solo"))
        t1 = time.perf_counter()
        identity = signed.accounts.session(token)
        list(signed.stream(threads[1], f"q{i}", user_id=identity.user_id))
        t2 = time.perf_counter()
        plain_ms.append((t1 - t0) * 1000)
        signed_ms.append((t2 - t1) * 1000)
    plain.close()
    signed.close()
    return p50(signed_ms[2:]), p50(plain_ms[2:])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--turns", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        signed_p50, plain_p50 = _gate_and_budget_overhead(base / "a", 2 * args.turns)
        one = _run(base / "b", 1, args.turns, signed_in=True, concurrent=False)
        many = _run(base / "c", args.users, args.turns, signed_in=True, concurrent=True)
    lost = one["problems"] + many["problems"]
    rows = [
        row("teams.turns_per_s_20_users", many["turns_per_s"], "turn/s", one["turns_per_s"]),
        row("teams.p95_turn_ms_20_users", many["p95"], "ms", one["p95"]),
        row("teams.p50_turn_ms_20_users", many["p50"], "ms", one["p50"]),
        row("teams.signed_in_turn_p50_ms", signed_p50, "ms", plain_p50),
        row("teams.lost_or_crossed_messages", float(lost), "count", None),
    ]
    record(rows)
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
