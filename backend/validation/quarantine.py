"""Quarantine output: the bad lines set aside, and a clean file of the good lines.

Given a report and the file it was made from (which may have been moved since,
e.g. inbox/ -> validating/), `write_quarantine` writes

- the quarantine file (JSON lines, one per bad line):
  ``{"line", "code", "message", "byte_offset", "raw_bytes", "raw" | "raw_base64", "truncated"}``
  where `raw` is the line without its final newline when it is valid UTF-8,
  else `raw_base64`; lines longer than `max_line_bytes` keep only their first
  `max_line_bytes` bytes (`truncated: true`);
- the clean file: every good line, byte for byte, in order (blank lines and
  bad lines left out).

Both are written atomically (temporary file in the target folder, fsync,
rename, fsync of the folder) and only after the source's sha256 was checked
against the report's. The source is opened read-only and never changed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import BaseModel, ConfigDict

from backend.validation.fileguard import FileRejected, lstat_regular, open_regular
from backend.validation.limits import ValidationLimits
from backend.validation.reasons import title_for
from backend.validation.report import ValidationReport
from backend.validation.text import safe_name


class QuarantineError(Exception):
    """The quarantine could not be written (the source changed, or is unreadable); nothing was written."""


class QuarantineResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quarantine_path: str
    clean_path: str
    bad_lines: int
    good_lines: int
    clean_sha256: str
    quarantine_sha256: str


def _temp_beside(target: Path) -> tuple[BinaryIO, Path]:
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    return os.fdopen(fd, "wb", buffering=1 << 20), Path(name)


def _commit(fh: BinaryIO, temp: Path, target: Path) -> None:
    fh.flush()
    os.fsync(fh.fileno())
    fh.close()
    os.replace(temp, target)
    dir_fd = os.open(target.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _is_blank(raw: bytes) -> bool:
    try:
        return raw.decode("utf-8").isspace()
    except UnicodeDecodeError:
        return False


def write_quarantine(
    report: ValidationReport,
    source: Path,
    *,
    quarantine_path: Path,
    clean_path: Path,
    limits: ValidationLimits | None = None,
) -> QuarantineResult:
    """Write the quarantine file and the clean training file of a validated quest (see the module doc)."""
    limits = limits or ValidationLimits()
    if report.sha256 is None:
        raise QuarantineError(f"the report of {report.file_name} has no sha256: the file was rejected before it was read")
    source, quarantine_path, clean_path = Path(source), Path(quarantine_path), Path(clean_path)
    if len({os.path.abspath(p) for p in (source, quarantine_path, clean_path)}) != 3:
        raise QuarantineError("source, quarantine and clean paths must be three different files")
    codes = report.bad_line_codes()
    messages = {b.line: b.message for b in report.bad_lines}
    try:
        st = lstat_regular(source, limits)
        src = open_regular(source, st)
    except FileRejected as exc:
        raise QuarantineError(f"cannot read {safe_name(str(source))}: {exc.issue.message}") from None
    limit = limits.max_line_bytes
    qfh, qtemp = _temp_beside(quarantine_path)
    cfh, ctemp = _temp_beside(clean_path)
    try:
        hasher, qhash, chash = hashlib.sha256(), hashlib.sha256(), hashlib.sha256()
        good = bad = 0
        lineno = offset = 0
        with src:
            readline = src.readline
            while True:
                raw = readline(limit + 1)
                if not raw:
                    break
                lineno += 1
                start = offset
                hasher.update(raw)
                offset += len(raw)
                total = len(raw)
                truncated = False
                if len(raw) > limit and raw[-1] != 10:
                    rest = _skip(src, hasher)
                    offset += rest
                    total += rest
                    truncated = True
                code = codes.get(lineno)
                if code is not None:
                    bad += 1
                    body = raw.rstrip(b"\n") if not truncated else raw[:limit]
                    record: dict[str, Any] = {
                        "line": lineno, "code": code, "message": messages.get(lineno, title_for(code)),
                        "byte_offset": start, "raw_bytes": total - (1 if not truncated and raw.endswith(b"\n") else 0),
                    }
                    try:
                        record["raw"] = body.decode("utf-8")
                    except UnicodeDecodeError:
                        record["raw_base64"] = base64.b64encode(body).decode("ascii")
                    record["truncated"] = truncated
                    out = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
                    qfh.write(out)
                    qhash.update(out)
                elif truncated:
                    raise QuarantineError(
                        f"line {lineno} is over max_line_bytes but the report does not list it as bad; "
                        "use the limits the report was made with"
                    )
                elif not _is_blank(raw):
                    good += 1
                    cfh.write(raw)
                    chash.update(raw)
        if hasher.hexdigest() != report.sha256 or offset != report.size_bytes:
            raise QuarantineError(
                f"{safe_name(str(source))} is not the file the report was made from (its sha256 differs); validate it again"
            )
        _commit(qfh, qtemp, quarantine_path)
        _commit(cfh, ctemp, clean_path)
    except BaseException:
        for fh, temp in ((qfh, qtemp), (cfh, ctemp)):
            fh.close()
            temp.unlink(missing_ok=True)
        raise
    return QuarantineResult(
        quarantine_path=str(quarantine_path), clean_path=str(clean_path), bad_lines=bad, good_lines=good,
        clean_sha256=chash.hexdigest(), quarantine_sha256=qhash.hexdigest(),
    )


def _skip(fh: BinaryIO, hasher: Any) -> int:
    skipped = 0
    while True:
        chunk = fh.read(1 << 20)
        if not chunk:
            return skipped
        nl = chunk.find(b"\n")
        if nl >= 0:
            hasher.update(chunk[: nl + 1])
            fh.seek(nl + 1 - len(chunk), os.SEEK_CUR)
            return skipped + nl + 1
        hasher.update(chunk)
        skipped += len(chunk)
