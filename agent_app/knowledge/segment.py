"""jieba word segmentation for the FTS5 index and for queries (Chinese has no spaces)."""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from agent_app.textsafe import normalize_for_index

_WORD = re.compile(r"\w", re.UNICODE)
_lock = threading.Lock()
_jieba: Any = None

# Question words and particles: they appear in questions, rarely in the documents that answer them.
STOPWORDS = frozenset(
    "的 了 是 在 和 与 及 或 吗 呢 吧 啊 么 呀 嘛 什么 怎么 怎样 怎么样 如何 哪些 哪个 哪里 多少 几 为什么 "
    "是否 是不是 可以 能否 能 会 有 有没有 没有 我 你 您 他 她 它 我们 你们 他们 请问 一下 这 那 这个 那个 "
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
    """Space-joined tokens: FTS5's unicode61 tokenizer then sees one term per word."""
    return " ".join(tokens(text))


def match_expression(query: str, limit: int = 32) -> str | None:
    """An FTS5 OR-query of the query's distinct content words (quoted), or None if there are none."""
    seen: list[str] = []
    for tok in tokens(query):
        if tok not in STOPWORDS and tok not in seen:
            seen.append(tok)
    if not seen:
        return None
    return " OR ".join('"' + tok.replace('"', '""') + '"' for tok in seen[:limit])
