"""`agent-app chat`: an interactive terminal conversation, or one JSON-lines turn with --json."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from agent_app import events as ev
from agent_app.cli.common import add_user_arg, fail, settings_from, user_of
from agent_app.errors import AppError

if TYPE_CHECKING:
    from agent_app.service import ChatService

EXIT_OK, EXIT_ERROR, EXIT_APPROVAL = 0, 1, 3


def register(sub: Any) -> None:
    """Add the `chat` command and its options."""
    p = sub.add_parser("chat", help="chat in the terminal (or one JSON-lines turn with --json)")
    p.add_argument("text", nargs="?", help="the message (one-shot mode)")
    p.add_argument("--json", action="store_true", help="print one JSON event per line and exit")
    p.add_argument("--thread", help="continue this conversation")
    p.add_argument("--provider", choices=["dashscope", "ollama", "openai", "offline"])
    p.add_argument("--model")
    p.add_argument("--lang", choices=["zh", "en"])
    p.add_argument(
        "--approve",
        choices=["ask", "all", "none"],
        default=None,
        help="ask: pause on tools that need approval; all: ask for every tool; none: never ask",
    )
    p.add_argument(
        "--resume",
        metavar="DECISION",
        help="continue a paused turn (--json --thread ID): approve, reject, or an edit as JSON args",
    )
    add_user_arg(p)
    p.set_defaults(func=run)


def _open(args: argparse.Namespace) -> tuple[ChatService, str, str]:
    from agent_app.wiring import open_service

    settings = settings_from(args, lang=args.lang)
    return open_service(settings), user_of(args, settings), settings.lang


def _thread(svc: ChatService, user: str, args: argparse.Namespace) -> str:
    if args.thread:
        svc.get_thread(user, args.thread)
        thread_id = str(args.thread)
    else:
        thread_id = svc.new_thread(user).id
    if args.provider or args.model or args.approve:
        svc.set_thread_options(
            user, thread_id, provider=args.provider, model=args.model, approval_mode=args.approve
        )
    return thread_id


def run(args: argparse.Namespace) -> int:
    """Run `agent-app chat`: one JSON-lines turn, a resumed approval, or the interactive loop."""
    try:
        svc, user, lang = _open(args)
    except AppError as err:
        return fail(err)
    try:
        refused = None if args.thread or args.resume else _refused(svc, args, lang)
        if refused is not None:  # bad input creates no conversation
            return emit_json([refused]) if args.json else fail(refused.message)
        thread_id = _thread(svc, user, args)
        if args.json and args.resume:
            pending = svc.pending_approvals(user, thread_id)
            decisions = [_decision(args.resume, p.name) for p in pending]
            return emit_json(svc.resume(thread_id, decisions, user_id=user, lang=lang))
        if args.json:
            return run_json(svc, user, thread_id, args.text or "", lang)
        from agent_app.cli.repl import Repl

        return Repl(svc, user, thread_id, lang).loop(first=args.text)
    except AppError as err:
        return fail(err, lang)
    except ValueError:
        return fail("--resume takes approve, reject or the edited arguments as a JSON object")
    finally:
        svc.close()


def _refused(svc: ChatService, args: argparse.Namespace, lang: str) -> ev.Error | None:
    """Why the first message would be refused (a --json turn needs one; the REPL may start empty)."""
    if args.text is None and not args.json:
        return None
    return svc.check_input(args.text or "", lang)


def _decision(text: str, name: str) -> dict[str, Any]:
    if text == "approve":
        return {"type": "approve"}
    if text == "reject":
        return {"type": "reject", "message": "the user rejected this call"}
    return {"type": "edit", "edited_action": {"name": name, "args": json.loads(text)}}


def run_json(svc: ChatService, user: str, thread_id: str, text: str, lang: str) -> int:
    """One turn; the text goes to the model verbatim (no /commands in one-shot mode)."""
    stop = threading.Event()
    try:
        return emit_json(svc.stream(thread_id, text, user_id=user, stop=stop, lang=lang))
    except KeyboardInterrupt:
        stop.set()
        return 130


def emit_json(events: Iterable[ev.Event]) -> int:
    """Print one JSON event per line; exit 0 on done, 3 on approval_required, else 1."""
    code = EXIT_ERROR
    try:
        for event in events:
            sys.stdout.write(ev.to_json(event) + "\n")
            sys.stdout.flush()
            if isinstance(event, ev.Done):
                code = EXIT_OK
            elif isinstance(event, ev.ApprovalRequired):
                code = EXIT_APPROVAL
    except KeyboardInterrupt:
        return 130
    return code
