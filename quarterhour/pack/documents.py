"""Documents from one content model, two renderers: a self-contained HTML page and an A4 PDF.

A document is a list of ``Block``s (headings, paragraphs, key-value rows, a
PNG image, a table). ``html_document`` writes them as one page with the image
inlined as a data URI; ``pdf_document`` draws the same blocks on A4 pages with
matplotlib (fonts embedded as Type 3 subsets, so Chinese text stays text).

Text widths count a CJK character as two columns (``text_cols``): the one rule
behind wrapping paragraphs, sizing table columns and clipping cells. Titles and
headings are cut to ``TITLE_COLS`` (a unit's name may be of any length); tables
keep every name whole.

Examples
--------
>>> text_cols("覆盖率 %")
8
>>> wrap("一刻钟 walking coverage", 12)
['一刻钟', 'walking', 'coverage']
>>> clip("党群服务中心", 6)
'党群…'
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from quarterhour.i18n import t
from quarterhour.render.staticmap import TITLE_COLS, clip, drawing, text_cols

__all__ = ["A4_INCHES", "Block", "clip", "fmt", "html_document", "pdf_document", "text_cols", "wrap"]

A4_INCHES = (8.27, 11.69)
_STYLE = (
    "body{font-family:'Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei','PingFang SC',sans-serif;"
    "max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}"
    "table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem}"
    "th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}thead th{background:#eee}"
    "table.kv th{background:#f6f6f6;font-weight:normal}img{max-width:100%;border:1px solid #ddd}"
    "td{font-variant-numeric:tabular-nums}"
)


@dataclass
class Block:
    """One piece of a document.

    Parameters
    ----------
    kind
        ``"h1"``, ``"h2"``, ``"p"``, ``"kv"`` (key-value rows), ``"image"`` (PNG bytes) or ``"table"``.
    text
        The heading's or paragraph's text; an image's alternative text.
    rows
        Key-value rows (``kv``).
    image
        PNG bytes (``image``).
    table
        The table (``table``), its column names as the header.
    full_in
        The file beside the document that holds the whole table: the PDF prints the first
        ``PDF_TABLE_ROWS`` rows of a longer table and says where the rest is (the HTML shows all).
    """

    kind: str
    text: str = ""
    rows: Sequence[tuple[str, str]] = ()
    image: bytes = b""
    table: pd.DataFrame | None = None
    full_in: str = ""


def fmt(value: Any) -> str:
    """A cell's value as readers see it: thousands separated, one decimal at most, ✓ for True, blank for none.

    Examples
    --------
    >>> fmt(38245.0), fmt(99.68), fmt(True), fmt(float("nan"))
    ('38,245', '99.7', '✓', '')
    """
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return "✓" if value else ""
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 1e6 else f"{value:,.1f}"
    return str(value)


def wrap(text: str, n: int) -> list[str]:
    """Lines of at most ``n`` columns (see ``text_cols``); Latin text breaks at a space, not inside a word."""
    lines, line, cols = [], "", 0
    for ch in str(text):
        w = text_cols(ch)
        if ch == "\n" or cols + w > n:
            cut = line.rfind(" ")
            if ch != "\n" and ch.isascii() and ch != " " and cut > len(line) - 16 and cut > 0:
                lines.append(line[:cut])
                line = line[cut + 1 :]
                cols = text_cols(line)
            else:
                lines.append(line)
                line, cols = "", 0
            if ch == "\n":
                continue
        line += ch
        cols += w
    return [*lines, line] if line or not lines else lines


def html_document(blocks: Sequence[Block], title: str, lang: str) -> str:
    """The blocks as one self-contained HTML page (every text escaped, the image inlined).

    Parameters
    ----------
    blocks
        The content, in order.
    title
        The page's title.
    lang
        ``"zh"`` or ``"en"``: the page's language attribute.
    """
    out = []
    for b in blocks:
        if b.kind in ("h1", "h2", "p"):
            text = b.text if b.kind == "p" else clip(b.text, TITLE_COLS)  # headings cut, paragraphs whole
            out.append(f"<{b.kind}>{html.escape(text)}</{b.kind}>")
        elif b.kind == "kv":
            cells = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in b.rows)
            out.append(f'<table class="kv">{cells}</table>')
        elif b.kind == "image":
            data = base64.b64encode(b.image).decode()
            out.append(f'<img alt="{html.escape(b.text)}" src="data:image/png;base64,{data}">')
        elif b.kind == "table" and b.table is not None:
            head = "".join(f"<th>{html.escape(str(c))}</th>" for c in b.table.columns)
            body = "".join(
                "<tr>" + "".join(f"<td>{html.escape(fmt(v))}</td>" for v in row) + "</tr>"
                for row in b.table.itertuples(index=False)
            )
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return (
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(clip(title, TITLE_COLS))}</title><style>{_STYLE}</style></head>\n<body>\n"
        + "\n".join(out)
        + "\n</body></html>\n"
    )


#: Rows of a table printed in a PDF (a district's thousand gap zones would fill 30 pages; the spreadsheet has all).
PDF_TABLE_ROWS = 40


class _Pages:
    """A4 figures filled top down: ``room(h)`` gives the page with ``h`` of height left, starting one if needed."""

    top, bottom, left, width = 0.95, 0.05, 0.07, 0.86

    def __init__(self, pdf: PdfPages, title: str, lang: str) -> None:
        self.pdf, self.title, self.lang = pdf, clip(title, TITLE_COLS), lang
        self.figures: list[Figure] = []
        self.y = 0.0

    def new_page(self) -> Figure:
        if self.figures:
            self.pdf.savefig(self.figures[-1])
        fig = Figure(figsize=A4_INCHES)
        self.figures.append(fig)
        self.y = self.top
        fig.text(0.5, 0.02, f"{self.title} · {len(self.figures)}", ha="center", fontsize=7, color="#777777")
        return fig

    def room(self, h: float) -> Figure:
        if not self.figures or self.y - h < self.bottom:
            return self.new_page()
        return self.figures[-1]

    def close(self) -> None:
        if self.figures:
            self.pdf.savefig(self.figures[-1])


def pdf_document(blocks: Sequence[Block], title: str, lang: str) -> bytes:
    """The same blocks on A4 pages, as PDF bytes (drawn in ``lang``'s font; see ``staticmap.drawing``).

    Parameters
    ----------
    blocks
        The content, in order.
    title
        The document's title, also in each page's footer with the page number.
    lang
        ``"zh"`` or ``"en"``.
    """
    buf = io.BytesIO()
    with drawing(lang), PdfPages(buf, metadata={"Title": clip(title, TITLE_COLS), "Creator": "quarterhour"}) as pdf:
        pages = _Pages(pdf, title, lang)
        for b in blocks:
            _DRAW.get(b.kind, _skip)(pages, b)
        pages.close()
    return buf.getvalue()


def _heading(pages: _Pages, b: Block) -> None:
    fig = pages.room(0.06)
    text = clip(b.text, 64 if b.kind == "h1" else 84)  # one line across the page
    fig.text(pages.left, pages.y, text, fontsize=16 if b.kind == "h1" else 12, fontweight="bold", va="top")
    pages.y -= 0.035 if b.kind == "h1" else 0.03


def _paragraph(pages: _Pages, b: Block) -> None:
    lines = wrap(b.text, 95)
    fig = pages.room(0.016 * len(lines) + 0.01)
    for line in lines:
        fig.text(pages.left, pages.y, line, fontsize=8.5, va="top")
        pages.y -= 0.016
    pages.y -= 0.008


def _key_values(pages: _Pages, b: Block) -> None:
    for k, v in b.rows:
        klines, vlines = wrap(k, 44), wrap(v, 62)
        fig = pages.room(0.016 * max(len(klines), len(vlines)))
        y = pages.y
        for i, line in enumerate(klines):
            fig.text(pages.left, y - 0.016 * i, line, fontsize=8.5, va="top", color="#444444")
        for i, line in enumerate(vlines):
            fig.text(pages.left + 0.36, y - 0.016 * i, line, fontsize=8.5, va="top")
        pages.y -= 0.016 * max(len(klines), len(vlines))
    pages.y -= 0.01


def _image(pages: _Pages, b: Block) -> None:
    import matplotlib.image as mpimg

    img = mpimg.imread(io.BytesIO(b.image), format="png")
    h = pages.width * img.shape[0] / img.shape[1] * A4_INCHES[0] / A4_INCHES[1]
    fig = pages.room(h + 0.01)
    ax = fig.add_axes((pages.left, pages.y - h, pages.width, h))
    ax.imshow(img, interpolation="antialiased")
    ax.set_axis_off()
    pages.y -= h + 0.015


def _table(pages: _Pages, b: Block) -> None:
    if b.table is None:
        return
    cells = [[fmt(v) for v in row] for row in b.table.head(PDF_TABLE_ROWS).itertuples(index=False)]
    heads = [str(c) for c in b.table.columns]
    need = [max([min(text_cols(h), 24), *(min(text_cols(r[i]), 40) for r in cells)]) + 2 for i, h in enumerate(heads)]
    total = sum(need)
    left, width = pages.left, pages.width
    xs = np.concatenate([[0], np.cumsum(need)]) / total * width + left
    size = 8 if total <= 110 else max(5.5, 8 * 110 / total)
    row_h = 0.0165 * size / 8 + 0.002

    def header(fig: Figure) -> None:
        fig.patches.append(Rectangle((left, pages.y - row_h), width, row_h, transform=fig.transFigure, color="#e8e8e8"))
        for x, h, n in zip(xs, heads, need, strict=False):
            fig.text(x + 0.003, pages.y - row_h / 2, clip(h, n), fontsize=size, va="center", fontweight="bold")
        pages.y -= row_h

    fig = pages.room(2 * row_h)
    header(fig)
    for r in cells:
        before = fig
        fig = pages.room(row_h)
        if fig is not before:
            header(fig)
        for x, v, n in zip(xs, r, need, strict=False):
            fig.text(x + 0.003, pages.y - row_h / 2, clip(v, n), fontsize=size, va="center")
        pages.y -= row_h
    if len(b.table) > PDF_TABLE_ROWS:
        more = len(b.table) - PDF_TABLE_ROWS
        _paragraph(pages, Block("p", t("pdf_more_rows", pages.lang, n=more, file=b.full_in or "xlsx")))
    pages.y -= 0.015


def _skip(pages: _Pages, b: Block) -> None:
    return None


_DRAW: dict[str, Callable[[_Pages, Block], None]] = {
    "h1": _heading,
    "h2": _heading,
    "p": _paragraph,
    "kv": _key_values,
    "image": _image,
    "table": _table,
}
