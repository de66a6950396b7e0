"""OCR ingest: a scanned PDF read page by page into the knowledge base, against the bare model calls.

Ours: `KnowledgeService.add_files` on a PDF of page pictures (no text layer) with an OCR model
configured — the parse worker renders each page, the real ChatQwen client sends it to the DashScope
fake on loopback, the text is chunked, embedded and indexed. Baseline, in the same run: the same
client sending the same page pictures to the same fake, and nothing else.
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import record, row  # noqa: E402

PAGE_TEXT = "第{n}页：退款政策规定，收货后七天内可以无理由退货，运费由买家承担。"


def _scan(pages: int, seed: int) -> tuple[bytes, list[bytes]]:
    """A PDF of page pictures only, and the pictures themselves (PNG); `seed` makes it a new file."""
    from PIL import Image, ImageDraw

    pictures = []
    for n in range(pages):
        img = Image.new("RGB", (620, 877), (255, 255, 255))
        draw = ImageDraw.Draw(img)
        for y in range(60, 800, 28):  # lines of "text" so the page compresses like a scan
            draw.rectangle((50, y, 50 + (y * 13 + n * 31 + seed) % 500, y + 12), fill=(30, 30, 30))
        pictures.append(img)
    pdf = io.BytesIO()
    pictures[0].save(pdf, "PDF", save_all=True, append_images=pictures[1:])
    pngs = []
    for img in pictures:
        out = io.BytesIO()
        img.save(out, "PNG")
        pngs.append(out.getvalue())
    return pdf.getvalue(), pngs


def bench_ocr(pages: int, rounds: int) -> list[dict[str, object]]:
    from langchain_core.messages import HumanMessage

    from agent_app.images import prepare_image
    from agent_app.knowledge.service import KnowledgeService
    from agent_app.providers.chat import make_chat_model
    from agent_app.providers.choice import ModelChoice
    from agent_app.settings import Settings
    from tests.fakes import FakeDashScope, text

    ours, bare = [], []
    with FakeDashScope() as fake, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            provider="dashscope",
            dashscope_api_key="sk-bench",
            dashscope_api_base=fake.base_url,
            embedding_provider="offline",
            ocr_model="qwen-vl-ocr-latest",
            ocr_max_pages=pages,
            _env_file=None,
        )
        kb = KnowledgeService(settings, user="bench")
        client = make_chat_model(settings, ModelChoice("dashscope", "qwen-vl-ocr-latest"))
        try:
            for r in range(rounds):  # alternated, so both see the same machine
                pdf, pngs = _scan(pages, seed=r)  # a new file each round (the KB skips a twin)
                fake.push(*[text(PAGE_TEXT.format(n=n)) for n in range(pages)])
                t0 = time.perf_counter()
                [res] = kb.add_files([(f"scan-{r}.pdf", pdf)], "scans")
                ours.append(time.perf_counter() - t0)
                assert res.status == "ready" and res.pages == pages, res
                fake.push(*[text(PAGE_TEXT.format(n=n)) for n in range(pages)])
                t0 = time.perf_counter()
                for png in pngs:
                    url = prepare_image(png, max_bytes=len(png) + 1).data_url()
                    msg = HumanMessage(
                        content=[
                            {"type": "text", "text": "Read the page."},
                            {"type": "image_url", "image_url": {"url": url}},
                        ]
                    )
                    client.invoke([msg])
                bare.append(time.perf_counter() - t0)
        finally:
            kb.close()
    ours_rate, bare_rate = pages / min(ours), pages / min(bare)
    print(f"OCR ingest: ours {ours_rate:.1f} pages/s, bare model calls {bare_rate:.1f} pages/s")
    # Ratio of times (ours / bare): above 1 is what rendering, chunking and indexing add.
    return [row("kb.ocr_ingest_s_per_page", 1 / ours_rate, "s", 1 / bare_rate)]


def main() -> None:
    quick = "--quick" in sys.argv
    record(bench_ocr(pages=4 if quick else 12, rounds=2 if quick else 4))


if __name__ == "__main__":
    main()
