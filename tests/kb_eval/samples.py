"""Write the sample documents of tests/corpus/kb (run: python -m tests.kb_eval.samples)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from tests.kb_eval import corpus_en, corpus_extra, corpus_more, corpus_zh
from tests.kb_eval.pdfgen import make_pdf

DEST = Path(__file__).resolve().parents[1] / "corpus" / "kb"


def make_docx(spec: list[tuple[int, str, list[str]]]) -> bytes:
    """A DOCX with real Heading styles (python-docx) from (level, heading, paragraphs)."""
    import docx

    document = docx.Document()
    for level, heading, paragraphs in spec:
        document.add_heading(heading, level=level)
        for para in paragraphs:
            document.add_paragraph(para)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def sample_files() -> dict[str, bytes]:
    """File name → bytes of every sample document (mixed types and text encodings)."""
    return {
        "退款与售后政策.pdf": make_pdf(corpus_zh.REFUND_PDF),
        "员工手册.docx": make_docx(corpus_zh.HANDBOOK_DOCX),
        "X3空气净化器说明书.md": corpus_zh.PURIFIER_MD.encode("utf-8"),
        "信息安全规范.txt": corpus_zh.SECURITY_TXT.encode("gbk"),
        "会议室预订规则.html": corpus_zh.MEETING_HTML.encode("utf-8"),
        "公司简介.txt": corpus_zh.PROFILE_UTF16.encode("utf-16"),  # with BOM
        "2024销售数据.csv": corpus_zh.SALES_CSV.encode("gb18030"),
        "travel_policy.pdf": make_pdf(corpus_en.TRAVEL_PDF),
        "remote_work.md": ("\ufeff" + corpus_en.REMOTE_MD).encode("utf-8"),  # UTF-8 with BOM
        "会员常见问题.md": corpus_more.FAQ_MD.encode("utf-8"),
        "产品价格表.csv": corpus_more.PRICE_CSV.encode("utf-8"),
        "IT运维手册.pdf": make_pdf(corpus_more.OPS_PDF),
        "cloudvault_faq.md": corpus_more.BACKUP_FAQ_MD.encode("utf-8"),
        "实验室安全手册.pdf": make_pdf(corpus_extra.LAB_PDF),
        "智能门锁常见问题.html": corpus_extra.LOCK_HTML.encode("utf-8"),
        "差旅费用标准.csv": corpus_extra.EXPENSE_CSV.encode("utf-8-sig"),
        "employee_handbook_en.docx": make_docx(corpus_extra.HANDBOOK_EN_DOCX),
    }


def write_samples(dest: Path = DEST) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in sample_files().items():
        path = dest / name
        path.write_bytes(data)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_samples(Path(sys.argv[1]) if len(sys.argv) > 1 else DEST):
        print(path)
