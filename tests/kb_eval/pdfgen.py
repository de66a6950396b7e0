"""Minimal PDF writer with a real text layer for CJK and Latin text (no fonts needed offline)."""

from __future__ import annotations

import textwrap
import zlib

# STSong-Light with UniGB-UCS2-H is one of the standard Acrobat CJK fonts: viewers supply the
# glyphs, so nothing is embedded; the ToUnicode map makes the text layer extractable.
_FONT = (
    b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
    b"/DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>"
)
_CIDFONT = (
    b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
    b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> "
    b"/FontDescriptor %d 0 R /DW 1000 >>"
)
_DESCRIPTOR = (
    b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] "
    b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>"
)


def _to_unicode_cmap(chars: set[str]) -> bytes:
    """A subset ToUnicode map (bfchar per used character), as real PDF writers emit."""
    codes = sorted(ord(ch) for ch in chars if ord(ch) <= 0xFFFF)
    blocks = []
    for start in range(0, len(codes), 100):
        part = codes[start : start + 100]
        pairs = "\n".join(f"<{c:04X}> <{c:04X}>" for c in part)
        blocks.append(f"{len(part)} beginbfchar\n{pairs}\nendbfchar")
    body = (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        + "\n".join(blocks)
        + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    )
    return body.encode("ascii")


def _hex(text: str) -> str:
    return "".join(f"{ord(ch):04X}" for ch in text if ord(ch) <= 0xFFFF)


def _content(lines: list[str], size: int = 11) -> bytes:
    out = []
    y = 800
    for line in lines:
        if y < 40:
            break
        out.append(f"BT /F1 {size} Tf 40 {y} Td <{_hex(line)}> Tj ET")
        y -= int(size * 1.6)
    return "\n".join(out).encode("ascii")


def wrap(text: str, width: int = 44) -> list[str]:
    """Split paragraphs into display lines: CJK by character count, Latin text at spaces."""
    lines: list[str] = []
    for para in text.split("\n"):
        if not para:
            lines.append("")
        elif para.isascii():
            lines.extend(textwrap.wrap(para, width * 2) or [""])
        else:
            lines.extend(para[i : i + width] for i in range(0, len(para), width))
    return lines


def make_pdf(pages: list[str], *, compress: bool = True) -> bytes:
    """A PDF whose page i shows pages[i] (newlines and long lines wrapped)."""
    objs: dict[int, bytes] = {}
    font, cid, desc, cmap = 3, 4, 5, 6
    objs[font] = _FONT % (cid, cmap)
    objs[cid] = _CIDFONT % desc
    objs[desc] = _DESCRIPTOR
    objs[cmap] = _stream(_to_unicode_cmap(set("".join(pages))), compress)
    kids = []
    next_id = 7
    for text in pages:
        content_id, page_id = next_id, next_id + 1
        next_id += 2
        objs[content_id] = _stream(_content(wrap(text)), compress)
        objs[page_id] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>" % (font, content_id)
        )
        kids.append(page_id)
    objs[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    kid_refs = b" ".join(b"%d 0 R" % k for k in kids)
    objs[2] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kid_refs, len(kids))
    return serialize(objs)


def _stream(data: bytes, compress: bool) -> bytes:
    if compress:
        data = zlib.compress(data)
        return b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(data), data)
    return b"<< /Length %d >>\nstream\n%s\nendstream" % (len(data), data)


def serialize(objs: dict[int, bytes]) -> bytes:
    """Write numbered objects with a valid xref table; object 1 is the catalog."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for num in sorted(objs):
        offsets[num] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (num, objs[num])
    size = max(objs) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for num in range(1, size):
        out += b"%010d 00000 n \n" % offsets[num] if num in offsets else b"0000000000 65535 f \n"
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)
