"""Scanned pages and images in the knowledge base: read by a vision/OCR model, page by page.

Only when `AGENT_APP_OCR_MODEL` names one (Qwen-VL-OCR on DashScope, a vision model on Ollama…);
without it such files are refused as having no text. Each page costs a model call, so a document
with more scanned pages than `AGENT_APP_OCR_MAX_PAGES` waits for the user's confirmation
(`OcrConfirmNeeded`) before the first call.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import Any

from agent_app.knowledge.errors import DocumentError
from agent_app.textsafe import clean_text

log = logging.getLogger(__name__)
PROMPT = (
    "Transcribe all the text in this image exactly, in reading order, keeping its language. "
    "Output only the text; no commentary."
)
ReadPage = Callable[[bytes], str]
"""A page picture's bytes → its text."""


class OcrConfirmNeeded(DocumentError):
    """More scanned pages than the per-document limit: nothing is read until the user confirms."""

    def __init__(self, pages: int, limit: int) -> None:
        super().__init__("ocr_confirm", pages=pages, limit=limit)
        self.pages, self.limit = pages, limit


def model_reader(settings: Any) -> ReadPage | None:
    """A reader over the configured OCR model, or None when there is none (built lazily)."""
    spec = str(getattr(settings, "ocr_model", "") or "")
    if not spec:
        return None
    state: dict[str, Any] = {}

    def read(picture: bytes) -> str:
        from langchain_core.messages import HumanMessage

        from agent_app.images import prepare_image

        if "model" not in state:
            state["model"] = _model(settings, spec)
        image = prepare_image(picture, max_bytes=len(picture) + 1)
        message = HumanMessage(
            content=[
                {"type": "text", "text": PROMPT},
                {"type": "image_url", "image_url": {"url": image.data_url()}},
            ]
        )
        return str(state["model"].invoke([message]).text)

    return read


def _model(settings: Any, spec: str) -> Any:
    from agent_app.providers.chat import make_chat_model
    from agent_app.providers.choice import ModelChoice, parse_model_spec

    default = "dashscope" if getattr(settings, "dashscope_api_key", None) else "ollama"
    provider, model = parse_model_spec(spec, default)
    return make_chat_model(settings, ModelChoice(provider, model, temperature=0.0))


def read_scans(
    read: ReadPage | None,
    scans: list[dict[str, Any]],
    max_pages: int | None,
    on_page: Callable[[int, int], None],
) -> list[dict[str, Any]]:
    """Sections {"text", "page", "heading"} for the scanned pages; DocumentError if refused.

    `max_pages` None: the user confirmed reading every page.
    """
    if read is None:
        raise DocumentError("no_text")
    if max_pages is not None and len(scans) > max_pages:
        raise OcrConfirmNeeded(len(scans), max_pages)
    sections = []
    for done, scan in enumerate(scans):
        on_page(done, len(scans))
        try:
            text = read(base64.b64decode(scan["image"]))
        except DocumentError:
            raise
        except Exception as exc:  # the model failed: nothing of the document is indexed
            log.warning("OCR of page %s failed: %s", scan.get("page"), type(exc).__name__)
            raise DocumentError("ocr_failed") from None
        text = clean_text(text).strip()
        if text:
            sections.append({"text": text, "page": scan.get("page"), "heading": None})
    on_page(len(scans), len(scans))
    return sections
