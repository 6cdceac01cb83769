"""Generators for test documents: PDFs (reportlab), images (Pillow), CSV, XLSX, DOCX.

Plain functions that write a file and return its path, so tests build exactly what they check.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/Library/Fonts/Arial.ttf",
)


def font_path() -> str | None:
    """A TrueType font on this machine (DejaVu Sans preferred), or None."""
    for candidate in FONT_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    if shutil.which("fc-match"):
        out = subprocess.run(["fc-match", "-f", "%{file}", "sans"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.endswith((".ttf", ".otf")):
            return out.stdout
    return None


def pil_font(size: int):
    from PIL import ImageFont

    path = font_path()
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size=size)


# ------------------------------------------------------------------------------------------- PDFs

def make_text_pdf(path: Path, pages: list[list[str]], headings: dict[int, str] | None = None) -> Path:
    """A PDF with one list of paragraphs per page; ``headings`` maps page index → heading text."""
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer

    styles = getSampleStyleSheet()
    story = []
    for i, paragraphs in enumerate(pages):
        if i:
            story.append(PageBreak())
        if headings and i in headings:
            story.append(Paragraph(headings[i], styles["Heading1"]))
        for text in paragraphs:
            story.append(Paragraph(text, styles["BodyText"]))
            story.append(Spacer(1, 8))
    SimpleDocTemplate(str(path), pagesize=letter).build(story)
    return path


def make_encrypted_pdf(path: Path, user_password: str, owner_password: str = "owner") -> Path:
    """A one-page text PDF encrypted with pypdf (empty ``user_password`` = opens without one)."""
    from pypdf import PdfReader, PdfWriter

    plain = make_text_pdf(path.with_suffix(".plain.pdf"), [["Secret quarterly numbers are inside."]])
    writer = PdfWriter()
    for page in PdfReader(plain).pages:
        writer.add_page(page)
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="AES-128")
    with open(path, "wb") as fh:
        writer.write(fh)
    plain.unlink()
    return path


def make_text_png(path: Path, lines: list[str], size: int = 32, width: int | None = None,
                  origin: tuple[int, int] = (30, 30), line_gap: float = 1.6) -> Path:
    """A white PNG with ``lines`` of black text, one under the other."""
    from PIL import Image, ImageDraw

    font = pil_font(size)
    width = width or max(int(font.getlength(line)) for line in lines) + 2 * origin[0]
    height = origin[1] * 2 + int(len(lines) * size * line_gap)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((origin[0], origin[1] + int(i * size * line_gap)), line, fill="black", font=font)
    image.save(path)
    return path


SCAN_PAGE = (432.0, 216.0)  # a small page (6 x 3 in) keeps OCR in tests fast


def _draw_scan(c, lines: list[str], png: Path) -> None:
    from PIL import Image

    w, h = SCAN_PAGE
    with Image.open(png) as im:
        ratio = im.height / im.width
    img_w = min(w - 36, (h - 36) / ratio)
    c.drawImage(str(png), 18, h - 18 - img_w * ratio, width=img_w, height=img_w * ratio)


def make_image_only_pdf(path: Path, lines: list[str]) -> Path:
    """A scanned-looking PDF: one small page that is only an image of ``lines`` (no text layer)."""
    from reportlab.pdfgen import canvas

    png = make_text_png(path.with_suffix(".png"), lines, size=40)
    c = canvas.Canvas(str(path), pagesize=SCAN_PAGE)
    _draw_scan(c, lines, png)
    c.showPage()
    c.save()
    png.unlink()
    return path


def make_mixed_pdf(path: Path, text: str, scan_lines: list[str]) -> Path:
    """Page 1 has a text layer with ``text``; page 2 is only an image of ``scan_lines``."""
    from reportlab.pdfgen import canvas

    png = make_text_png(path.with_suffix(".png"), scan_lines, size=40)
    c = canvas.Canvas(str(path), pagesize=SCAN_PAGE)
    c.setFont("Helvetica", 12)
    c.drawString(36, SCAN_PAGE[1] - 48, text)
    c.showPage()
    _draw_scan(c, scan_lines, png)
    c.showPage()
    c.save()
    png.unlink()
    return path


def make_table_pdf(path: Path, ruled: bool = True, intro: str = "", outro: str = "") -> Path:
    """A page with a paragraph, a 4-column table of numbers (ruled or not) and another paragraph."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    rows = TABLE_ROWS
    table = Table(rows, colWidths=[120, 80, 80, 80])
    style = [("ALIGN", (1, 0), (-1, -1), "RIGHT")]
    if ruled:
        style.append(("GRID", (0, 0), (-1, -1), 0.5, colors.black))
    table.setStyle(TableStyle(style))
    story = [
        Paragraph(intro or "Revenue by region is shown in the table below for three years.", styles["BodyText"]),
        Spacer(1, 12),
        table,
        Spacer(1, 12),
        Paragraph(outro or "All numbers are in millions of euros and unaudited.", styles["BodyText"]),
    ]
    SimpleDocTemplate(str(path), pagesize=letter).build(story)
    return path


TABLE_ROWS = [
    ["Region", "2021", "2022", "2023"],
    ["North", "1,204", "1,350", "1,498"],
    ["South", "987", "1,012", "1,101"],
    ["East", "455", "502", "560"],
    ["West", "2,310", "2,405", "2,611"],
    ["Total", "4,956", "5,269", "5,770"],
]


# ------------------------------------------------------------------------------- office and data

def make_csv(path: Path, rows: list[list[str]], delimiter: str = ",") -> Path:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


def make_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    """A workbook with one sheet per entry (rows of values, ``None`` for empty cells)."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def make_docx(path: Path, items: list[tuple[str, object]]) -> Path:
    """A .docx from items: ("h1"|"h2", text), ("p", text), ("table", rows)."""
    import docx

    document = docx.Document()
    for kind, value in items:
        if kind.startswith("h") and kind[1:].isdigit():
            document.add_heading(str(value), level=int(kind[1:]))
        elif kind == "p":
            document.add_paragraph(str(value))
        elif kind == "table":
            rows = value  # type: ignore[assignment]
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            table.style = "Table Grid"
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = str(cell)
        else:
            raise ValueError(kind)
    document.save(path)
    return path
