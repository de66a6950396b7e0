"""Context expansion: the neighbouring chunks of a hit whose passage was cut mid-sentence."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from agent_app.knowledge.chunking import CHUNK_OVERLAP, CHUNK_SIZE
from agent_app.knowledge.rows import KnowledgeRows

MAX_NEIGHBOUR_CHARS = 240  # at most this much text from each side of a hit
MAX_TOTAL_CHARS = 1_200  # and this much over all hits of one search (the prompt stays small)
SHORT_HIT = CHUNK_SIZE // 3  # a heading or a question alone: its answer is in the next chunk
_SENTENCE_END = re.compile(r"[。！？!?；;.…」』”\")）)]\s*$")
_CLAUSE_END = re.compile(r"[。！？!?；;，,、：:.]")


def expand_hits(
    store: KnowledgeRows, hits: list[dict[str, Any]], collection_ids: Sequence[int]
) -> list[dict[str, Any]]:
    """Hits with `context_before` / `context_after` where the passage alone was cut short.

    A neighbour is the chunk just before or after the hit in the same document; one that is
    itself among the hits is not repeated. `pages` lists the pages the added text comes from.
    """
    if not hits:
        return hits
    shown = {hit["chunk_id"] for hit in hits}
    near = store.neighbours([hit["chunk_id"] for hit in hits], collection_ids)
    budget = MAX_TOTAL_CHARS
    out = []
    for hit in hits:
        hit = dict(hit)
        before, after = near.get(hit["chunk_id"], (None, None))
        text = str(hit["text"])
        if after and after["id"] not in shown and _needs_after(text) and budget > 0:
            extra = _head(_without_overlap(text, after["text"]), min(budget, MAX_NEIGHBOUR_CHARS))
            if extra:
                hit["context_after"], budget = extra, budget - len(extra)
                _add_page(hit, after["page"])
        if before and before["id"] not in shown and _needs_before(before["text"]) and budget > 0:
            rest = _without_overlap(before["text"], text, keep="head")
            extra = _tail(rest, min(budget, MAX_NEIGHBOUR_CHARS))
            if extra:
                hit["context_before"], budget = extra, budget - len(extra)
                _add_page(hit, before["page"])
        out.append(hit)
    return out


def _needs_after(text: str) -> bool:
    """The passage stops mid-sentence, or is too short to hold an answer (a heading, a question)."""
    return len(text.strip()) < SHORT_HIT or not _SENTENCE_END.search(text)


def _needs_before(previous: str) -> bool:
    """The previous chunk was cut mid-sentence (not a heading): the hit starts inside that sentence."""
    return len(previous.strip()) >= SHORT_HIT and not _SENTENCE_END.search(previous)


def _without_overlap(first: str, second: str, *, keep: str = "tail") -> str:
    """`second` without the text it repeats from the end of `first` (chunks overlap), or vice versa.

    keep="tail": the part of `second` after the overlap; keep="head": the part of `first` before it.
    """
    limit = min(len(first), len(second), 2 * CHUNK_OVERLAP)
    for size in range(limit, 0, -1):
        if first.endswith(second[:size]):
            return second[size:] if keep == "tail" else first[:-size]
    return second if keep == "tail" else first


def _head(text: str, limit: int) -> str:
    """The start of `text`, cut after the last clause end within `limit` characters."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]  # room for the ellipsis
    ends = [m.end() for m in _CLAUSE_END.finditer(cut)]
    return (cut[: ends[-1]] if ends else cut).rstrip() + "…"


def _tail(text: str, limit: int) -> str:
    """The end of `text`, starting after a clause end within the last `limit` characters."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[-(limit - 1) :]
    match = _CLAUSE_END.search(cut)
    return "…" + (cut[match.end() :] if match and match.end() < len(cut) else cut).lstrip()


def _add_page(hit: dict[str, Any], page: int | None) -> None:
    pages = [p for p in (hit.get("page"), *(hit.get("pages") or ()), page) if p is not None]
    if len(set(pages)) > 1:
        hit["pages"] = sorted(set(pages))
