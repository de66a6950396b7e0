"""jieba word segmentation for the FTS5 index and for queries (Chinese has no spaces)."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

from agent_app.textsafe import normalize_for_index

_WORD = re.compile(r"\w", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_lock = threading.Lock()
TERM_BUDGET = 2_000  # rows scored per query at most (beyond the rarest term)
_jieba: Any = None

# Question words and particles: they appear in questions, rarely in the documents that answer them.
STOPWORDS = frozenset(
    "的 了 是 在 和 与 及 或 吗 呢 吧 啊 么 呀 嘛 什么 怎么 怎样 怎么样 如何 哪些 哪个 哪里 多少 几 为什么 "
    "多 是否 是不是 可以 能否 能 会 有 有没有 没有 我 你 您 他 她 它 我们 你们 他们 请问 一下 这 那 这个 那个 "
    "这些 那些 要 需要 应该 得 地 着 过 就 都 也 还 又 把 被 让 给 对 从 向 吗 所 之 其 该 "
    "a an the of to in on for is are was were be been do does did what how which who whom "
    "when where why can could should would will i you we it its and or with by at from as that "
    "this these those there if about into than then my your our me please tell".split()
)


def _get_jieba() -> Any:
    global _jieba
    if _jieba is None:
        with _lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    return _jieba


def tokens(text: str) -> list[str]:
    """Search-mode jieba tokens of the normalized, lower-cased text (words and sub-words)."""
    norm = normalize_for_index(text).lower()
    return [
        t for t in (w.strip() for w in _get_jieba().cut_for_search(norm)) if t and _WORD.search(t)
    ]


def segment_for_index(text: str) -> str:
    """Words, sub-words and each distinct CJK character, space-joined for FTS5's tokenizer.

    The single characters let a query word the index has never seen (a synonym such as
    滤芯 for 滤网, or 换掉 for 更换) back off to its characters instead of matching nothing.
    """
    words = tokens(text)
    chars = dict.fromkeys(ch for ch in "".join(words) if _CJK.match(ch))
    return " ".join(words) + (" " + " ".join(chars) if chars else "")


def query_terms(
    query: str, doc_freq: Callable[[list[str]], dict[str, int]], budget: int = TERM_BUDGET
) -> list[str]:
    """Content words of the query, rarest first within a posting budget.

    A CJK word the index has never seen backs off to its sub-words, then to its characters.
    Common terms are dropped once the rarer ones already cover `budget` rows: they add little
    to BM25 and cost the most (every row they match gets scored).
    """
    norm = normalize_for_index(query).lower()
    words = [w.strip() for w in _get_jieba().cut(norm)]
    words = [w for w in dict.fromkeys(words) if w and _WORD.search(w) and w not in STOPWORDS]
    df = dict(doc_freq(words))
    terms: list[str] = []
    for word in words:
        if word in df or not _CJK.search(word):
            terms.append(word)
        else:
            terms.extend(_backoff(word, doc_freq, df))
    return prune_terms(list(dict.fromkeys(terms)), df, budget)


def _backoff(
    word: str, doc_freq: Callable[[list[str]], dict[str, int]], df: dict[str, int]
) -> list[str]:
    subs = [w for w in _get_jieba().cut_for_search(word) if w != word and len(w) > 1]
    chars = [ch for ch in word if _CJK.match(ch) and ch not in STOPWORDS]
    for level in (subs, chars):
        found = doc_freq(level) if level else {}
        df.update(found)
        hits = [p for p in level if p in found and p not in STOPWORDS]
        if hits:
            return hits
    return []


def prune_terms(terms: list[str], df: dict[str, int], budget: int) -> list[str]:
    """Keep the rarest terms whose posting lists together fit in `budget` rows (at least one)."""
    keep: set[str] = set()
    spent = 0
    for term in sorted(terms, key=lambda t: df.get(t, 0)):
        rows = df.get(term, 0)
        if keep and spent + rows > budget:
            break
        keep.add(term)
        spent += rows
    return [t for t in terms if t in keep]


def match_expression(
    terms: list[str], collection_ids: list[int] | None, limit: int = 32
) -> str | None:
    """FTS5 query: any of the quoted terms in `seg`, within the collections' `coll` tokens.

    `collection_ids=None` means no filter (the caller knows the collections cover every chunk):
    intersecting with a collection's posting list costs as much as the ranking itself.
    """
    if not terms or collection_ids == []:
        return None
    words = " OR ".join('"' + tok.replace('"', '""') + '"' for tok in terms[:limit])
    if collection_ids is None:
        return f"seg : ({words})"
    colls = " OR ".join(collection_token(c) for c in collection_ids)
    return f"seg : ({words}) AND coll : ({colls})"


def collection_token(collection_id: int) -> str:
    """The token that marks a chunk's collection in the FTS `coll` column."""
    return f"c{int(collection_id)}"
