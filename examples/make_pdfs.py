"""Generate the example PDFs in examples/docs with reportlab (run once; the PDFs are committed)."""
from __future__ import annotations

from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

HERE = Path(__file__).parent / "docs"


def security_policy(path: Path) -> None:
    styles = getSampleStyleSheet()
    story = [
        Paragraph("Larkspur Security Policy", styles["Title"]),
        Paragraph("1. Reporting a vulnerability", styles["Heading2"]),
        Paragraph(
            "Report vulnerabilities by e-mail to security@larkspur.example. Do not open a public issue. "
            "We acknowledge reports within two business days and aim to release a fix within 30 days.",
            styles["BodyText"],
        ),
        Paragraph("2. Supported versions", styles["Heading2"]),
        Paragraph(
            "Security fixes are provided for the two most recent minor releases. Version 3.2 receives fixes "
            "until March 2027; version 3.1 until December 2026. Older versions receive no fixes.",
            styles["BodyText"],
        ),
        PageBreak(),
        Paragraph("3. Encryption", styles["Heading2"]),
        Paragraph(
            "All traffic between devices and the server uses TLS 1.3 with mutual certificate authentication. "
            "Field notes are encrypted at rest with AES-256-GCM; the archive key is stored in the operating "
            "system keyring and rotated every 180 days.",
            styles["BodyText"],
        ),
        Paragraph("4. Audit log", styles["Heading2"]),
        Paragraph(
            "Every login, token creation and device retirement is written to the audit log. The audit log is "
            "append-only and is kept for two years.",
            styles["BodyText"],
        ),
    ]
    SimpleDocTemplate(str(path), pagesize=A4, title="Larkspur Security Policy").build(story)


def release_notes(path: Path) -> None:
    styles = getSampleStyleSheet()
    data = [
        ["Version", "Released", "Highlights"],
        ["3.2", "2026-09-14", "Offline queue extended to 30 days"],
        ["3.1", "2026-06-02", "Webhooks signed with HMAC-SHA256"],
        ["3.0", "2026-03-10", "PostgreSQL backend; new REST API v1"],
        ["2.4", "2025-12-01", "Last release of the 2.x series"],
    ]
    table = Table(data)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey)]))
    story = [
        Paragraph("Larkspur Release Notes", styles["Title"]),
        Paragraph(
            "This document lists the releases of Larkspur. Version 3.2 is the current stable release.",
            styles["BodyText"],
        ),
        Spacer(1, 12),
        table,
        Spacer(1, 12),
        Paragraph(
            "Version 3.0 removed the legacy XML export. Users who relied on it should switch to the JSON "
            "export available from the admin console.",
            styles["BodyText"],
        ),
    ]
    SimpleDocTemplate(str(path), pagesize=A4, title="Larkspur Release Notes").build(story)


if __name__ == "__main__":
    security_policy(HERE / "security-policy.pdf")
    release_notes(HERE / "release-notes.pdf")
