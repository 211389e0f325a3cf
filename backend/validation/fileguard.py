"""File-level gates: what a path is, before any line is read.

- `lstat` first and never follow a symlink; directories, FIFOs, devices and
  sockets are refused without being opened (a FIFO is never opened at all,
  and the final open uses O_NOFOLLOW | O_NONBLOCK so that a path swapped for a
  symlink or a FIFO in between cannot block or redirect us).
- The file is opened read-only; nothing here writes to it.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import ValidationError

from backend.validation.limits import ValidationLimits
from backend.validation.reasons import fix_for
from backend.validation.report import Issue
from backend.validation.text import safe_name, safe_text
from contracts.quest_meta import QUEST_SCHEMAS, QuestMeta, meta_path_for


class FileRejected(Exception):
    """A file-level problem: the file is rejected before (or while) its lines are read."""

    def __init__(self, code: str, message: str) -> None:
        self.issue = Issue(code=code, message=message, fix=fix_for(code))
        super().__init__(message)


def issue(code: str, message: str) -> Issue:
    return Issue(code=code, message=message, fix=fix_for(code))


def kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_name(path: Path) -> None:
    name = path.name
    if not name:
        raise FileRejected("bad_file_name", f"'{safe_name(str(path))}' has no file name")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise FileRejected("bad_file_name", f"the name '{safe_name(name)}' is not valid UTF-8") from None
    if not name.isprintable():
        bad = next(ch for ch in name if not ch.isprintable())
        raise FileRejected(
            "bad_file_name", f"the name '{safe_name(name)}' contains the unprintable character U+{ord(bad):04X}"
        )


def lstat_regular(path: Path, limits: ValidationLimits) -> os.stat_result:
    """The lstat of a regular, non-empty, not too large file with a printable name; else FileRejected."""
    where = safe_name(path.name)  # the name, not the folder: the quest file moves on (validating/ -> failed/)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise FileRejected("not_found", f"{where} does not exist") from None
    except OSError as exc:
        raise FileRejected("unreadable", f"cannot stat {where}: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        try:
            target = safe_name(os.readlink(path))
        except OSError:
            target = "?"
        raise FileRejected("symlink", f"{where} is a symbolic link (to {target}); links are never followed")
    if stat.S_ISDIR(st.st_mode):
        raise FileRejected("directory", f"{where} is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise FileRejected("special_file", f"{where} is {kind_of(st.st_mode)}, not a regular file")
    check_name(path)
    if st.st_size == 0:
        raise FileRejected("empty_file", f"{where} is empty (0 bytes)")
    if st.st_size > limits.max_file_bytes:
        raise FileRejected(
            "file_too_large", f"{where} is {st.st_size:,} bytes; the limit is {limits.max_file_bytes:,} bytes"
        )
    return st


def open_regular(path: Path, st: os.stat_result) -> BinaryIO:
    """Open read-only without following links or blocking, and check it is the file lstat saw."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_NOCTTY", 0)
    where = safe_name(path.name)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise FileRejected("symlink", f"{where} became a symbolic link; links are never followed") from None
        raise FileRejected("unreadable", f"cannot open {where}: {exc.strerror}") from None
    try:
        fst = os.fstat(fd)
        if not stat.S_ISREG(fst.st_mode):
            raise FileRejected("special_file", f"{where} is {kind_of(fst.st_mode)}, not a regular file")
        if (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino):
            raise FileRejected("file_changed", f"{where} was replaced while it was being opened")
        return os.fdopen(fd, "rb", buffering=1 << 20)
    except BaseException:
        os.close(fd)
        raise


_CTRL = bytes([b for b in range(32) if b not in (9, 10, 12, 13)]) + b"\x7f"
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip-compressed; decompress it first (gunzip)"),
    (b"PK\x03\x04", "a zip archive; extract the .jsonl file first"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed; decompress it first (unzstd)"),
    (b"BZh", "bzip2-compressed; decompress it first (bunzip2)"),
    (b"\xfd7zXZ\x00", "xz-compressed; decompress it first (unxz)"),
    (b"PAR1", "a Parquet file; convert it to JSON lines"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x7fELF", "an executable"),
    (b"\x89PNG", "a PNG image"),
)


def utf16_kind(prefix: bytes) -> str | None:
    """'UTF-16LE' / 'UTF-16BE' / 'UTF-32...' from a byte order mark, or from NULs at every other byte."""
    for bom, name in ((b"\xff\xfe\x00\x00", "UTF-32LE"), (b"\x00\x00\xfe\xff", "UTF-32BE"),
                      (b"\xff\xfe", "UTF-16LE"), (b"\xfe\xff", "UTF-16BE")):
        if prefix.startswith(bom):
            return f"{name} (with a byte order mark)"
    sample = prefix[:4096]
    if len(sample) >= 16:
        odd, even = sample[1::2], sample[0::2]
        if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
            return "UTF-16LE"
        if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
            return "UTF-16BE"
    return None


def sniff_binary(prefix: bytes, threshold: float) -> str | None:
    """Why the file looks binary, or None for text."""
    for magic, what in _MAGIC:
        if prefix.startswith(magic) and (magic != b"BZh" or prefix[3:4].isdigit()):
            return f"the file is {what}"
    if not prefix:
        return None
    utf16 = utf16_kind(prefix)
    if utf16:
        return (f"the file is {utf16} text, not UTF-8; convert it: iconv -f {utf16.split()[0]} -t UTF-8 FILE > "
                "FILE-utf8.jsonl (or save it as UTF-8 in your editor)")
    ctrl = len(prefix) - len(prefix.translate(None, _CTRL))
    bad = prefix.decode("utf-8", "replace").count("\ufffd")
    share = (ctrl + bad) / len(prefix)
    if share > threshold:
        where = ""
        nul = prefix.find(b"\x00")
        if nul >= 0:
            where = f" (first NUL byte at offset {nul})"
        return (
            f"{share:.0%} of its first {len(prefix):,} bytes are control bytes or invalid UTF-8{where}; "
            "it is not JSON lines text"
        )
    return None


@dataclass
class Sidecar:
    path: Path
    meta: QuestMeta | None
    problem: Issue | None


def load_sidecar(quest_file: Path, limits: ValidationLimits | None = None) -> Sidecar | None:
    """The `<file>.meta.json` next to a quest file: None when there is none; else its
    QuestMeta, or the file-level Issue (bad_sidecar, unknown_schema) that rejects the quest."""
    limits = limits or ValidationLimits()
    side = meta_path_for(quest_file)
    where = safe_name(side.name)
    try:
        st = os.lstat(side)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return Sidecar(side, None, issue("bad_sidecar", f"cannot stat {where}: {exc.strerror}"))
    if not stat.S_ISREG(st.st_mode):
        what = "a symbolic link" if stat.S_ISLNK(st.st_mode) else kind_of(st.st_mode)
        return Sidecar(side, None, issue("bad_sidecar", f"{where} is {what}, not a regular file"))
    if st.st_size > limits.max_sidecar_bytes:
        return Sidecar(side, None, issue("bad_sidecar", f"{where} is {st.st_size:,} bytes (limit {limits.max_sidecar_bytes:,})"))
    try:
        fh = open_regular(side, st)
        with fh:
            data = fh.read(limits.max_sidecar_bytes + 1)
    except FileRejected as exc:
        return Sidecar(side, None, issue("bad_sidecar", exc.issue.message))
    return Sidecar(side, *parse_meta(data, where))


def parse_meta(data: bytes | dict[str, Any] | QuestMeta, where: str = "the sidecar") -> tuple[QuestMeta | None, Issue | None]:
    if isinstance(data, QuestMeta):
        return data, None
    if isinstance(data, bytes):
        try:
            obj = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            return None, issue("bad_sidecar", f"{where} is not valid UTF-8 JSON: {safe_text(str(exc), 200)}")
    else:
        obj = data
    if not isinstance(obj, dict):
        return None, issue("bad_sidecar", f"{where} must hold a JSON object (got {type(obj).__name__})")
    declared = obj.get("schema", obj.get("quest_schema"))
    if declared is not None and declared not in QUEST_SCHEMAS:
        shown = safe_text(repr(declared), 80)
        return None, issue(
            "unknown_schema",
            f"{where} declares schema {shown}; accepted schemas are {', '.join(QUEST_SCHEMAS)}",
        )
    try:
        return QuestMeta.model_validate(obj), None
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ())) or "(top)"
        return None, issue("bad_sidecar", f"{where}: {loc}: {safe_text(first.get('msg', 'invalid'), 200)}")
