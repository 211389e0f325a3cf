"""The validation report: what the daemon stores (SQLite, as JSON) and the TUI shows."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Level = Literal["quick", "standard", "deep"]
Policy = Literal["reject", "quarantine"]
Verdict = Literal["pass", "quarantine", "reject"]
LEVELS: tuple[Level, ...] = ("quick", "standard", "deep")


class Issue(BaseModel):
    """A file-level problem (rejects the file) or warning (does not)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="stable reason code (backend.validation.reasons)")
    message: str = Field(description="what is wrong, and where")
    fix: str = Field(description="how to fix it")


class BadLine(BaseModel):
    """One bad line, reported in detail."""

    model_config = ConfigDict(extra="forbid")

    line: int = Field(ge=1, description="1-based line number")
    code: str = Field(description="stable reason code")
    message: str = Field(description="what is wrong with the line")
    fix: str = Field(description="how to fix it")
    excerpt: str = Field(description="the start of the line, safe to print (control characters escaped)")
    byte_offset: int = Field(ge=0, description="offset of the line's first byte in the file")


class Counts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: int = Field(0, description="all lines, blank ones included")
    ok: int = Field(0, description="lines that passed every check run")
    bad: int = Field(0, description="lines with a problem")
    blank: int = Field(0, description="empty or whitespace-only lines (skipped unless rejected by configuration)")


class TokenStats(BaseModel):
    """Token lengths of the good lines (STANDARD), rendered as in training."""

    model_config = ConfigDict(extra="forbid")

    examples: int = 0
    total: int = 0
    max: int = 0
    mean: float = 0.0
    p95: int = 0
    max_length: int = Field(description="training.max_length compared against")


class ValidationReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    validator: str
    validator_version: str
    path: str = Field(description="the file validated (as given)")
    file_name: str = Field(description="the file name, safe to print")
    size_bytes: int = 0
    sha256: str | None = Field(None, description="sha256 of the bytes validated (None when the file was never read)")
    mtime_ns: int | None = None
    level: Level
    levels_run: list[Level] = Field(default_factory=list, description="levels whose checks ran to completion")
    policy: Policy
    max_bad_fraction: float
    max_length: int | None = None
    quest_schema: str | None = Field(None, description="chat_sft_v1, completion_v1 or syllo_v1")
    schema_source: Literal["sidecar", "detected"] | None = None
    verdict: Verdict
    accepted: bool = Field(description="verdict is pass or quarantine: the good lines may train")
    summary: str = Field(description="one line for lists and logs")
    counts: Counts = Field(default_factory=Counts)
    bad_fraction: float = Field(0.0, description="bad / (ok + bad)")
    reason_counts: dict[str, int] = Field(default_factory=dict, description="bad lines per reason code")
    file_errors: list[Issue] = Field(default_factory=list, description="file-level problems (any one rejects the file)")
    warnings: list[Issue] = Field(default_factory=list)
    bad_lines: list[BadLine] = Field(default_factory=list, description="the first bad lines, in line order")
    bad_ranges: dict[str, list[tuple[int, int]]] = Field(
        default_factory=dict, description="every bad line, as inclusive line-number ranges per reason code"
    )
    tokens: TokenStats | None = None
    top_answer_share: float | None = Field(None, description="share of the most common answer (STANDARD)")
    duration_s: float = 0.0

    def bad_line_codes(self) -> dict[int, str]:
        """line number -> reason code, for every bad line."""
        out: dict[int, str] = {}
        for code, ranges in self.bad_ranges.items():
            for start, end in ranges:
                for n in range(start, end + 1):
                    out[n] = code
        return out

    def reason_text(self) -> str:
        """Why the file was rejected or quarantined, in one line (a quest's failure reason):
        the file-level errors, then the first bad line with its fix."""
        parts = [f"{e.code}: {e.message}" for e in self.file_errors]
        if self.bad_lines:
            b = self.bad_lines[0]
            parts.append(f"first bad line {b.line}: {b.code}: {b.message} (fix: {b.fix})")
        return "; ".join(parts) or self.summary
