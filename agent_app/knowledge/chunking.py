"""Chinese-aware chunking: sentence ends first, headings as context, pages kept, hidden text out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent_app.knowledge.errors import DocumentError
from agent_app.textsafe import normalize_for_index, strip_invisible

if TYPE_CHECKING:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", "!", "?", ";", "，", ",", " ", ""]
CHUNK_SIZE = 360
CHUNK_OVERLAP = 60
MAX_CHUNKS = 5_000
MAX_HEADING = 200


@dataclass(frozen=True)
class Chunk:
    """One retrievable passage; `index_text` (heading + body, normalized) is what gets searched."""

    ordinal: int
    text: str
    page: int | None
    heading: str | None
    seg: str | None = None
    """jieba-segmented index text, when already computed (by the parse worker)."""

    @property
    def index_text(self) -> str:
        """The text that is embedded and indexed: heading path and body, normalized."""
        return normalize_for_index(f"{self.heading}\n{self.text}" if self.heading else self.text)


def make_splitter(
    size: int = CHUNK_SIZE, overlap: int = CHUNK_OVERLAP
) -> RecursiveCharacterTextSplitter:
    """Separators from paragraph down to character; punctuation stays with its sentence."""
    # Imported here: the splitter costs about half a second, and only adding a document needs it.
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(
        separators=SEPARATORS,
        chunk_size=size,
        chunk_overlap=overlap,
        keep_separator="end",
        strip_whitespace=True,
    )


def chunk_sections(
    sections: list[dict[str, Any]],
    *,
    size: int = CHUNK_SIZE,
    overlap: int = CHUNK_OVERLAP,
    max_chunks: int = MAX_CHUNKS,
) -> list[Chunk]:
    """Split parsed sections into chunks; refuse documents over the chunk budget."""
    total = sum(len(s.get("text") or "") for s in sections)
    if total / max(1, size - overlap) > max_chunks * 1.5:
        raise DocumentError("too_many_chunks", limit=max_chunks)  # refuse before doing the work
    splitter = make_splitter(size, overlap)
    chunks: list[Chunk] = []
    for section in sections:
        body = strip_invisible(section.get("text") or "")
        heading = _clean_heading(section.get("heading"))
        page = section.get("page")
        for piece in splitter.split_text(body):
            if not piece.strip():
                continue
            chunks.append(
                Chunk(len(chunks), piece, page if isinstance(page, int) else None, heading)
            )
            if len(chunks) > max_chunks:
                raise DocumentError("too_many_chunks", limit=max_chunks)
    if not chunks:
        raise DocumentError("no_text")
    return chunks


def _clean_heading(heading: object) -> str | None:
    if not heading:
        return None
    text = " ".join(strip_invisible(str(heading)).split())
    return text[:MAX_HEADING] or None
