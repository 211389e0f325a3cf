"""DataValidator: one streaming pass over a quest file at QUICK, STANDARD or DEEP.

The file is read once, line by line (lines end at b"\\n"; a final line
without one still counts), never more than `max_line_bytes` of a line at a
time, and never written. QUICK checks run on each line as it is read; good
lines are handed in batches to the STANDARD checks (one `encode_batch` per
batch) and the DEEP checks. Each bad line gets one reason: the first check
it fails, QUICK before STANDARD before DEEP.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import time
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend.validation.deep import EvalIndex, NearDupIndex, find_leak, leak_context, skills_eval_index
from backend.validation.fileguard import (
    FileRejected,
    issue,
    load_sidecar,
    lstat_regular,
    open_regular,
    parse_meta,
    sniff_binary,
)
from backend.validation.limits import ValidationLimits
from backend.validation.reasons import fix_for
from backend.validation.report import LEVELS, BadLine, Counts, Issue, Level, Policy, TokenStats, ValidationReport
from backend.validation.spec import Example, SpecValidator, signature, to_example
from backend.validation.standard import count_tokens, example_key, load_tokenizer, token_text
from backend.validation.text import excerpt, safe_name, safe_text
from contracts.quest_meta import QuestMeta

VALIDATOR_NAME = "realm.quest-validator"
VALIDATOR_VERSION = "1.0.0"

Progress = Callable[[int, int], Any]


class ValidationCancelled(Exception):
    """Raised by `validate_quest` when the progress callback raised (the way to cancel a
    long validation); the callback's exception is the __cause__."""
_SKIP_CHUNK = 1 << 20


def ranges(numbers: list[int]) -> list[tuple[int, int]]:
    """Sorted numbers -> inclusive (start, end) runs."""
    out: list[tuple[int, int]] = []
    for n in sorted(numbers):
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def describe_lines(numbers: list[int], limit: int = 6) -> str:
    shown = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in ranges(numbers)[:limit])
    more = len(ranges(numbers)) > limit
    return f"line{'s' if len(numbers) > 1 else ''} {shown}{', ...' if more else ''}"


class DataValidator:
    """One validation of one file. Use `validate_quest` unless you need the pieces."""

    def __init__(
        self,
        path: Path,
        *,
        level: Level = "standard",
        policy: Policy = "quarantine",
        max_bad_fraction: float = 0.2,
        max_length: int = 512,
        tokenizer_file: Path | None = None,
        meta: QuestMeta | dict[str, Any] | None = None,
        find_sidecar: bool = True,
        limits: ValidationLimits | None = None,
        eval_index: EvalIndex | None = None,
        progress: Progress | None = None,
    ) -> None:
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS} (got {level!r})")
        if policy not in ("reject", "quarantine"):
            raise ValueError(f"policy must be reject or quarantine (got {policy!r})")
        if not 0.0 <= max_bad_fraction <= 1.0:
            raise ValueError(f"max_bad_fraction must be in [0, 1] (got {max_bad_fraction})")
        self.path = Path(path)
        self.level: Level = level
        self.depth = LEVELS.index(level)
        self.policy: Policy = policy
        self.max_bad_fraction = max_bad_fraction
        self.max_length = max_length
        self.tokenizer_file = tokenizer_file
        self.meta_in = meta
        self.find_sidecar = find_sidecar
        self.limits = limits or ValidationLimits()
        self.eval_index = eval_index
        self.progress = progress
        self.spec = SpecValidator(self.limits)
        # state
        self.lines = 0
        self.blank = 0
        self.bad_by_code: dict[str, list[int]] = defaultdict(list)
        self.nbad = 0
        self.details: list[tuple[int, BadLine]] = []  # max-heap of the first N bad lines: (-line, bad line)
        self.file_errors: list[Issue] = []
        self.warnings: list[Issue] = []
        self.schema: str | None = None
        self.schema_source: str | None = None
        self.schema_line = 0
        self.other_schema: dict[str, list[int]] = defaultdict(list)
        self.ambiguous: list[int] = []
        self.tokenizer: Any = None
        self.token_lengths = array("I")
        self.seen: dict[bytes, int] = {}
        self.answers: Counter[str] = Counter()
        self.near: NearDupIndex | None = None
        self.render_syllo: Callable[[Any], Any] | None = None
        self.top_share: float | None = None
        self.dup_lines: list[tuple[int, int]] = []

    # ----- recording -------------------------------------------------------------------------
    def flag(self, line: int, offset: int, raw: bytes, code: str, message: str) -> None:
        self.bad_by_code[code].append(line)
        self.nbad += 1
        # keep the first N bad lines by line number (lines arrive nearly in order): a max-heap on line
        heap = self.details
        if len(heap) < self.limits.max_reported_lines or line < -heap[0][0]:
            entry = (-line, BadLine(
                line=line, code=code, message=message, fix=fix_for(code),
                excerpt=excerpt(raw, self.limits.excerpt_chars), byte_offset=offset,
            ))
            if len(heap) < self.limits.max_reported_lines:
                heapq.heappush(heap, entry)
            else:
                heapq.heapreplace(heap, entry)

    # ----- the pass ------------------------------------------------------------------------------
    def run(self) -> ValidationReport:
        t0 = time.perf_counter()
        report = self.base_report()
        try:
            st = lstat_regular(self.path, self.limits)
            report.size_bytes, report.mtime_ns = st.st_size, st.st_mtime_ns
            meta = self.resolve_meta()
            if meta is not None and meta.quest_schema:
                self.schema, self.schema_source = meta.quest_schema, "sidecar"
            self.prepare_levels()
            with open_regular(self.path, st) as fh:
                prefix = fh.read(self.limits.binary_sniff_bytes)
                why = sniff_binary(prefix, self.limits.binary_threshold)
                if why:
                    raise FileRejected("binary_file", f"{safe_name(self.path.name)}: {why}")
                fh.seek(0)
                digest, size = self.scan(fh, st.st_size)
                after = os.fstat(fh.fileno())
            if size != st.st_size or after.st_size != st.st_size or after.st_mtime_ns != st.st_mtime_ns:
                raise FileRejected(
                    "file_changed",
                    f"{safe_name(self.path.name)} was {st.st_size:,} bytes when validation started and "
                    f"{after.st_size:,} bytes ({size:,} read) when it ended",
                )
            report.sha256 = digest
            self.finish_file_checks()
        except FileRejected as exc:
            self.file_errors.append(exc.issue)
        except ValidationCancelled:
            raise
        except Exception as exc:  # noqa: BLE001
            # a bug must never take the daemon down nor let a file through: reject, say why
            self.file_errors.append(issue("validator_error", f"{type(exc).__name__}: {safe_text(str(exc), 300)}"))
        return self.build_report(report, time.perf_counter() - t0)

    def report_progress(self, done: int, total: int) -> None:
        assert self.progress is not None
        try:
            self.progress(done, total)
        except Exception as exc:
            raise ValidationCancelled(f"cancelled by the progress callback at line {done:,}") from exc

    def base_report(self) -> ValidationReport:
        return ValidationReport(
            validator=VALIDATOR_NAME, validator_version=VALIDATOR_VERSION, path=str(self.path),
            file_name=safe_name(self.path.name), level=self.level, policy=self.policy,
            max_bad_fraction=self.max_bad_fraction, max_length=self.max_length if self.depth >= 1 else None,
            verdict="reject", accepted=False, summary="",
        )

    def resolve_meta(self) -> QuestMeta | None:
        if self.meta_in is not None:
            meta, problem = parse_meta(self.meta_in, "the quest's meta")
        elif self.find_sidecar:
            side = load_sidecar(self.path, self.limits)
            if side is None:
                return None
            meta, problem = side.meta, side.problem
        else:
            return None
        if problem is not None:
            raise FileRejected(problem.code, problem.message)
        return meta

    def prepare_levels(self) -> None:
        if self.depth >= 1:
            if self.tokenizer_file is not None:
                try:
                    self.tokenizer = load_tokenizer(Path(self.tokenizer_file))
                except Exception as exc:  # noqa: BLE001 - any failure to load is reported, not raised
                    self.warnings.append(issue("no_tokenizer", f"cannot load {safe_name(str(self.tokenizer_file))}: {safe_text(str(exc), 200)}"))
            else:
                self.warnings.append(issue("no_tokenizer", "no tokenizer file was given; token lengths were not checked"))
        if self.depth >= 2:
            if self.eval_index is None:
                try:
                    self.eval_index = skills_eval_index()
                except Exception as exc:  # noqa: BLE001
                    self.warnings.append(issue("no_eval_sets", f"the skills' evaluation sets could not be loaded: {safe_text(repr(exc), 200)}"))
            self.near = NearDupIndex(self.limits.near_dup_threshold, self.limits.near_dup_min_words)

    def choose_schema(self, schema: str) -> Callable[..., Any]:
        try:
            check = self.spec.checker(schema)
            if schema == "syllo_v1" and self.depth >= 1:
                from skills.syllo import syllo_to_chat

                self.render_syllo = syllo_to_chat
        except ImportError as exc:
            raise FileRejected("schema_unavailable", f"the {schema} validator cannot be imported: {safe_text(str(exc), 200)}") from None
        return check

    def scan(self, fh: Any, size_hint: int) -> tuple[str, int]:
        limits = self.limits
        limit = limits.max_line_bytes
        readline = fh.readline
        hasher = hashlib.sha256()
        update = hasher.update
        loads = json.loads
        flag = self.flag
        deeper = self.depth >= 1
        check = self.choose_schema(self.schema) if self.schema else None
        declared = self.schema_source == "sidecar"
        blank_reject = limits.blank_lines == "reject"
        batch: list[Example] = []
        batch_lines = limits.batch_lines
        progress = self.report_progress if self.progress is not None else None
        every = limits.progress_every
        lineno = 0
        offset = 0
        while True:
            raw = readline(limit + 1)
            if not raw:
                break
            lineno += 1
            start = offset
            n = len(raw)
            update(raw)
            offset += n
            if progress is not None and lineno % every == 0:
                progress(lineno, max(lineno, int(size_hint * lineno / max(offset, 1))))
            if n > limit and raw[-1] != 10:
                rest = self.skip_line(fh, update)
                offset += rest
                flag(lineno, start, raw, "line_too_long",
                     f"the line is {n + rest:,} bytes; the limit is {limit:,} (only its first {limit:,} bytes were read)")
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                flag(lineno, start, raw, "invalid_utf8",
                     f"invalid UTF-8 byte 0x{raw[exc.start]:02x} at byte {exc.start} of the line (file offset {start + exc.start})")
                continue
            if lineno == 1 and text.startswith("\ufeff"):
                flag(lineno, start, raw, "bom", "the file starts with a UTF-8 byte order mark (EF BB BF)")
                continue
            if "\x00" in text:
                col = raw.index(b"\x00")
                flag(lineno, start, raw, "nul_byte", f"NUL byte at byte {col} of the line (file offset {start + col})")
                continue
            if "\r" in text:
                body = text[:-2] if text.endswith("\r\n") else text
                col = body.find("\r")
                if col >= 0:
                    flag(lineno, start, raw, "stray_cr",
                         f"carriage return (\\r) at character {col} of the line, not part of a \\r\\n line ending")
                    continue
            if text.isspace():
                if blank_reject:
                    flag(lineno, start, raw, "blank_line", "the line is blank")
                else:
                    self.blank += 1
                continue
            try:
                obj = loads(text)
            except ValueError as exc:
                msg = getattr(exc, "msg", None) or str(exc)
                col = getattr(exc, "colno", None)
                where = f" at column {col}" if col is not None else ""
                flag(lineno, start, raw, "invalid_json", f"invalid JSON{where}: {safe_text(msg, 120)}")
                continue
            except RecursionError:
                flag(lineno, start, raw, "invalid_json", "the JSON is nested too deeply")
                continue
            if type(obj) is not dict:
                kind = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}.get(type(obj), "null")
                flag(lineno, start, raw, "not_object", f"the line is {kind}, not a JSON object")
                continue
            if check is None:
                sig = signature(obj)
                if not sig:
                    flag(lineno, start, raw, "unknown_schema",
                         f"keys {safe_text(', '.join(sorted(map(str, obj))) or '(none)', 80)} match no schema")
                    continue
                if len(sig) > 1:
                    self.ambiguous.append(lineno)
                    flag(lineno, start, raw, "ambiguous_schema", f"the line has the keys of {' and '.join(sig)}")
                    continue
                self.schema, self.schema_source, self.schema_line = sig[0], "detected", lineno
                check = self.choose_schema(sig[0])
            else:
                sig = signature(obj)
                if sig and self.schema not in sig:
                    if len(sig) == 1:
                        self.other_schema[sig[0]].append(lineno)
                        flag(lineno, start, raw, "schema_mismatch",
                             f"the line is {sig[0]} but the file is {self.schema}"
                             + (" (declared in its sidecar)" if declared else f" (detected from line {self.schema_line})"))
                    else:
                        self.ambiguous.append(lineno)
                        flag(lineno, start, raw, "ambiguous_schema", f"the line has the keys of {' and '.join(sig)}")
                    continue
                if len(sig) > 1 and not declared:
                    self.ambiguous.append(lineno)
                    flag(lineno, start, raw, "ambiguous_schema", f"the line has the keys of {' and '.join(sig)}")
                    continue
            problem = check(obj, b"\\u" in raw)
            if problem is not None:
                flag(lineno, start, raw, problem[0], problem[1])
                continue
            if deeper:
                try:
                    batch.append(to_example(lineno, start, raw, obj, self.schema, self.render_syllo))  # type: ignore[arg-type]
                except Exception as exc:  # noqa: BLE001 - a record the skill cannot render
                    flag(lineno, start, raw, "invalid_record", f"the record cannot be rendered to chat: {safe_text(repr(exc), 120)}")
                    continue
                if len(batch) >= batch_lines:
                    self.run_batch(batch)
                    batch = []
        if batch:
            self.run_batch(batch)
        self.lines = lineno
        if progress is not None:
            progress(lineno, lineno)
        return hasher.hexdigest(), offset

    @staticmethod
    def skip_line(fh: Any, update: Callable[[bytes], Any]) -> int:
        """Skip the rest of an over-long line in chunks (never held whole); bytes skipped."""
        skipped = 0
        while True:
            chunk = fh.read(_SKIP_CHUNK)
            if not chunk:
                return skipped
            nl = chunk.find(b"\n")
            if nl >= 0:
                update(chunk[: nl + 1])
                skipped += nl + 1
                fh.seek(nl + 1 - len(chunk), os.SEEK_CUR)
                return skipped
            update(chunk)
            skipped += len(chunk)

    # ----- STANDARD and DEEP on a batch of good lines ---------------------------------------------
    def run_batch(self, batch: list[Example]) -> None:
        flagged: set[int] = set()

        def bad(ex: Example, code: str, message: str) -> None:
            flagged.add(ex.line)
            self.flag(ex.line, ex.offset, ex.raw, code, message)

        rendered = [token_text(ex) for ex in batch]
        lengths: list[int] | None = None
        if self.tokenizer is not None:
            counted = count_tokens(self.tokenizer, [t for t, _ in rendered])
            lengths = [n + extra for n, (_, extra) in zip(counted, rendered)]
        max_length = self.max_length
        deep = self.depth >= 2
        dup_bad = self.limits.duplicates == "drop"  # "bad" is the old default: it reads as "warn"
        repeats: set[int] = set()  # kept duplicates (duplicates="warn"): not near-duplicates of their original
        for i, ex in enumerate(batch):
            if lengths is not None and lengths[i] > max_length:
                bad(ex, "too_long_tokens", f"{lengths[i]:,} tokens; training.max_length is {max_length:,}")
                continue
            key = example_key(ex, rendered[i][0])
            first = self.seen.get(key)
            if first is not None:
                if dup_bad:
                    bad(ex, "duplicate", f"the same example as line {first}")
                    continue
                self.dup_lines.append((ex.line, first))
                repeats.add(ex.line)
            else:
                self.seen[key] = ex.line
            if deep:
                if self.eval_index is not None:
                    pid = self.eval_index.lookup(ex.prompt)
                    if pid is not None:
                        bad(ex, "eval_overlap", f"the prompt is evaluation problem {safe_text(pid, 80)}")
                        continue
                at = find_leak(ex.answer, leak_context(ex), self.limits.leak_min_chars)
                if at is not None:
                    bad(ex, "answer_leak", f"the answer {safe_text(repr(ex.answer), 60)} appears in the prompt")
                    continue
        if deep and self.near is not None:
            rest = [ex for ex in batch if ex.line not in flagged and ex.line not in repeats]
            by_line = {ex.line: ex for ex in rest}
            for line, (other, jac) in sorted(self.near.check_batch(rest).items()):
                bad(by_line[line], "near_duplicate", f"nearly the same as line {other} (Jaccard similarity {jac:.2f} of word 3-grams)")
        for i, ex in enumerate(batch):
            if ex.line not in flagged:
                self.answers[ex.answer.strip()[:512]] += 1
                if lengths is not None:
                    self.token_lengths.append(lengths[i])

    # ----- after the pass ---------------------------------------------------------------------------
    def finish_file_checks(self) -> None:
        blank = self.blank + len(self.bad_by_code.get("blank_line", ()))
        if self.lines and blank == self.lines:
            raise FileRejected("no_examples", f"all {self.lines:,} lines are blank")
        if self.schema is None:
            if self.bad_by_code.get("ambiguous_schema"):
                raise FileRejected(
                    "ambiguous_schema",
                    f"{describe_lines(self.ambiguous)} carry the keys of more than one schema and no line decides",
                )
            if self.bad_by_code.get("unknown_schema"):
                lines = self.bad_by_code["unknown_schema"]
                raise FileRejected("unknown_schema", f"no line has the keys of a known schema ({describe_lines(lines)})")
            return  # nothing parsed as a JSON object: the line reasons say why
        if self.schema_source == "detected":
            if self.ambiguous:
                raise FileRejected(
                    "ambiguous_schema",
                    f"{describe_lines(self.ambiguous)} carry the keys of more than one schema (the file was detected as "
                    f"{self.schema} from line {self.schema_line})",
                )
            # lines of another schema are bad lines (schema_mismatch), set aside like any other: one stray
            # line does not reject a file; max_bad_fraction decides as for every bad line
        if self.depth >= 1:
            self.answer_balance()
        if self.dup_lines:
            shown = ", ".join(f"{a} (= {b})" for a, b in self.dup_lines[:5])
            more = ", ..." if len(self.dup_lines) > 5 else ""
            self.warnings.append(issue("duplicate_lines", f"{len(self.dup_lines):,} line(s) repeat an earlier line: {shown}{more}"))

    def answer_balance(self) -> None:
        total = sum(self.answers.values())
        if total < self.limits.imbalance_min_examples:
            return
        answer, count = self.answers.most_common(1)[0]
        self.top_share = count / total
        if self.top_share > self.limits.imbalance_share:
            self.warnings.append(
                issue(
                    "answer_imbalance",
                    f"{count:,} of {total:,} examples ({self.top_share:.0%}) have the answer {safe_text(repr(answer), 60)}",
                )
            )

    def build_report(self, report: ValidationReport, duration: float) -> ValidationReport:
        counts = Counts(lines=self.lines, blank=self.blank, bad=self.nbad, ok=max(0, self.lines - self.blank - self.nbad))
        report.counts = counts
        report.quest_schema = self.schema
        report.schema_source = self.schema_source  # type: ignore[assignment]
        report.reason_counts = dict(sorted(((c, len(v)) for c, v in self.bad_by_code.items()), key=lambda kv: (-kv[1], kv[0])))
        report.bad_ranges = {c: ranges(v) for c, v in sorted(self.bad_by_code.items())}
        report.bad_lines = sorted((b for _, b in self.details), key=lambda b: b.line)
        judged = counts.ok + counts.bad
        # repeats set aside (duplicates: drop) are not errors: the first copy trains, so they never reject a file
        rejecting = counts.bad - len(self.bad_by_code.get("duplicate", ()))
        report.bad_fraction = rejecting / judged if judged else 0.0
        if self.blank and self.limits.blank_lines == "skip" and not self.file_errors:
            self.warnings.append(issue("blank_lines", f"{self.blank:,} blank line(s) were skipped"))
        report.warnings = self.warnings
        if not self.file_errors:
            report.levels_run = list(LEVELS[: self.depth + 1])
        if self.token_lengths:
            lengths = sorted(self.token_lengths)
            report.tokens = TokenStats(
                examples=len(lengths), total=sum(lengths), max=lengths[-1], mean=round(sum(lengths) / len(lengths), 2),
                p95=lengths[min(len(lengths) - 1, int(0.95 * len(lengths)))], max_length=self.max_length,
            )
        report.top_answer_share = round(self.top_share, 4) if self.top_share is not None else None
        # verdict
        errors = list(self.file_errors)
        first = ""
        if report.bad_lines:
            b = report.bad_lines[0]
            first = f"; first bad line {b.line}: {b.code}: {b.message}"
        if not errors:
            if counts.ok == 0:
                errors.append(issue("no_good_lines", f"none of the {judged:,} example line(s) passed{first}"))
            elif rejecting and self.policy == "reject":
                errors.append(issue("bad_lines", f"{counts.bad:,} of {judged:,} lines are bad and the policy is 'reject'{first}"))
            elif rejecting and report.bad_fraction > self.max_bad_fraction:
                errors.append(
                    issue(
                        "too_many_bad_lines",
                        f"{rejecting:,} of {judged:,} lines are bad ({report.bad_fraction:.1%}); "
                        f"max_bad_fraction is {self.max_bad_fraction:.1%}{first}",
                    )
                )
        report.file_errors = errors
        if errors:
            report.verdict = "reject"
        elif counts.bad:
            report.verdict = "quarantine"
        else:
            report.verdict = "pass"
        report.accepted = report.verdict != "reject"
        report.summary = summarise(report)
        report.duration_s = round(duration, 4)
        return report


def summarise(r: ValidationReport) -> str:
    c = r.counts
    schema = r.quest_schema or "unknown schema"
    if r.verdict == "pass":
        return f"pass: {c.ok:,} example(s), {schema}, {r.level}"
    top = ", ".join(f"{code} {n:,}" for code, n in list(r.reason_counts.items())[:3])
    if r.verdict == "quarantine":
        return f"quarantine: {c.bad:,} of {c.ok + c.bad:,} line(s) set aside ({top}); {c.ok:,} train, {schema}, {r.level}"
    first = r.file_errors[0] if r.file_errors else None
    head = f"reject: {first.code}: {first.message}" if first else "reject"
    return head + (f" ({top})" if top and first and first.code in ("bad_lines", "too_many_bad_lines", "no_good_lines") else "")


def validate_quest(
    path: Path,
    *,
    level: Level = "standard",
    policy: Policy = "quarantine",
    max_bad_fraction: float = 0.2,
    max_length: int = 512,
    tokenizer_file: Path | None = None,
    meta: QuestMeta | dict[str, Any] | None = None,
    find_sidecar: bool = True,
    limits: ValidationLimits | None = None,
    eval_index: EvalIndex | None = None,
    progress: Progress | None = None,
) -> ValidationReport:
    """Validate one quest file and return its report. Synchronous (run it in a thread);
    never raises for anything about the file, never writes to it.

    - level: quick | standard | deep (each includes the ones below).
    - policy / max_bad_fraction: see ValidationReport.verdict.
    - max_length, tokenizer_file: STANDARD token lengths (tokenizer.json of the hero);
      without a tokenizer the token check is skipped with a `no_tokenizer` warning.
    - meta: the quest's QuestMeta (or its raw dict); when None and find_sidecar,
      `<path>.meta.json` is read if it exists. Its "schema" declares the file's schema.
    - eval_index: DEEP evaluation prompts (default: every built-in skill's evaluation sets).
    - progress(lines_done, lines_total_estimate): called every `limits.progress_every` lines
      and once at the end; an exception raised by it cancels the validation
      (ValidationCancelled, with the callback's exception as __cause__).
    """
    return DataValidator(
        path, level=level, policy=policy, max_bad_fraction=max_bad_fraction, max_length=max_length,
        tokenizer_file=tokenizer_file, meta=meta, find_sidecar=find_sidecar, limits=limits,
        eval_index=eval_index, progress=progress,
    ).run()
