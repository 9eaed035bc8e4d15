"""The annexes' line markup, rendered to an editable .docx (python-docx) or to HTML (for the PDF).

A template renders to lines: ``# `` title, ``## `` section, ``- `` bullet, ``| a | b |`` table
rows (the first row of a table is its header), ``> `` a note in small print; other lines make
paragraphs, a blank line ending one. So the French text lives in the template, not in code.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field

#: The date stamped in the documents' zip entries and properties, so that same input gives same bytes.
FIXED_ZIP_DATE = (2020, 1, 1, 0, 0, 0)
#: Paragraph style ids (python-docx's default template) of the blocks.
PARAGRAPH_STYLES = {"title": "Title", "section": "Heading1", "bullet": "ListBullet"}
#: The body's section properties (page size, margins), kept when a body is emptied.
SECTION_TAG = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}sectPr"


@dataclass
class Block:
    """One block: ``kind`` is title, section, paragraph, bullet, note or table."""

    kind: str
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)


def parse(text: str) -> list[Block]:
    """The blocks of a rendered template."""
    blocks: list[Block] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            blocks.append(Block("paragraph", " ".join(para)))
            para.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("|") and line.endswith("|") and len(line) > 1:
            flush()
            cells = [c.strip() for c in line[1:-1].split("|")]
            if blocks and blocks[-1].kind == "table":
                blocks[-1].rows.append(cells)
            else:
                blocks.append(Block("table", rows=[cells]))
            continue
        kinds = (("## ", "section"), ("# ", "title"), ("- ", "bullet"), ("> ", "note"))
        kind = next(((k, n) for k, n in kinds if line.startswith(k)), None)
        if kind is not None:
            flush()
            blocks.append(Block(kind[1], line[len(kind[0]):].strip()))
        elif line:
            para.append(line)
        else:
            flush()
    flush()
    return blocks


def normalize_zip(data: bytes) -> bytes:
    """The same zip with every entry dated ``FIXED_ZIP_DATE``, in the same order."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, FIXED_ZIP_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, source.read(info.filename))
    return out.getvalue()


class DocxWriter:
    """Editable Word documents (styles of python-docx's default template), one after the other
    from one parsed template: each :meth:`render` empties the body and fills it again."""

    def __init__(self, *, title: str, year: int):
        import datetime

        from docx import Document
        from docx.shared import Pt

        self.doc = doc = Document()
        props = doc.core_properties
        props.title, props.author, props.language = title, "fluxopt", "fr-FR"
        props.created = props.modified = datetime.datetime(year, 1, 1)
        props.last_modified_by, props.revision = "fluxopt", 1
        normal = doc.styles["Normal"]
        normal.font.name, normal.font.size = "Calibri", Pt(10)
        self.small = Pt(8)

    def render(self, blocks: list[Block]) -> bytes:
        """The document of ``blocks``, as the bytes of a .docx."""
        doc = self.doc
        body = doc.element.body
        for child in list(body):
            if child.tag != SECTION_TAG:
                body.remove(child)
        # Styles are set by their ids in python-docx's default template: looking them up by name
        # scans the style sheet at every paragraph (most of the time of an annex).
        for block in blocks:
            if block.kind == "table":
                width = max(len(r) for r in block.rows)
                table = doc.add_table(rows=len(block.rows), cols=width)
                table._tbl.tblStyle_val = "LightGrid-Accent1"
                # Each new cell holds one empty paragraph: a run is added to it through the XML
                # (python-docx's cell.text clears and rebuilds the cell, and row.cells recomputes the grid).
                for tr, cells in zip(table._tbl.tr_lst, block.rows):
                    for tc, text in zip(tr.tc_lst, cells):
                        tc.p_lst[0].add_r().text = text
                continue
            paragraph = doc.add_paragraph()
            style = PARAGRAPH_STYLES.get(block.kind)
            if style is not None:
                paragraph._p.style = style
            run = paragraph.add_run(block.text)
            if block.kind == "note":
                run.italic, run.font.size = True, self.small
        buf = io.BytesIO()
        doc.save(buf)
        return normalize_zip(buf.getvalue())

