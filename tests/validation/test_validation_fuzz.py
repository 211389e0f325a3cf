"""Property tests: whatever the bytes, the validator returns a report (never raises, never writes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.validation import REASONS, ValidationReport, validate_quest, write_quarantine
from validation.corpus import good_chat, jsonl

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["messages", "role", "content", "prompt", "completion", "hidden", "pool", "id", "meta", "x"]) | st.text(max_size=5),
        inner, max_size=4,
    ),
    max_leaves=12,
)
turn = st.fixed_dictionaries(
    {"role": st.sampled_from(["system", "user", "assistant", "tool", ""]), "content": st.text(max_size=40) | st.integers()}
)
chats = st.fixed_dictionaries({"messages": st.lists(turn, max_size=5)})


def check_report(r: ValidationReport, data: bytes, path: Path) -> None:
    assert isinstance(r, ValidationReport)
    codes = [e.code for e in r.file_errors]
    assert "validator_error" not in codes, r.file_errors
    assert all(c in REASONS for c in codes + list(r.reason_counts) + [w.code for w in r.warnings])
    assert path.read_bytes() == data
    assert r.verdict in ("pass", "quarantine", "reject")
    if not r.file_errors:
        assert r.counts.ok + r.counts.bad + r.counts.blank == r.counts.lines
        assert r.verdict != "reject"
    assert sum(r.reason_counts.values()) == r.counts.bad
    for b in r.bad_lines:
        assert 1 <= b.line <= r.counts.lines
        assert all(ch.isprintable() for ch in b.excerpt)
    ValidationReport.model_validate_json(r.model_dump_json())


@FUZZ
@given(data=st.binary(max_size=2000), level=st.sampled_from(["quick", "standard", "deep"]))
def test_arbitrary_bytes_always_give_a_report(data: bytes, level: str, tmp_path: Path, tiny_tokenizer: Path) -> None:
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(data)
    r = validate_quest(path, level=level, tokenizer_file=tiny_tokenizer, max_length=64, max_bad_fraction=1.0)
    check_report(r, data, path)


@FUZZ
@given(lines=st.lists(st.one_of(json_values, chats), min_size=1, max_size=12), level=st.sampled_from(["quick", "standard", "deep"]))
def test_arbitrary_json_lines_always_give_a_report(lines: list, level: str, tmp_path: Path, tiny_tokenizer: Path) -> None:
    path = tmp_path / "fuzz.jsonl"
    data = b"".join(json.dumps(v).encode() + b"\n" for v in lines)
    path.write_bytes(data)
    r = validate_quest(path, level=level, tokenizer_file=tiny_tokenizer, max_length=64, max_bad_fraction=1.0)
    check_report(r, data, path)
    if r.accepted:  # the quarantine output always splits the file exactly
        q, c = tmp_path / "fuzz.q.jsonl", tmp_path / "fuzz.c.jsonl"
        res = write_quarantine(r, path, quarantine_path=q, clean_path=c)
        assert res.bad_lines == r.counts.bad and res.good_lines == r.counts.ok
        assert validate_quest(c, level=level, tokenizer_file=tiny_tokenizer, max_length=64, find_sidecar=False).verdict == "pass" or level != "quick"


@FUZZ
@given(garbage=st.binary(min_size=1, max_size=60), at=st.integers(min_value=0, max_value=5))
def test_garbage_among_good_lines_is_pinned_to_its_line(garbage: bytes, at: int, tmp_path: Path) -> None:
    good = [jsonl(good_chat(i)) for i in range(6)]
    bad = garbage.replace(b"\n", b" ") + b"\n"
    data = b"".join(good[:at]) + bad + b"".join(good[at:])
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(data)
    r = validate_quest(path, level="quick", max_bad_fraction=1.0)
    check_report(r, data, path)
    if not r.file_errors:
        assert set(r.bad_line_codes()) <= {at + 1}
        assert r.counts.ok >= 6


@pytest.mark.parametrize("name", ["a\nb.jsonl", "tab\there.jsonl", "zero\u200bwidth.jsonl", "bidi\u202efdp.jsonl", "del\x7f.jsonl"])
def test_unprintable_file_names(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(jsonl(good_chat(1)))
    r = validate_quest(path, level="quick")
    assert r.file_errors[0].code == "bad_file_name"
    assert r.file_name.isprintable() and all(ch.isprintable() for ch in r.file_errors[0].message)


def test_undecodable_file_name(tmp_path: Path) -> None:
    import os

    raw = os.fsencode(tmp_path) + b"/bad\xff.jsonl"
    with open(raw, "wb") as f:
        f.write(jsonl(good_chat(1)))
    r = validate_quest(Path(os.fsdecode(raw)), level="quick")
    assert r.file_errors[0].code == "bad_file_name" and "\\xff" in r.file_errors[0].message
