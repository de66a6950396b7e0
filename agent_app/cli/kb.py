"""`agent-app kb`: add, search, list, remove and re-index knowledge-base documents."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import TYPE_CHECKING, Any

from agent_app.cli.common import add_user_arg, cli_lang, fail, settings_from, user_of
from agent_app.errors import AppError
from agent_app.i18n import t, tn

if TYPE_CHECKING:
    from agent_app.knowledge.service import KnowledgeService

log = logging.getLogger(__name__)
DEFAULT_COLLECTION = "default"


def register(sub: Any) -> None:
    """Add the `kb` command and its subcommands."""
    p = sub.add_parser("kb", help="knowledge base: add, search, list, remove documents")
    ops = p.add_subparsers(dest="op", required=True)
    add = ops.add_parser("add", help="add files or directories (walked) to a collection")
    add.add_argument("paths", nargs="+", metavar="PATH")
    add.add_argument("--collection", default=DEFAULT_COLLECTION)
    add.add_argument(
        "--ocr-all",
        action="store_true",
        help="read every scanned page, also above AGENT_APP_OCR_MAX_PAGES (each page is a model call)",
    )
    search = ops.add_parser("search", help="hybrid search; --json prints a JSON array")
    search.add_argument("query", metavar="QUERY")
    search.add_argument(
        "--collection", action="append", help="collection (repeatable; default: all)"
    )
    search.add_argument("--k", type=int, default=5)
    search.add_argument("--json", action="store_true")
    ls = ops.add_parser("list", help="documents with their status")
    ls.add_argument("--collection")
    ls.add_argument("--json", action="store_true")
    rm = ops.add_parser("remove", help="delete a document (by its file name)")
    rm.add_argument("source", metavar="SOURCE")
    rm.add_argument("--collection", default=DEFAULT_COLLECTION)
    ops.add_parser("reindex", help="re-embed all chunks after changing the embedding model")
    share = ops.add_parser("share", help="let other users search and read a collection (read-only)")
    unshare = ops.add_parser(
        "unshare", help="stop sharing a collection (no --with: with everybody)"
    )
    for parser in (share, unshare):
        parser.add_argument("name", metavar="NAME")
        parser.add_argument("--with", dest="grantees", action="append", metavar="USER", default=[])
        parser.add_argument("--everyone", action="store_true", help="every signed-in user")
    for parser in ops.choices.values():
        add_user_arg(parser)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Dispatch; every failure is one clear line on stderr and a non-zero exit code."""
    settings = settings_from(args)
    lang = cli_lang(args, settings)
    service = None
    try:
        from agent_app.knowledge.service import KnowledgeService

        service = KnowledgeService(settings, user=user_of(args, settings))
        if args.op in ("share", "unshare"):
            return _sharing(service, args, resolve_grantees(settings, args.grantees), lang)
        return int(_COMMANDS[args.op](service, args, lang))
    except AppError as exc:
        return fail(exc, lang)
    except Exception:  # never a traceback on the terminal; the detail goes to the log
        log.exception("kb %s failed", args.op)
        return fail(t("cli.internal_error", lang), lang)
    finally:
        if service is not None:
            service.close()


def _add(service: KnowledgeService, args: argparse.Namespace, lang: str) -> int:
    from agent_app.knowledge.ingest import expand_paths

    files = expand_paths(args.paths)
    if not files:
        return fail(t("cli.kb.no_files", lang), lang)
    bar = _ProgressLine(len(files), lang)
    results = service.add_files(
        files, args.collection, progress=bar.update, lang=lang, ocr_all=args.ocr_all
    )
    bar.finish()
    results = [_decide_ocr(service, res, args.collection, lang) for res in results]
    counts: dict[str, int] = {}
    for res in results:
        counts[res.status] = counts.get(res.status, 0) + 1
        done = res.status in ("ready", "unchanged")
        detail = _chunks(res.chunks, lang) if done else res.reason or ""
        if res.status == "needs_confirmation":
            detail += " " + t("cli.kb.ocr_hint", lang)
        if res.pages:
            detail += ", " + tn("cli.kb.n_pages", res.pages, lang)
        print(f"{_status(res.status, lang):9} {res.file}  ({detail})")
    shown = [
        t("cli.kb.count", lang, count=n, status=_status(status, lang))
        for status, n in sorted(counts.items())
    ]
    print(t("cli.kb.summary", lang, counts=", ".join(shown), collection=args.collection))
    # 3, as `chat --json` waiting for an approval: nothing failed, a decision is pending.
    return 1 if counts.get("failed") else 3 if counts.get("needs_confirmation") else 0


def _decide_ocr(service: KnowledgeService, res: Any, collection: str, lang: str) -> Any:
    """On a terminal, ask whether to read a document above the OCR page limit; else keep it pending."""
    if res.status != "needs_confirmation" or not (sys.stdin.isatty() and sys.stderr.isatty()):
        return res
    pages, limit = res.extra.get("ocr_pages"), res.extra.get("limit")
    question = t("cli.kb.ocr_question", lang, name=res.file, pages=pages, limit=limit)
    print(question + " ", end="", file=sys.stderr, flush=True)
    if sys.stdin.readline().strip().lower() not in ("y", "yes", "是"):
        return res
    bar = _ProgressLine(1, lang)
    try:
        return service.confirm_ocr(res.file, collection, bar.update, lang=lang)
    finally:
        bar.finish()


def _search(service: KnowledgeService, args: argparse.Namespace, lang: str) -> int:
    if args.collection:
        known = {c["name"] for c in service.list_collections()}
        for name in args.collection:
            if name not in known:
                from agent_app.knowledge.errors import KnowledgeError

                raise KnowledgeError("collection_not_found", name=name)
    hits = service.search(args.query, args.collection, max(1, min(args.k, 100)))
    if args.json:
        keys = ("text", "source", "page", "score", "chunk_id")
        _print_json([{key: hit[key] for key in keys} for hit in hits])
        return 0
    for n, hit in enumerate(hits, start=1):
        where = hit["source"] + (
            " " + t("cli.kb.page", lang, page=hit["page"]) if hit["page"] else ""
        )
        print(f"[{n}] {hit['score']:.3f}  {where}\n    {' '.join(hit['text'].split())[:200]}")
    return 0


def _list(service: KnowledgeService, args: argparse.Namespace, lang: str) -> int:
    docs = service.list_documents(args.collection, lang=lang)
    if args.json:
        keys = ("source", "collection", "status", "chunks", "pages", "error", "updated_at")
        rows = [{**doc, "source": doc["name"], "chunks": doc["chunk_count"]} for doc in docs]
        _print_json([{key: row[key] for key in keys} for row in rows])
        return 0
    for col in service.list_collections():
        if args.collection and col["name"] != args.collection:
            continue
        documents = tn("ui.kb.n_documents", col["documents"], lang)
        line = t(
            "cli.kb.collection_line", lang, name=col["name"], documents=documents,
            chunks=_chunks(col["chunks"], lang), whose=_whose(col, lang),
        )  # fmt: skip
        print(line)
        for doc in (
            d for d in docs if (d["collection"], d["owner"]) == (col["name"], col["owner"])
        ):
            tail = doc["error"] if doc["status"] == "failed" else _chunks(doc["chunk_count"], lang)
            print(f"  {_status(doc['status'], lang):7} {doc['name']}  ({tail})")
    return 0


def _whose(col: dict[str, Any], lang: str) -> str:
    if col["read_only"]:
        return t("cli.kb.shared_by", lang, owner=col["owner"])
    if col["shared_with"]:
        return t("cli.kb.shared_with", lang, names=_names(col["shared_with"], lang))
    return ""


def _names(grantees: list[str], lang: str) -> str:
    everyone = t("ui.kb.everyone", lang)
    return ", ".join(everyone if g == "*" else g for g in grantees) or t("cli.kb.nobody", lang)


def _chunks(count: int, lang: str) -> str:
    return tn("ui.kb.n_chunks", count, lang)


def _status(status: str, lang: str) -> str:
    return _word("cli.kb.status", status, lang)


def _word(prefix: str, value: str, lang: str) -> str:
    """A status or stage word in the user's language (an unknown one as it is)."""
    key = f"{prefix}.{value}"
    shown = t(key, lang)
    return value if shown == key else shown


def _remove(service: KnowledgeService, args: argparse.Namespace, lang: str) -> int:
    removed = service.remove(args.source, args.collection)
    chunks = _chunks(removed["chunks"], lang)
    print(
        t(
            "cli.kb.removed",
            lang,
            source=removed["source"],
            chunks=chunks,
            collection=args.collection,
        )
    )
    return 0


def _reindex(service: KnowledgeService, args: argparse.Namespace, lang: str) -> int:
    def report(done: int, total: int) -> None:
        print(
            "\r" + t("cli.kb.reembedding", lang, done=done, total=total),
            end="",
            file=sys.stderr,
            flush=True,
        )

    count = service.reindex(progress=report)
    print("", file=sys.stderr)
    print(t("cli.kb.reindexed", lang, count=count, name=service.embedder.name))
    return 0


def resolve_grantees(settings: Any, refs: list[str]) -> list[str]:
    """User ids for account names (or ids); without accounts (one-user mode) the ids as given."""
    from agent_app.userid import check_user_id

    if not refs:
        return []
    if not (settings.data_dir / "users.db").exists():
        return [check_user_id(ref) for ref in refs]
    from agent_app.auth import open_accounts
    from agent_app.auth.accounts import AccountError
    from agent_app.knowledge.errors import KnowledgeError

    accounts = open_accounts(settings)
    try:
        known = bool(accounts.list_users())
        ids = []
        for ref in refs:
            try:
                ids.append(accounts.get(ref).user_id)
            except AccountError:
                if known:
                    raise KnowledgeError("no_such_grantee", name=ref) from None
                ids.append(check_user_id(ref))
        return ids
    finally:
        accounts.close()


def _sharing(
    service: KnowledgeService, args: argparse.Namespace, grantees: list[str], lang: str
) -> int:
    if args.op == "share":
        if not grantees and not args.everyone:
            return fail(t("cli.kb.name_users", lang), lang)
        left = service.share(args.name, grantees, everyone=args.everyone)
    else:
        left = service.unshare(args.name, grantees or None, everyone=args.everyone)
    print(t("cli.kb.sharing", lang, name=args.name, names=_names(left, lang)))
    return 0


_COMMANDS = {"add": _add, "search": _search, "list": _list, "remove": _remove, "reindex": _reindex}


def _print_json(data: Any) -> None:
    sys.stdout.buffer.write(json.dumps(data, ensure_ascii=False).encode("utf-8") + b"\n")
    sys.stdout.buffer.flush()


class _ProgressLine:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, files: int, lang: str) -> None:
        self.files, self.lang = files, lang
        self.index = 0
        self.tty = sys.stderr.isatty()
        self._last: tuple[str, str, int] | None = None

    def update(self, event: Any) -> None:
        if event.stage == "parsing" and (self._last is None or self._last[0] != event.file):
            self.index += 1
        key = (event.file, event.stage, event.done if event.stage == "ocr" else 0)
        if not self.tty and key == self._last:
            return
        self._last = key
        filled = int(event.fraction * 20)
        stage = _word("cli.kb.stage", event.stage, self.lang)
        line = (
            f"[{'#' * filled}{'.' * (20 - filled)}] {self.index}/{self.files} {event.file}: {stage}"
        )
        if event.stage == "ocr" or (event.stage == "embedding" and event.total > 1):
            line += f" {event.done}/{event.total}"
        print(
            ("\r\x1b[K" + line) if self.tty else line,
            end="" if self.tty else "\n",
            file=sys.stderr,
            flush=True,
        )

    def finish(self) -> None:
        if self.tty:
            print("", file=sys.stderr)
