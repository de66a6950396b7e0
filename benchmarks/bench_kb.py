"""Knowledge-base benchmark: PDF ingest rate and hybrid-search latency against LangChain's FAISS + BM25 ensemble."""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.eval_kb import evaluate, load_questions  # noqa: E402
from benchmarks.results import record, row  # noqa: E402

# Run: .venv/bin/python benchmarks/bench_kb.py [--sizes 10000,100000] [--pages 400]
# The baseline is the common Langchain-Chatchat setup measured in the same run on the same input:
# PyPDFLoader + RecursiveCharacterTextSplitter + FAISS.from_documents + BM25Retriever(jieba) in an
# EnsembleRetriever (weights 0.5/0.5). It needs `rank_bm25`; without it the comparison is skipped.
# Every ratio is value / baseline (for latency below 1 is better, for rates above 1 is better).

warnings.filterwarnings("ignore", category=DeprecationWarning)
logging.disable(logging.WARNING)
SEED = 20240301


# -- corpora -------------------------------------------------------------------------------------
def real_sentences() -> list[str]:
    from tests.kb_eval import corpus_en, corpus_zh

    texts = corpus_zh.REFUND_PDF + [
        corpus_zh.SECURITY_TXT,
        corpus_zh.PURIFIER_MD,
        corpus_zh.PROFILE_UTF16,
    ]
    texts += [p for _, _, paras in corpus_zh.HANDBOOK_DOCX for p in paras] + corpus_en.TRAVEL_PDF
    out = []
    for text in texts:
        for part in text.replace("\n", "。").replace(". ", "。").split("。"):
            if len(part.strip()) > 6:
                out.append(part.strip() + "。")
    return out


def pseudo_sentences(n: int, rng: random.Random) -> list[str]:
    """Sentences of words drawn from jieba's dictionary by frequency: realistic term statistics."""
    import jieba

    path = Path(jieba.__file__).parent / "dict.txt"
    words, freqs = [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            word, freq, *_ = line.split()
            words.append(word)
            freqs.append(int(freq))
    picks = rng.choices(words, weights=freqs, k=n * 12)
    return ["".join(picks[i * 12 : i * 12 + rng.randint(6, 12)]) + "。" for i in range(n)]


def page_texts(pages: int, rng: random.Random) -> list[str]:
    sentences = real_sentences()
    out = []
    for _ in range(pages):
        text = ""
        while len(text) < 900:
            text += rng.choice(sentences)
        out.append(text)
    return out


class SyntheticChunks:
    """n chunks of ~300 characters composed of pooled sentences (segmented and embedded once)."""

    def __init__(self, n: int, rng: random.Random) -> None:
        from agent_app.knowledge.embedders import OfflineKBEmbedder
        from agent_app.knowledge.segment import tokens

        pool = real_sentences() + pseudo_sentences(8000, rng)
        words = [tokens(s) for s in pool]
        vectors = OfflineKBEmbedder().embed(pool)
        self.texts, self.segs, self.words = [], [], []
        starts, flat = [], []
        for _ in range(n):
            picks, length = [], 0
            while length < 300:
                picks.append(rng.randrange(len(pool)))
                length += len(pool[picks[-1]])
            starts.append(len(flat))
            flat.extend(picks)
            text = "".join(pool[i] for i in picks)
            toks = [w for i in picks for w in words[i]]
            chars = dict.fromkeys(ch for ch in text if "\u3400" <= ch <= "\u9fff")
            self.texts.append(text)
            self.words.append(toks)
            self.segs.append(" ".join(toks) + " " + " ".join(chars))
        summed = np.add.reduceat(vectors[np.asarray(flat)], np.asarray(starts), axis=0)
        self.vectors = (summed / np.linalg.norm(summed, axis=1, keepdims=True)).astype(np.float32)
        self.queries = [pool[i][:14] for i in rng.sample(range(len(pool)), 150)]


# -- ours ----------------------------------------------------------------------------------------
def open_service(data_dir: Path) -> Any:
    from agent_app.knowledge.service import KnowledgeService
    from agent_app.settings import Settings

    return KnowledgeService(Settings(data_dir=data_dir, embedding_provider="offline"))


def bench_ingest(pages: int, tmp: Path) -> dict[str, float]:
    """Our full pipeline (parse worker → chunks → jieba → embeddings → SQLite + FAISS)."""
    from tests.kb_eval.pdfgen import make_pdf

    rng = random.Random(SEED)
    per_file = 100
    pdfs = [
        (f"bench{i}.pdf", make_pdf(page_texts(per_file, rng)))
        for i in range(max(1, pages // per_file))
    ]
    for name, data in pdfs:
        (tmp / name).write_bytes(data)
    service = open_service(tmp / "ours")
    service.add_files([("warm-a.txt", "预热".encode()), ("warm-b.txt", "预热二".encode())], "warm")
    started = time.perf_counter()
    results = service.add_files([tmp / name for name, _ in pdfs], "bench")
    elapsed = time.perf_counter() - started
    service.close()
    assert all(r.status == "ready" for r in results), [r.reason for r in results]
    megabytes = sum(len(d) for _, d in pdfs) / 2**20
    return {"pages_per_s": len(pdfs) * per_file / elapsed, "mb_per_s": megabytes / elapsed,
            "pages": len(pdfs) * per_file, "files": [str(tmp / n) for n, _ in pdfs]}  # fmt: skip


def build_ours(chunks: SyntheticChunks, tmp: Path) -> tuple[Any, float]:
    from agent_app.knowledge.chunking import Chunk

    service = open_service(tmp)
    started = time.perf_counter()
    cid = service.store.ensure_collection(service.user, "bench")
    service.vectors.prepare(chunks.vectors.shape[1], service.embedder.name)
    step = 100  # chunks per document
    for start in range(0, len(chunks.texts), 5000):
        with service.store.transaction() as conn:
            for doc_start in range(start, min(start + 5000, len(chunks.texts)), step):
                span = range(doc_start, min(doc_start + step, len(chunks.texts)))
                doc = {"name": f"doc{doc_start}.txt", "name_key": f"doc{doc_start}.txt", "status": "ready",
                       "content_hash": f"h{doc_start}", "chunk_count": len(span)}  # fmt: skip
                doc_id = service.store.insert_document(conn, cid, doc)
                rows = [
                    Chunk(n, chunks.texts[i], None, None, chunks.segs[i])
                    for n, i in enumerate(span)
                ]
                ids = service.store.insert_chunks(conn, cid, doc_id, rows)
                service.vectors.add(conn, ids, cid, chunks.vectors[span.start : span.stop])
            service.store.set_meta(conn, "embedder", service.embedder.name)
    service.search("预热", ["bench"], 5)  # opens the vector index
    service.vectors._index.wait_idle(600)  # let the IVF lists train: measure the steady state
    return service, time.perf_counter() - started


def latency_ms(search: Any, queries: list[str], repeat: int = 1) -> float:
    for query in queries[:5]:
        search(query)
    times = []
    for _ in range(repeat):
        for query in queries:
            started = time.perf_counter()
            search(query)
            times.append(1000 * (time.perf_counter() - started))
    return statistics.median(times)


# -- the LangChain baseline -----------------------------------------------------------------------
def have_rank_bm25() -> bool:
    try:
        import rank_bm25  # noqa: F401
    except ImportError:
        print(
            "rank_bm25 not installed: LangChain FAISS + BM25 baseline skipped (pip install rank_bm25)"
        )
        return False
    return True


class LangChainEnsemble:
    """FAISS vector store + BM25Retriever (jieba) in an EnsembleRetriever, as Langchain-Chatchat does."""

    def __init__(self, texts: list[str], vectors: np.ndarray, metadatas: list[dict[str, Any]] | None = None,
                 tokens: dict[str, list[str]] | None = None) -> None:  # fmt: skip
        import jieba
        from langchain_classic.retrievers import EnsembleRetriever
        from langchain_community.retrievers import BM25Retriever
        from langchain_community.vectorstores import FAISS

        from agent_app.providers.offline_embed import OfflineEmbedder

        cache = tokens or {}

        def tokenize(text: str) -> list[str]:
            return cache.get(text) or jieba.lcut_for_search(text)

        store = FAISS.from_embeddings(list(zip(texts, vectors.tolist(), strict=True)), OfflineEmbedder(),
                                      metadatas=metadatas)  # fmt: skip
        bm25 = BM25Retriever.from_texts(texts, metadatas=metadatas, preprocess_func=tokenize, k=5)
        self.retriever = EnsembleRetriever(
            retrievers=[bm25, store.as_retriever(search_kwargs={"k": 5})], weights=[0.5, 0.5]
        )

    def search(self, query: str, k: int = 5) -> list[dict[str, Any]]:
        docs = self.retriever.invoke(query)[:k]
        return [{"text": d.page_content, **d.metadata} for d in docs]


def baseline_ingest(files: list[str]) -> float:
    """PyPDFLoader → splitter → offline embeddings → FAISS + BM25 (single process): pages/s."""
    from langchain_community.document_loaders import PyPDFLoader

    from agent_app.knowledge.chunking import make_splitter
    from agent_app.providers.offline_embed import OfflineEmbedder

    started = time.perf_counter()
    pages = 0
    for path in files:
        docs = PyPDFLoader(path).load()
        pages += len(docs)
        chunks = make_splitter().split_documents(docs)
        texts = [c.page_content for c in chunks]
        LangChainEnsemble(texts, OfflineEmbedder().embed_array(texts))
    return pages / (time.perf_counter() - started)


def eval_recall(tmp: Path, with_baseline: bool) -> dict[str, float]:
    """recall@5 on the eval set: ours (hybrid) and the baseline on the very same chunks."""
    from agent_app.providers.offline_embed import OfflineEmbedder
    from benchmarks.eval_kb import DATA

    questions = load_questions()
    service = open_service(tmp)
    service.add_files(sorted(DATA.iterdir()), "eval")
    out = {"ours": evaluate(lambda q, k: service.search(q, ["eval"], k), questions)["recall@5"]}
    if with_baseline:
        rows = service.store.conn.execute(
            "SELECT c.text, c.heading, c.page, d.name FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id"
        ).fetchall()
        texts = [f"{h}\n{t}" if h else t for t, h, _, _ in rows]
        metas = [{"source": name, "page": page} for _, _, page, name in rows]
        baseline = LangChainEnsemble(texts, OfflineEmbedder().embed_array(texts), metas)
        out["baseline"] = evaluate(baseline.search, questions)["recall@5"]
    service.close()
    return out


# -- main ----------------------------------------------------------------------------------------
def bench_search(n: int, tmp: Path, with_baseline: bool) -> list[dict[str, Any]]:
    rng = random.Random(SEED + n)
    started = time.perf_counter()
    chunks = SyntheticChunks(n, rng)
    print(f"  {n} synthetic chunks composed in {time.perf_counter() - started:.1f} s", flush=True)
    service, build_s = build_ours(chunks, tmp / f"s{n}")
    queries = [q["question"] for q in load_questions()] + chunks.queries
    ours = latency_ms(
        lambda q: service.search(q, ["bench"], 5), queries, repeat=2 if n <= 10_000 else 1
    )
    print(f"  ours: built in {build_s:.1f} s, p50 {ours:.2f} ms", flush=True)
    service.close()
    base = None
    if with_baseline:
        started = time.perf_counter()
        tokens = dict(zip(chunks.texts, chunks.words, strict=True))
        baseline = LangChainEnsemble(chunks.texts, chunks.vectors, tokens=tokens)
        print(f"  baseline: built in {time.perf_counter() - started:.1f} s", flush=True)
        base = latency_ms(baseline.search, queries[:60] if n > 10_000 else queries)
        print(f"  baseline p50 {base:.2f} ms", flush=True)
    label = f"{n // 1000}k"
    return [row(f"kb.hybrid_search_p50_{label}_ms", ours, "ms", base)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="10000,100000", help="chunk counts for the search benchmark"
    )
    parser.add_argument("--pages", type=int, default=400, help="PDF pages for the ingest benchmark")
    args = parser.parse_args(argv)
    with_baseline = have_rank_bm25()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-kb-") as name:
        tmp = Path(name)
        print("ingest …", flush=True)
        ingest = bench_ingest(args.pages, tmp)
        base_rate = baseline_ingest(ingest["files"]) if with_baseline else None
        rows.append(row("kb.ingest_pdf_pages_per_s", ingest["pages_per_s"], "pages/s", base_rate))
        rows.append(row("kb.ingest_pdf_mb_per_s", ingest["mb_per_s"], "MB/s", None))
        print("recall on the eval set …", flush=True)
        recall = eval_recall(tmp / "eval", with_baseline)
        rows.append(row("kb.eval_recall_at_5", recall["ours"], "ratio", recall.get("baseline")))
        for size in (int(s) for s in args.sizes.split(",") if s):
            print(f"hybrid search over {size} chunks …", flush=True)
            rows.extend(bench_search(size, tmp, with_baseline))
    record(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
