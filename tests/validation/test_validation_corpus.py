"""The corpus of bad inputs: each gets its reason (what, where, how to fix) and stays byte-identical."""

from __future__ import annotations

import hashlib
import os
import stat
import tracemalloc
from pathlib import Path

import pytest

from backend.validation import LINE_CODES, FILE_CODES, REASONS, validate_quest
from backend.validation.report import LEVELS
from validation.corpus import BadCase, build_corpus

EXPECTED_KINDS = {
    "malformed_json", "empty_file", "binary_garbage", "huge_single_line", "wrong_role", "missing_role",
    "no_assistant", "last_not_assistant", "unknown_schema_detected", "unknown_schema_declared", "ambiguous_schema",
    "mixed_schema", "invalid_utf8", "nul_byte", "control_chars_in_name", "symlink", "directory", "fifo",
    "json_array", "json_number", "content_not_string", "empty_content", "system_not_first", "unknown_key",
    "completion_missing_completion", "syllo_invalid_record", "over_length_tokens", "answer_leak",
    "eval_overlap", "near_duplicate",
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BadCase]:
    return {c.name: c for c in build_corpus(tmp_path_factory.mktemp("corpus") / "inbox")}


def fingerprint(path: Path) -> tuple:
    st = os.lstat(path)
    if stat.S_ISREG(st.st_mode):
        with open(path, "rb") as f:
            return ("file", st.st_size, st.st_mtime_ns, hashlib.sha256(f.read()).hexdigest())
    if stat.S_ISLNK(st.st_mode):
        return ("link", os.readlink(path), st.st_mtime_ns)
    return ("other", stat.S_IFMT(st.st_mode), st.st_mtime_ns, st.st_ino)


def test_corpus_has_every_kind(corpus: dict[str, BadCase]) -> None:
    assert len(corpus) >= 25
    assert EXPECTED_KINDS <= set(corpus), EXPECTED_KINDS - set(corpus)
    for case in corpus.values():
        assert case.code in REASONS
        assert case.code in (FILE_CODES if case.file_level else LINE_CODES), case


CASE_NAMES = sorted(EXPECTED_KINDS | {
    "gzip_compressed", "blank_lines_only", "bad_sidecar", "truncated_last_line", "deep_nesting", "utf8_bom",
    "json_string", "first_not_user", "consecutive_users", "messages_not_list", "empty_messages", "unknown_turn_key",
    "lone_surrogate", "completion_not_string", "stray_carriage_return", "forged_user_turn", "trained_control_token",
    "control_token_in_reasoning", "completion_control_token", "utf16_with_bom", "utf16be_no_bom",
})


@pytest.mark.parametrize("name", CASE_NAMES)
def test_bad_input_is_rejected_with_its_reason(name: str, corpus: dict[str, BadCase], tiny_tokenizer: Path) -> None:
    case = corpus[name]
    before = fingerprint(case.path)
    side_before = fingerprint(case.sidecar) if case.sidecar else None
    report = validate_quest(
        case.path, level=case.level, policy="quarantine", max_bad_fraction=0.2, max_length=512, tokenizer_file=tiny_tokenizer,
    )
    assert report.verdict == "reject" and not report.accepted, report.summary
    assert report.validator and report.validator_version
    if case.file_level:
        codes = [e.code for e in report.file_errors]
        assert codes[0] == case.code, report.file_errors
        err = report.file_errors[0]
        assert err.message and err.fix == REASONS[case.code].fix
    else:
        assert report.reason_counts.get(case.code), report.reason_counts
        first = report.bad_lines[0]
        assert (first.line, first.code) == (case.line, case.code), report.bad_lines
        assert first.message and first.fix and first.byte_offset >= 0
        assert all(ch.isprintable() for ch in first.excerpt), first.excerpt
        assert len(first.excerpt) <= 200
        assert f"line {case.line}" in report.reason_text()
        # the rejection itself names the first bad line (what the quest list shows)
        assert f"first bad line {case.line}: {case.code}" in report.file_errors[0].message
    assert report.summary.startswith("reject")
    # never modified (nor, for a symlink, its target)
    assert fingerprint(case.path) == before
    if case.sidecar:
        assert fingerprint(case.sidecar) == side_before
    # (how fast a hostile file is refused is benchmarks/validate.py's figure, not a timed assertion)
    # the report is JSON round-trippable (the daemon stores it)
    assert type(report).model_validate_json(report.model_dump_json()) == report


@pytest.mark.parametrize("policy", ["reject", "quarantine"])
def test_every_case_is_rejected_under_both_policies_at_deep(policy: str, corpus: dict[str, BadCase], tiny_tokenizer: Path) -> None:
    for case in corpus.values():
        report = validate_quest(case.path, level="deep", policy=policy, max_length=512, tokenizer_file=tiny_tokenizer)
        assert report.verdict == "reject", (case.name, report.summary)
        all_codes = {e.code for e in report.file_errors} | set(report.reason_counts)
        assert case.code in all_codes, (case.name, all_codes)


def test_cases_need_their_level(corpus: dict[str, BadCase], tiny_tokenizer: Path) -> None:
    """A STANDARD or DEEP case is not caught below its level (the levels really differ)."""
    for case in corpus.values():
        if case.level == "quick":
            continue
        below = LEVELS[LEVELS.index(case.level) - 1]
        report = validate_quest(case.path, level=below, max_length=512, tokenizer_file=tiny_tokenizer)
        assert report.verdict == "pass", (case.name, report.summary)


def test_huge_line_fails_without_holding_it_in_memory(corpus: dict[str, BadCase]) -> None:
    case = corpus["huge_single_line"]
    assert case.path.stat().st_size > 50 * 1024 * 1024
    tracemalloc.start()
    try:
        report = validate_quest(case.path, level="quick")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, f"{peak:,} bytes held at once for a 50 MB line"  # streamed, never held whole
    bad = report.bad_lines[0]
    assert bad.code == "line_too_long" and "52,428,8" in bad.message
    assert len(bad.excerpt) < 200
    assert report.file_errors[0].code == "no_good_lines"


def test_fifo_is_never_opened(corpus: dict[str, BadCase]) -> None:
    """No writer ever opens the FIFO: a blocking open would hang this test."""
    report = validate_quest(corpus["fifo"].path, level="deep")
    assert report.file_errors[0].code == "special_file" and "FIFO" in report.file_errors[0].message
