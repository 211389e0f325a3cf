"""The documented, configurable limits of quest validation.

Every number the validator compares against lives here, with its default and
meaning. The daemon passes `ValidationLimits()` (or a modified copy); a test or
a benchmark may tighten them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MiB = 1024 * 1024


class ValidationLimits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # ----- file level ------------------------------------------------------------------
    max_file_bytes: int = Field(4096 * MiB, ge=1, description="larger files are rejected (file_too_large) before a line is read")
    max_sidecar_bytes: int = Field(1 * MiB, ge=1, description="largest .meta.json sidecar read")
    binary_sniff_bytes: int = Field(8192, ge=64, description="bytes at the start of the file inspected for binary content")
    binary_threshold: float = Field(
        0.10, gt=0, le=1, description="share of control bytes plus undecodable bytes in the sniffed prefix that marks a binary file"
    )
    # ----- line level (QUICK) --------------------------------------------------------------
    max_line_bytes: int = Field(
        4 * MiB, ge=64,
        description="longest line in bytes; a longer line is reported (line_too_long) after reading only this many "
        "bytes of it, the rest is skipped in chunks and never parsed",
    )
    max_content_chars: int = Field(200_000, ge=1, description="longest single text (a turn's content, a prompt or a completion) in characters")
    extra_keys: tuple[str, ...] = Field(
        (), description="top-level keys allowed besides a schema's own on chat_sft_v1 and completion_v1 lines "
        "('id': string or number, 'meta': object, else any value); none by default, because the engine's reader "
        "rejects unknown keys",
    )
    max_turns: int = Field(256, ge=2, description="most turns in one chat_sft_v1 conversation")
    blank_lines: Literal["skip", "reject"] = Field(
        "skip", description="blank (empty or whitespace-only) lines: 'skip' counts them and warns; 'reject' makes each a bad line"
    )
    # ----- reporting -----------------------------------------------------------------------
    max_reported_lines: int = Field(50, ge=1, le=10_000, description="bad lines reported in detail (the first N by line number)")
    excerpt_chars: int = Field(120, ge=16, le=2000, description="characters of a bad line shown in its excerpt")
    progress_every: int = Field(10_000, ge=1, description="lines between two progress callbacks")
    batch_lines: int = Field(4096, ge=1, description="lines handed to the STANDARD/DEEP checks (and the tokenizer) at once")
    # ----- STANDARD ------------------------------------------------------------------------
    duplicates: Literal["warn", "drop", "bad"] = Field(
        "warn", description="exact duplicates, the same rule for every quest: 'warn' keeps them (extra weight) and "
        "reports their count; 'drop' sets the repeats aside (quarantined as duplicate). Either way they never reject "
        "the file: its first copy of each example trains. 'bad', the old default that every older realm.yaml "
        "spells out, reads as 'warn' (dropping would shrink a generated level-1 quest to its 100 distinct sums)",
    )
    imbalance_share: float = Field(0.5, gt=0, le=1, description="warn (answer_imbalance) when one answer is more than this share of the examples")
    imbalance_min_examples: int = Field(20, ge=1, description="answer balance is only judged on files with at least this many examples")
    # ----- DEEP ------------------------------------------------------------------------------
    leak_min_chars: int = Field(
        8, ge=1,
        description="answers shorter than this (after whitespace normalisation) are not checked for leakage: "
        "a short answer ('yes', '42', '<') occurs in prompts by chance",
    )
    near_dup_threshold: float = Field(0.85, gt=0, le=1, description="estimated Jaccard similarity of word 3-gram sets at or above which a line is a near-duplicate")
    near_dup_min_words: int = Field(24, ge=4, description="examples with fewer words (system turn excluded) are not checked for near-duplicates")
