"""Images in a turn: a turn with a photo (checked, re-encoded, sent as a data URL) against a text turn.

Both go through the real ChatService and ChatQwen to the DashScope fake on loopback, alternated
in one run, each on a fresh conversation; the image turn goes to the configured vision model.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import p50, record, row  # noqa: E402


def _photo(width: int = 1600, height: int = 1200) -> bytes:
    """A camera-sized JPEG that compresses like a photo does (noise), with EXIF to strip."""
    from PIL import Image as PILImage

    img = PILImage.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    exif = PILImage.Exif()
    exif[0x0112] = 1
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


def _screenshot(width: int = 1280, height: int = 800) -> bytes:
    """A screen capture: flat colours and text-like stripes, as PNG (compresses well)."""
    from PIL import Image as PILImage
    from PIL import ImageDraw

    img = PILImage.new("RGB", (width, height), (250, 250, 250))
    draw = ImageDraw.Draw(img)
    for y in range(20, height, 24):
        draw.rectangle((40, y, 40 + (y * 7) % (width - 80), y + 10), fill=(40, 40, 40))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def _turn(svc, user: str, text: str, raw: bytes | None) -> float:
    t0 = time.perf_counter()
    info = svc.new_thread(user)
    images = svc.prepare_images(info, [raw]) if raw else []
    kinds = [e.type for e in svc.stream(info.id, text, user_id=user, images=images)]
    assert kinds[-1] == "done", kinds
    return (time.perf_counter() - t0) * 1000


def bench_image_turn(turns: int) -> list[dict[str, object]]:
    from agent_app.images import prepare_image
    from agent_app.settings import Settings
    from agent_app.wiring import open_service
    from tests.fakes import FakeDashScope

    photo, screen = _photo(), _screenshot()
    with FakeDashScope() as fake, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            provider="dashscope",
            model="qwen-plus",
            vision_model="qwen-vl-max",
            dashscope_api_key="sk-bench",
            dashscope_api_base=fake.base_url,
            memory_extract=False,
            title_model=False,
            _env_file=None,
        )
        svc = open_service(settings, tools=[])
        _turn(svc, "u", "warm up", None), _turn(svc, "u", "warm up", photo)
        text_ms, image_ms, screen_ms, prepare_ms = [], [], [], []
        for i in range(turns):
            text_ms.append(_turn(svc, "u", f"what is {i}?", None))
            image_ms.append(_turn(svc, "u", f"what is {i}?", photo))
            screen_ms.append(_turn(svc, "u", f"what is {i}?", screen))
            t0 = time.perf_counter()
            prepare_image(photo, max_bytes=10_000_000)
            prepare_ms.append((time.perf_counter() - t0) * 1000)
        svc.close()
    text_p50 = p50(text_ms)
    return [
        row("media.image_turn_ms", p50(image_ms), "ms", text_p50),
        row("media.screenshot_turn_ms", p50(screen_ms), "ms", text_p50),
        row("media.image_prepare_ms", p50(prepare_ms), "ms", text_p50),
    ]


def main() -> None:
    quick = "--quick" in sys.argv
    record(bench_image_turn(5 if quick else 20))


if __name__ == "__main__":
    main()
