"""MemoryService: what the UI and CLI call to see, search, correct and remove a user's memories."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, Literal

from langgraph.store.base import BaseStore, Item, PutOp

from agent_app.errors import AppError, NotFoundError
from agent_app.memory.recall import SEMANTIC, recall_floor, vector_evidence
from agent_app.textsafe import clean_text
from agent_app.userid import check_user_id

Kind = Literal["manual", "extracted"]
KINDS = ("manual", "extracted")
MAX_CHARS = 4000
MAX_IMPORT = 10_000
FIELDS = ("text", "kind", "source_thread", "source_message")
SUGGESTED = "suggested"
"""Status of a memory a tool wrote after untrusted text: kept out of prompts until the user confirms it."""
CONFIRMED_ONLY = {"status": {"$ne": SUGGESTED}}
Items = list[dict[str, Any]]  # (MemoryService.list shadows the builtin inside the class body)
Found = list[Any]


class MemoryInputError(AppError):
    """A memory text or import file the user must fix (empty, too long, malformed)."""

    kind, key = "bad_input", "memory.empty"


def memory_namespace(user_id: str) -> tuple[str, str]:
    """The store namespace of a user's memories; every read and write goes through it (no leaks)."""
    if not isinstance(user_id, str) or not user_id.strip():
        raise MemoryInputError("empty user id", key="memory.bad_user")
    user = check_user_id(user_id)  # the rule threads and documents use too: no cleaning here
    # Namespace labels may not contain "."; escape reversibly so "a.b" and "a%2Eb" stay distinct.
    return (user.replace("%", "%25").replace(".", "%2E"), "memories")


def clean_memory_text(text: Any, limit: int = MAX_CHARS) -> str:
    """Sanitize (control characters, lone surrogates) and validate a memory text."""
    cleaned = clean_text(text if isinstance(text, str) else "").strip()
    if not cleaned:
        raise MemoryInputError("empty memory", key="memory.empty")
    if len(cleaned) > limit:
        raise MemoryInputError(
            "memory too long", key="memory.too_long", size=len(cleaned), limit=limit
        )
    return cleaned


def to_dict(item: Item) -> dict[str, Any]:
    """The public form of a memory: {id, text, kind, source_thread, source_message, created_at, updated_at, history, score?}."""
    value = item.value
    out: dict[str, Any] = {"id": item.key, "text": value.get("text", "")}
    out.update({f: value.get(f) for f in FIELDS[1:]})
    out["kind"] = out["kind"] or "manual"
    out["status"] = SUGGESTED if value.get("status") == SUGGESTED else "confirmed"
    out["created_at"], out["updated_at"] = item.created_at.isoformat(), item.updated_at.isoformat()
    out["history"] = list(value.get("history") or [])
    score = getattr(item, "score", None)
    if score is not None:
        out["score"] = round(float(score), 4)
    return out


class MemoryService:
    """Per-user memory operations over any BaseStore with semantic search (SqliteFaissStore, PostgresStore)."""

    def __init__(
        self,
        store: BaseStore,
        *,
        duplicate_threshold: float = 0.9,
        max_chars: int = MAX_CHARS,
        history_limit: int = 20,
    ) -> None:
        self.store = store
        self.duplicate_threshold = duplicate_threshold
        self.max_chars = max_chars
        self.history_limit = history_limit

    def add(
        self,
        user: str,
        text: str,
        *,
        source_thread: str | None = None,
        source_message: str | None = None,
        kind: Kind = "manual",
        suggested: bool = False,
    ) -> dict[str, Any]:
        """Store a memory; a near-duplicate (cosine ≥ threshold) updates the existing one instead.

        A suggested memory never rewrites a confirmed one: it is stored beside it for the user to judge.
        """
        ns, text = memory_namespace(user), clean_memory_text(text, self.max_chars)
        if kind not in KINDS:
            raise MemoryInputError(f"unknown kind {kind!r}", key="memory.import_invalid")
        similar = self.store.search(ns, query=text, limit=1)
        if similar and (similar[0].score or 0.0) >= self.duplicate_threshold:
            near = similar[0]
            if not suggested:
                merged = self.update(user, near.key, text, reason="merged", confirm=True)
                return dict(merged, merged=True)
            if near.value.get("status") == SUGGESTED or near.value.get("text") == text:
                merged = self.update(user, near.key, text, reason="merged")
                return dict(merged, merged=True)
        key = uuid.uuid4().hex
        value: dict[str, Any] = {
            "text": text,
            "kind": kind,
            "source_thread": source_thread,
            "source_message": source_message,
            "history": [],
        }
        if suggested:
            value["status"] = SUGGESTED
        self.store.put(ns, key, value)
        return dict(self.get(user, key), merged=False)

    def get(self, user: str, memory_id: str) -> dict[str, Any]:
        """One memory of this user; NotFoundError for anything else (including other users' ids)."""
        item = self.store.get(memory_namespace(user), str(memory_id))
        if item is None:
            raise NotFoundError(f"memory {memory_id!r} not found", key="memory.not_found")
        return to_dict(item)

    def list(self, user: str, *, limit: int = 1000, offset: int = 0) -> Items:
        """This user's memories, most recently updated first."""
        items = self.store.search(memory_namespace(user), limit=limit, offset=offset)
        return [{k: v for k, v in to_dict(it).items() if k != "score"} for it in items]

    def search(
        self,
        user: str,
        query: str,
        k: int = 5,
        *,
        min_score: float | None = None,
        confirmed_only: bool = False,
    ) -> Items:
        """This user's memories relevant to `query`, best first, each with a score in [0, 1].

        Only memories above the store's calibrated recall floor come back (none for a question
        about something else); `min_score` can raise that bar. `confirmed_only` leaves out
        suggested memories (written by a tool, not yet confirmed by the user), as recall does.
        """
        return self.recall(user, query, k, min_score=min_score, confirmed_only=confirmed_only)[0]

    def recall(
        self,
        user: str,
        query: str,
        k: int = 5,
        *,
        min_score: float | None = None,
        confirmed_only: bool = False,
    ) -> tuple[Items, bool]:
        """`search`, and whether it had to do without vectors (the embedder failed: keywords only)."""
        query = clean_text(query if isinstance(query, str) else "").strip()
        if not query or k <= 0:
            return [], False
        found, vector_ok = self._relevant(
            memory_namespace(user), query, k, CONFIRMED_ONLY if confirmed_only else None
        )
        items = [to_dict(it) for it in found]
        kept = [it for it in items if min_score is None or it.get("score", 0.0) >= min_score]
        return kept[:k], not vector_ok

    def _relevant(self, ns: tuple[str, str], query: str, k: int, filter: Any) -> tuple[Found, bool]:
        hybrid = getattr(self.store, "hybrid_search", None)
        if hybrid is not None:
            items, vector_ok = hybrid(ns, query, 2 * k, filter=filter)
            return [*items], bool(vector_ok)
        # Any other BaseStore (PostgresStore): its vector score, rescaled and gated the same way.
        cal = SEMANTIC
        floor = recall_floor(query, cal)
        out: Found = []
        for it in self.store.search(ns, query=query, limit=2 * k, filter=filter):
            if it.score is None:
                continue
            score = vector_evidence(float(it.score), cal)
            if score >= floor:
                it.score = score
                out.append(it)
        return out, True

    def update(
        self, user: str, memory_id: str, text: str, *, reason: str = "edited", confirm: bool = False
    ) -> dict[str, Any]:
        """Replace a memory's text, keeping the old text in its history; `confirm` also confirms it."""
        ns, text = memory_namespace(user), clean_memory_text(text, self.max_chars)
        item = self.store.get(ns, str(memory_id))
        if item is None:
            raise NotFoundError(f"memory {memory_id!r} not found", key="memory.not_found")
        value = dict(item.value)
        if value.get("text") != text:
            entry = {
                "text": value.get("text"),
                "until": item.updated_at.isoformat(),
                "reason": reason,
            }
            value["history"] = ([*(value.get("history") or []), entry])[-self.history_limit :]
            value["text"] = text
        if confirm:
            value.pop("status", None)
        self.store.put(ns, item.key, value)
        return self.get(user, item.key)

    def confirm(self, user: str, memory_id: str) -> dict[str, Any]:
        """Make a suggested memory a real one: from now on it is recalled into prompts."""
        current = self.get(user, memory_id)
        return self.update(user, memory_id, current["text"], confirm=True)

    def delete(self, user: str, memory_id: str) -> None:
        """Delete one memory (row and vector); NotFoundError if this user has no such memory."""
        ns = memory_namespace(user)
        if self.store.get(ns, str(memory_id)) is None:
            raise NotFoundError(f"memory {memory_id!r} not found", key="memory.not_found")
        self.store.delete(ns, str(memory_id))

    def forget_all(self, user: str) -> int:
        """Delete every memory of this user; returns how many."""
        ns, total = memory_namespace(user), 0
        while batch := self.store.search(ns, limit=500):
            # One batch is one transaction in SqliteFaissStore: rows and vectors go together.
            self.store.batch([PutOp(ns, item.key, None) for item in batch])
            total += len(batch)
        return total

    def export(self, user: str) -> Items:
        """Every memory of this user as plain dicts (JSON-ready), oldest first."""
        items, offset = [], 0
        while batch := self.list(user, limit=500, offset=offset):
            items += batch
            offset += len(batch)
        return sorted(items, key=lambda it: it["created_at"])

    def import_items(self, user: str, items: Iterable[Any]) -> int:
        """Add exported memories to this user (new ids; near-duplicates merge); returns how many."""
        if isinstance(items, dict | str | bytes):
            raise MemoryInputError("not a list of memories", key="memory.import_invalid")
        entries = [*items]
        if len(entries) > MAX_IMPORT or not all(
            isinstance(it, dict) and isinstance(it.get("text"), str) for it in entries
        ):
            raise MemoryInputError("not a list of memories", key="memory.import_invalid")
        for it in entries:  # validate everything first: a bad item must not leave half an import
            clean_memory_text(it["text"], self.max_chars)
        count = 0
        for it in entries:
            kind: Kind = "extracted" if it.get("kind") == "extracted" else "manual"
            self.add(
                user,
                it["text"],
                source_thread=_opt_str(it.get("source_thread")),
                source_message=_opt_str(it.get("source_message")),
                kind=kind,
                suggested=it.get("status") == SUGGESTED,
            )
            count += 1
        return count


def _opt_str(value: Any) -> str | None:
    return clean_text(value)[:200] if isinstance(value, str) and value else None
