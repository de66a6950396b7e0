"""The interactive chat loop: streaming output, live tool steps, /commands, Ctrl-C to stop."""

from __future__ import annotations

import json
import sys
import threading
from typing import TYPE_CHECKING, Any

from agent_app import events as ev
from agent_app.errors import AppError
from agent_app.i18n import t

if TYPE_CHECKING:
    from agent_app.service import ChatService

DIM, RESET = ("\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "")


class Repl:
    """A terminal conversation over ChatService."""

    def __init__(self, svc: ChatService, user: str, thread_id: str, lang: str) -> None:
        self.svc, self.user, self.thread_id, self.lang = svc, user, thread_id, lang
        self._part: str | None = None
        """What the turn printed last: "reasoning", "answer" or None (nothing yet)."""

    def loop(self, first: str | None = None) -> int:
        """Read and answer lines until end of input; returns the exit code."""
        print(f"{DIM}{t('cli.repl.banner', self.lang, id=self.thread_id[:8])}{RESET}")
        pending = first
        while True:
            try:
                line = pending if pending is not None else input("\n> ")
            except (EOFError, KeyboardInterrupt):
                print()
                return 0
            pending = None
            if line.strip() in ("/quit", "/exit"):
                return 0
            if line.startswith("/"):
                self.command(line.strip())
            elif line.strip():
                self.turn(line)

    def command(self, line: str) -> None:
        """Run one /command typed at the prompt."""
        name, _, arg = line.partition(" ")
        try:
            handler = {
                "/new": self._new,
                "/threads": self._threads,
                "/switch": self._switch,
                "/model": self._model,
                "/help": lambda _a: print(t("cli.repl.help", self.lang)),
            }.get(name)
            if handler is None:
                print(t("cli.repl.unknown_command", self.lang, name=name))
            else:
                handler(arg.strip())
        except AppError as err:
            print(t("cli.error", self.lang, message=err.user_message(self.lang)))

    def _new(self, _arg: str) -> None:
        self.thread_id = self.svc.new_thread(self.user).id
        print(t("cli.repl.new", self.lang, id=self.thread_id[:8]))

    def _threads(self, _arg: str) -> None:
        for info in self.svc.list_threads(self.user):
            mark = "*" if info.id == self.thread_id else " "
            print(f"{mark} {info.id[:8]}  {info.title or t('cli.threads.untitled', self.lang)}")

    def _switch(self, arg: str) -> None:
        self.thread_id = self.svc.find_thread(self.user, arg).id  # errors name the candidates
        for msg in self.svc.messages(self.user, self.thread_id)[-6:]:
            if msg["role"] in ("user", "assistant") and msg["text"]:
                who = t(
                    "cli.repl.you" if msg["role"] == "user" else "cli.repl.assistant", self.lang
                )
                print(f"{DIM}{who}:{RESET} {msg['text'][:300]}")

    def _model(self, arg: str) -> None:
        if arg:
            from agent_app.providers.choice import parse_model_spec

            provider, model = parse_model_spec(arg, self.svc.settings.resolved_provider)
            known = self._known_models()
            # An OpenAI-compatible endpoint serves whatever it serves: its names are not listed here.
            if f"{provider}:{model}" not in known and not (
                provider == "openai" and "openai" in self.svc.providers()
            ):
                print(t("cli.repl.unknown_model", self.lang, model=arg, models=", ".join(known)))
                return
            self.svc.set_thread_options(self.user, self.thread_id, provider=provider, model=model)
        options = self.svc.thread_options(self.svc.get_thread(self.user, self.thread_id))
        print(t("cli.repl.model", self.lang, model=f"{options.provider}:{options.model}"))

    def _known_models(self) -> list[str]:
        """Every provider:model this deployment can run, as /model takes them."""
        return [f"{p}:{m}" for p in self.svc.providers() for m in self.svc.models(p)]

    def turn(self, text: str) -> None:
        """Stream one answer; Ctrl-C stops it and the conversation goes on."""
        stop = threading.Event()
        self._part = None
        events = self.svc.stream(self.thread_id, text, user_id=self.user, stop=stop, lang=self.lang)
        try:
            asks = self.show(events)
            # Ask only once the paused run has ended: its checkpoint is what resume continues from.
            while asks:
                decisions = [self.decide(ask) for ask in asks]
                asks = self.show(
                    self.svc.resume(self.thread_id, decisions, user_id=self.user, lang=self.lang)
                )
        except KeyboardInterrupt:
            stop.set()
            for event in events:  # let the service close the turn cleanly
                if isinstance(event, ev.Error):
                    print(f"\n{DIM}[{event.message}]{RESET}")
        sys.stdout.write("\n")

    def show(self, events: Any) -> list[ev.ApprovalRequired]:
        """Render a run's events; returns the calls it paused on."""
        asks: list[ev.ApprovalRequired] = []
        for event in events:
            if isinstance(event, ev.ApprovalRequired):
                asks.append(event)
            else:
                self.render(event)
        return asks

    def render(self, event: ev.Event) -> None:
        """Print one event of the turn as it arrives."""
        out = sys.stdout
        if isinstance(event, ev.Token):
            if self._part == "reasoning":  # the answer starts on its own line, apart from thinking
                out.write(f"\n\n{t('cli.repl.answer', self.lang)}\n")
            self._part = "answer"
            out.write(event.text)
        elif isinstance(event, ev.Reasoning):
            if self._part != "reasoning":
                out.write(f"{DIM}{t('cli.repl.thinking', self.lang)}\n")
            self._part = "reasoning"
            out.write(f"{DIM}{event.text}{RESET}")
        elif isinstance(event, ev.ToolStart):
            self._part = None
            out.write(
                f"\n{DIM}⚙ {event.name} {json.dumps(event.args, ensure_ascii=False)[:200]}{RESET}\n"
            )
        elif isinstance(event, ev.ToolEnd):
            status = f"✗ {event.error[:200]}" if event.error else f"✓ {event.output[:200]}"
            out.write(f"{DIM}  {status} ({event.duration_ms:.0f} ms){RESET}\n")
        elif isinstance(event, ev.Error | ev.Notice):
            out.write(f"\n[{event.message}]")
        out.flush()

    def decide(self, event: ev.ApprovalRequired) -> dict[str, Any]:
        """Ask the user about one paused call (saying why, when untrusted text came before it)."""
        args = json.dumps(event.args, ensure_ascii=False)
        if event.reason:
            print(f"\n{DIM}{event.reason}{RESET}")
        answer = input("\n" + t("cli.repl.allow", self.lang, name=event.name, args=args))
        answer = answer.strip().lower()
        if answer.startswith("e"):
            raw = input(t("cli.repl.new_args", self.lang))
            try:
                decision = {
                    "type": "edit",
                    "edited_action": {"name": event.name, "args": json.loads(raw)},
                }
            except ValueError:
                decision = {"type": "reject", "message": "invalid arguments"}
        elif answer.startswith("y"):
            decision = {"type": "approve"}
        else:
            decision = {"type": "reject", "message": "the user rejected this call"}
        return decision
