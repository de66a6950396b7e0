"""`agent-app chat`: an interactive terminal conversation, or one JSON-lines turn with --json."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from agent_app import events as ev
from agent_app.cli.common import add_user_arg, cli_lang, fail, settings_from, user_of
from agent_app.errors import AppError, InputRejectedError

if TYPE_CHECKING:
    from agent_app.conversations import Conversations
    from agent_app.images import Image
    from agent_app.service import ChatService

EXIT_OK, EXIT_ERROR, EXIT_APPROVAL = 0, 1, 3
log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    """Add the `chat` command and its options."""
    p = sub.add_parser("chat", help="chat in the terminal (or one JSON-lines turn with --json)")
    p.add_argument("text", nargs="?", help="the message (one-shot mode)")
    p.add_argument("--json", action="store_true", help="print one JSON event per line and exit")
    p.add_argument("--thread", help="continue this conversation")
    p.add_argument("--provider", choices=["dashscope", "ollama", "openai", "offline"])
    p.add_argument("--model")
    p.add_argument(
        "--image",
        action="append",
        default=[],
        metavar="PATH",
        help="attach an image (PNG, JPEG, WebP, GIF) to the message; repeat for several",
    )
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
    p.add_argument(
        "--audio",
        metavar="PATH",
        help="a recorded message: transcribed (the transcript is shown), then sent",
    )
    add_user_arg(p)
    p.set_defaults(func=run)
    t = sub.add_parser(
        "transcribe", help="print the words spoken in a recording (to edit, then send)"
    )
    t.add_argument("path", metavar="PATH")
    t.set_defaults(func=run_transcribe)


def _open(args: argparse.Namespace) -> tuple[Conversations, str, str]:
    """The light part first: a conversation can be named before the model and tools load."""
    from agent_app.conversations import open_conversations

    settings = settings_from(args, lang=getattr(args, "lang", None))
    convs, user = open_conversations(settings), user_of(args, settings)
    return convs, user, cli_lang(args, settings, convs.get_prefs(user))


def _thread(convs: Conversations, user: str, args: argparse.Namespace) -> tuple[str, bool]:
    """The conversation this run continues or creates (with the command line's choices stored)."""
    if args.thread:
        thread_id, created = convs.find_thread(user, args.thread).id, False
    else:
        thread_id, created = convs.new_thread(user).id, True
    if args.provider or args.model or args.approve:
        convs.set_thread_options(
            user, thread_id, provider=args.provider, model=args.model, approval_mode=args.approve
        )
    return thread_id, created


def run(args: argparse.Namespace) -> int:
    """Run `agent-app chat`: one JSON-lines turn, a resumed approval, or the interactive loop."""
    try:
        convs, user, lang = _open(args)
    except AppError as err:
        return _failed(args, err, "en")
    try:
        images = _images(args.image, convs.settings.max_image_mb)
        heard = convs.transcribe(_recording(args.audio, convs)) if args.audio else ""
        if heard:
            args.text = f"{args.text}\n\n{heard}" if args.text else heard
        refused = None if args.thread or args.resume else _refused(convs, args, lang)
        if refused is not None:  # bad input creates no conversation
            return emit_json([refused]) if args.json else fail(refused.message)
        thread_id, created = _thread(convs, user, args)
        if args.json:  # scripts learn the conversation's id before anything else can fail
            emit_json([ev.Started(thread_id, created)])
            if heard:
                emit_json([ev.Notice("transcript", heard)])
        if args.resume:
            _decision(args.resume, "")  # a malformed decision is refused before anything runs
        svc = _service(convs)
        try:
            return _converse(svc, user, thread_id, args, lang, images)
        finally:
            svc.close()
    except AppError as err:
        return _failed(args, err, lang)
    except BrokenPipeError:  # the reader left (`… | head`): main() ends quietly, as SIGPIPE would
        raise
    except Exception:  # the last guard: one clear line (or JSON event), the details in the log
        log.exception("chat failed")
        return _failed(args, AppError("chat failed"), lang)
    finally:
        convs.close()


def _service(convs: Conversations) -> ChatService:
    from agent_app.wiring import open_service

    return open_service(convs.settings, conversations=convs)


def _recording(path: str, convs: Conversations) -> bytes:
    """The --audio file's bytes (one past the limit is enough to refuse it)."""
    from agent_app.speech import SpeechError

    try:
        with open(path, "rb") as fh:
            return fh.read(int(convs.settings.max_audio_mb * 1_000_000) + 1)
    except OSError:
        raise SpeechError("cannot open", key="error.speech_type") from None


def run_transcribe(args: argparse.Namespace) -> int:
    """Run `agent-app transcribe PATH`: the transcript on stdout."""
    try:
        convs, _user, lang = _open(args)
    except AppError as err:
        return fail(err)
    try:
        print(convs.transcribe(_recording(args.path, convs)))
        return 0
    except AppError as err:
        return fail(err, lang)
    finally:
        convs.close()


def _images(paths: list[str], max_mb: float) -> list[Image]:
    """The --image files, checked and re-encoded (an unreadable one is a clear error)."""
    from agent_app.images import ImageRejectedError, prepare_image

    limit = int(max_mb * 1_000_000)
    out = []
    for path in paths:
        try:
            with open(path, "rb") as fh:
                raw = fh.read(limit + 1)
        except OSError:
            raise ImageRejectedError("cannot open") from None
        out.append(prepare_image(raw, max_bytes=limit))
    return out


def _converse(
    svc: ChatService,
    user: str,
    thread_id: str,
    args: argparse.Namespace,
    lang: str,
    images: list[Image] | None = None,
) -> int:
    """The turn itself: a resumed approval, one JSON-lines turn, or the interactive loop."""
    if args.json and args.resume:
        pending = svc.pending_approvals(user, thread_id)
        if not pending:  # resuming nothing would send the model an empty turn
            raise InputRejectedError("nothing to resume", key="cli.chat.nothing_pending")
        decisions = [_decision(args.resume, p.name) for p in pending]
        return emit_json(svc.resume(thread_id, decisions, user_id=user, lang=lang))
    if args.json:
        return run_json(svc, user, thread_id, args.text or "", lang, images or [])
    if images:
        return fail("--image goes with a one-shot --json turn (the REPL takes text only)")
    from agent_app.cli.repl import Repl

    return Repl(svc, user, thread_id, lang).loop(first=args.text)


def _failed(args: argparse.Namespace, err: AppError, lang: str) -> int:
    """A failure before the turn: a JSON `error` event in --json mode, and one line on stderr."""
    if args.json:
        emit_json([ev.Error(err.kind, err.user_message(lang))])
    return fail(err, lang)


def _refused(convs: Conversations, args: argparse.Namespace, lang: str) -> ev.Error | None:
    """Why the first message would be refused (a --json turn needs one; the REPL may start empty)."""
    if args.text is None and not args.json:
        return None
    return convs.check_input(args.text or "", lang)


def _decision(text: str, name: str) -> dict[str, Any]:
    if text == "approve":
        return {"type": "approve"}
    if text == "reject":
        return {"type": "reject", "message": "the user rejected this call"}
    try:
        edited = json.loads(text)
    except ValueError:
        edited = None
    if not isinstance(edited, dict):
        raise InputRejectedError("bad --resume", key="cli.chat.bad_resume")
    return {"type": "edit", "edited_action": {"name": name, "args": edited}}


def run_json(
    svc: ChatService, user: str, thread_id: str, text: str, lang: str, images: list[Image]
) -> int:
    """One turn; the text goes to the model verbatim (no /commands in one-shot mode)."""
    stop = threading.Event()
    try:
        turn = svc.stream(thread_id, text, user_id=user, stop=stop, lang=lang, images=images)
        return emit_json(turn)
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
