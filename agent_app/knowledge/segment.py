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
    return [t for t in (w.strip() for w in _get_jieba().cut_for_search(norm)) if t and _WORD.search(t)]


def segment_for_index(text: str) -> str:
    """Words, sub-words and each distinct CJK character, space-joined for FTS5's tokenizer.

    The single characters let a query word the index has never seen (a synonym such as
    滤芯 for 滤网, or 换掉 for 更换) back off to its characters instead of matching nothing.
    """
    words = tokens(text)
    chars = dict.fromkeys(ch for ch in "".join(words) if _CJK.match(ch))
    return " ".join(words) + (" " + " ".join(chars) if chars else "")


def query_terms(query: str, known: Callable[[list[str]], set[str]]) -> list[str]:
    """Content words of the query; a CJK word unknown to the index backs off to its parts."""
    norm = normalize_for_index(query).lower()
    words = [w.strip() for w in _get_jieba().cut(norm)]
    words = [w for w in dict.fromkeys(words) if w and _WORD.search(w) and w not in STOPWORDS]
    cjk = [w for w in words if _CJK.search(w)]
    parts = {w: _parts(w) for w in cjk}
    vocab = known(cjk + [p for group in parts.values() for level in group for p in level])
    terms: list[str] = []
    for word in words:
        if word not in parts or word in vocab:
            terms.append(word)
            continue
        for level in parts[word]:  # sub-words first, then single characters
            found = [p for p in level if p in vocab and p not in STOPWORDS]
            if found:
                terms.extend(found)
                break
    return list(dict.fromkeys(terms))


def _parts(word: str) -> tuple[list[str], list[str]]:
    subs = [w for w in _get_jieba().cut_for_search(word) if w != word and len(w) > 1]
    return subs, [ch for ch in word if _CJK.match(ch)]


def match_expression(terms: list[str], limit: int = 32) -> str | None:
    """An FTS5 OR-query of quoted terms, or None when there are none."""
    if not terms:
        return None
    return " OR ".join('"' + tok.replace('"', '""') + '"' for tok in terms[:limit])
