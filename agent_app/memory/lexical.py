"""Lexical side of memory recall: Chinese-aware units and idf-weighted query coverage."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from agent_app.knowledge.segment import STOPWORDS, _get_jieba
from agent_app.textsafe import normalize_for_index

MAX_QUERY_CHARS = 2_000  # a pasted page is a request, not a memory question: its head is enough
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"\w", re.UNICODE)
_WORD_RUN = re.compile(r"[^\W_][\w'+#.-]*")  # any script: Latin, Arabic, Devanagari…
# A single character says less than a word or a character pair: partial credit only.
WEIGHTS = {"w": 1.0, "b": 1.0, "c": 0.5}
_PRONOUNS = frozenset("我你您他她它")
_STOP_CHARS = frozenset(w for w in STOPWORDS if len(w) == 1 and _CJK.match(w))
# Background pseudo-documents mixed into a user's own statistics, so that one user with three
# memories still knows that 天 or "work" are common words (jieba's dictionary is the prior).
PRIOR_DOCS = 20.0
EVIDENCE = 2.5  # idf mass of one fairly specific word
WORDS_PER_TEXT = 12.0


def stem(word: str) -> str:
    """Light English stemming (plural and possessive endings); other scripts unchanged."""
    word = word.strip("'.-")
    if not word.isascii():
        return word
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _tokens(text: str) -> list[str]:
    norm = normalize_for_index(text[:MAX_QUERY_CHARS]).lower()
    out = []
    for token in _get_jieba().cut(norm):
        token = token.strip()
        # jieba glues a leading pronoun to the verb (我开, 我家): the rest is the content word.
        if len(token) > 1 and token[0] in _PRONOUNS and token not in STOPWORDS:
            token = token[1:]
        # "manager's", "I'm": the clitic split off by jieba is not a word.
        if len(token) == 1 and token.isascii() and token.isalpha():
            continue
        out.append(token)
    return out


def weighted_units(text: str) -> dict[str, float]:
    """Units of a text with their weight.

    w:word (jieba words, their search-mode sub-words, English stems), b:CJK character pair,
    c:CJK character, n:number. A character standing alone as a word counts fully; the
    characters of a longer word only back it off (a synonym such as 闺女 for 女儿 shares none),
    so they weigh half, like numbers, which say little alone.
    """
    out: dict[str, float] = {}
    run: list[str] = []  # CJK content tokens in a row: their pairs cross word boundaries

    def close_run() -> None:
        joined = "".join(run)
        for i in range(len(joined) - 1):
            out.setdefault("b:" + joined[i : i + 2], WEIGHTS["b"])
        run.clear()

    for token in _tokens(text):
        if not token or token in STOPWORDS or not _WORD.search(token):
            close_run()
            continue
        if _CJK.search(token):
            run.append(token)
            if len(token) == 1:
                out["c:" + token] = WEIGHTS["w"]
                continue
            out["w:" + token] = WEIGHTS["w"]
            for sub in _get_jieba().cut_for_search(token):
                if sub != token and len(sub) > 1:
                    out.setdefault("w:" + sub, WEIGHTS["c"])
            for ch in token:
                if _CJK.match(ch) and ch not in _STOP_CHARS:
                    out.setdefault("c:" + ch, WEIGHTS["c"])
            continue
        close_run()
        for word in _WORD_RUN.findall(token):
            base = stem(word)
            if base.isdigit():
                out.setdefault("n:" + base, WEIGHTS["c"])
            elif base and base not in STOPWORDS:
                out.setdefault("w:" + base, WEIGHTS["w"])
    close_run()
    return out


def units(text: str) -> list[str]:
    """The distinct units of a text (see weighted_units)."""
    return list(weighted_units(text))


def prior_rate(unit: str) -> float:
    """Chance that a short text in general language contains the unit."""
    kind, body = unit[0], unit[2:]
    if _CJK.search(body):
        # jieba's dictionary counts a character standing alone as a word: a cheap, fair proxy.
        freq, total = _get_jieba().dt.FREQ, _get_jieba().dt.total
        share = freq.get(body, 0) / total
        if not share and kind == "b":
            share = 0.1 * min(freq.get(body[0], 0), freq.get(body[1], 0)) / total
    else:
        share = 0.002 if body.isdigit() else 0.001  # no English frequency table: moderately rare
    return min(1.0, WORDS_PER_TEXT * share)


class LexicalScorer:
    """Scores a user's texts against a query by the idf-weighted share of the query they contain.

    The score is in [0, 1] and means the same for every query ("how much of what was asked
    appears in this memory"), which is what makes one recall threshold possible.
    """

    def __init__(self, n: int, df: Mapping[str, int]) -> None:
        self.n, self.df = n, df

    @classmethod
    def from_counts(cls, n: int, docs: Iterable[Iterable[str]]) -> LexicalScorer:
        """A scorer from `n` documents' units (document frequencies counted)."""
        return cls(n, Counter(u for doc in docs for u in set(doc)))

    def idf(self, unit: str) -> float:
        """The unit's inverse document frequency, smoothed by the dictionary prior."""
        df = self.df.get(unit, 0) + PRIOR_DOCS * prior_rate(unit)
        return max(0.0, math.log((self.n + PRIOR_DOCS + 1.0) / (df + 0.5)))

    def weights(self, query: Mapping[str, float]) -> dict[str, float]:
        """Each query unit's weight: its kind's weight times its idf."""
        return {u: w * self.idf(u) for u, w in query.items()}

    @staticmethod
    def coverage(found: np.ndarray, total: float) -> np.ndarray:
        """Matched share of the query; one number or one character alone is weak evidence.

        The share is discounted until the matched information reaches one fairly specific word.
        """
        return found / total * np.minimum(1.0, found / EVIDENCE)

    def scores(self, query: Mapping[str, float], docs: Sequence[Iterable[str]]) -> list[float]:
        """Coverage of the query by each of `docs`, in order (the reference form of lexindex)."""
        weights = self.weights(query)
        total = sum(weights.values())
        if total <= 0:
            return [0.0] * len(docs)
        found = np.array([sum(w for u, w in weights.items() if u in set(d)) for d in docs])
        return [float(x) for x in self.coverage(found, total)]


_SELF_ZH = re.compile(r"我(?!们)")
_SELF_EN = re.compile(r"\b(i|me|my|mine|myself|i'm|i've|i'd|i'll)\b", re.IGNORECASE)


def speaks_of_user(text: str) -> bool:
    """True when the message is about the user ("我的车", "my wife"), not only addressed by them.

    Memories are facts about the user: a message that never refers to them ("今天天气怎么样",
    "How do vaccines work?") needs a much stronger match to recall one. Requests such as
    "给我放香菜吗" do count: what is done for the user often depends on what they told us.
    """
    norm = normalize_for_index(text[:MAX_QUERY_CHARS])
    return bool(_SELF_ZH.search(norm) or _SELF_EN.search(norm))
