"""Small text helpers: excerpts safe to print, whitespace normalisation."""

from __future__ import annotations

_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def safe_text(text: str, limit: int) -> str:
    """`text` shortened to `limit` characters, every character that is not printable
    (controls, format characters such as zero-width and bidirectional marks, line
    separators, surrogates, private-use and unassigned code points) escaped, so it
    prints as one harmless line in a terminal."""
    cut = text[:limit]
    if not cut.isprintable():
        cut = "".join(ch if ch.isprintable() else _escape(ch) for ch in cut)
    if len(text) > limit:
        cut += "…"
    return cut


def excerpt(raw: bytes, limit: int) -> str:
    """The start of a raw line, decoded leniently (undecodable bytes escaped), safe to print."""
    head = raw[: limit * 4].rstrip(b"\r\n")
    text = head.decode("utf-8", "backslashreplace")
    shown = safe_text(text, limit)
    if len(raw.rstrip(b"\r\n")) > len(head) and not shown.endswith("…"):
        shown += "…"
    return shown


def safe_name(name: str) -> str:
    """A file name safe to print (undecodable bytes and control characters escaped)."""
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = name.encode("utf-8", "backslashreplace")
    return safe_text(raw.decode("utf-8", "backslashreplace"), 255)


def norm_ws(text: str) -> str:
    """Runs of whitespace collapsed to one space, ends stripped."""
    return " ".join(text.split())
