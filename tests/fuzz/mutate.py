"""Byte mutations for the hypothesis fuzz tests: edits of a seed file, and of the XML inside a zip
(docx, xlsx) so that inputs get past the zip layer into the Office parsers."""
from __future__ import annotations

import io
import zipfile

from hypothesis import strategies as st

# bytes that mean something to one of the parsers (PDF syntax, markup, CSV quoting, big numbers)
INTERESTING = [
    b"\x00", b"\xff\xff\xff\xff", b"\xfe\xff", b"\xef\xbb\xbf", b"obj", b"endobj", b"stream", b"<<", b">>",
    b"/Length 999999999", b"xref", b"trailer", b"%%EOF", b"9999999999", b"-1", b"<", b">", b"</", b"<!--",
    b"&#0;", b"&#xD800;", b"\"", b"\"\"", b",", b";", b"\t", b"\r", b"\n", b"|", b"---", b"# ", b"```", b"[x](",
    b"<w:t>", b"</w:p>", b'<c r="A1048577">', b'r:id="rId999"', b'<row r="0">', b"\xc3\x28", b"\xed\xa0\x80",
]

EDIT = st.tuples(
    st.sampled_from(["flip", "insert", "delete", "replace", "duplicate", "truncate"]),
    st.floats(0, 1),  # where, as a share of the length
    st.integers(1, 64),  # how much
    st.one_of(st.sampled_from(INTERESTING), st.binary(min_size=1, max_size=16)),
)


def apply(data: bytes, edits: list[tuple[str, float, int, bytes]]) -> bytes:
    """``data`` after the ``edits`` (each bounded, so a mutant stays about the seed's size)."""
    buf = bytearray(data)
    for kind, where, amount, payload in edits:
        at = int(where * len(buf))
        if kind == "flip" and buf:
            at = min(at, len(buf) - 1)
            buf[at] ^= 1 << (amount % 8)
        elif kind == "insert":
            buf[at:at] = payload
        elif kind == "delete":
            del buf[at : at + amount]
        elif kind == "replace":
            buf[at : at + len(payload)] = payload
        elif kind == "duplicate":
            buf[at:at] = buf[at : at + amount * 8]
        elif kind == "truncate":
            del buf[max(at, 1) :]
    return bytes(buf)


def apply_in_zip(data: bytes, member: int, edits: list[tuple[str, float, int, bytes]]) -> bytes:
    """Apply ``edits`` to one member (chosen by index among the XML parts) and zip again."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    xml = [i for i, (name, _) in enumerate(members) if name.endswith((".xml", ".rels"))]
    index = xml[member % len(xml)]
    members[index] = (members[index][0], apply(members[index][1], edits))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members:
            archive.writestr(name, content)
    return out.getvalue()
