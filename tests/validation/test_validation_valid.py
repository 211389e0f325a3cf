"""Valid files of every schema pass at every level; detection; token counts; details of the line rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.validation import VALIDATOR_NAME, VALIDATOR_VERSION, ValidationLimits, validate_quest
from backend.validation.standard import load_tokenizer, render_chatml
from contracts.quest_meta import QuestMeta
from validation.corpus import chat, good_chat, jsonl, syllo_records, write_chat_file, write_completion_file, write_syllo_file

LEVELS = ["quick", "standard", "deep"]


def run(path: Path, level: str, tok: Path, **kw):
    return validate_quest(path, level=level, max_length=512, tokenizer_file=tok, **kw)


@pytest.mark.parametrize("level", LEVELS)
def test_valid_chat_passes(level: str, tmp_path: Path, tiny_tokenizer: Path) -> None:
    path = write_chat_file(tmp_path / "chat.jsonl", 200)
    before = path.read_bytes()
    r = run(path, level, tiny_tokenizer)
    assert r.verdict == "pass" and r.accepted, r.summary
    assert (r.counts.lines, r.counts.ok, r.counts.bad, r.counts.blank) == (200, 200, 0, 0)
    assert r.quest_schema == "chat_sft_v1" and r.schema_source == "detected"
    assert r.levels_run == LEVELS[: LEVELS.index(level) + 1]
    assert (r.validator, r.validator_version) == (VALIDATOR_NAME, VALIDATOR_VERSION)
    assert r.file_errors == [] and r.bad_lines == [] and r.warnings == []
    assert r.sha256 and r.size_bytes == len(before)
    if level != "quick":
        assert r.tokens is not None and r.tokens.examples == 200 and 0 < r.tokens.max <= 512
        assert r.top_answer_share is not None and r.top_answer_share < 0.5
    assert path.read_bytes() == before


@pytest.mark.parametrize("level", LEVELS)
def test_valid_completion_passes(level: str, tmp_path: Path, tiny_tokenizer: Path) -> None:
    r = run(write_completion_file(tmp_path / "c.jsonl", 60), level, tiny_tokenizer)
    assert r.verdict == "pass" and r.quest_schema == "completion_v1", r.summary


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("declared", [True, False])
def test_valid_syllo_passes(level: str, declared: bool, tmp_path: Path, tiny_tokenizer: Path) -> None:
    r = run(write_syllo_file(tmp_path / "sy.jsonl", 120, sidecar=declared), level, tiny_tokenizer)
    assert r.verdict == "pass", (r.summary, r.bad_lines[:3])
    assert r.quest_schema == "syllo_v1"
    assert r.schema_source == ("sidecar" if declared else "detected")
    if level != "quick":
        assert r.tokens is not None and r.tokens.examples == 120


@pytest.mark.parametrize("skill,level", [("bin", 12), ("bin", 25), ("sy", 2), ("sy", 20)])
def test_skill_generated_quests_pass_deep(skill: str, level: int, tmp_path: Path, tiny_tokenizer: Path) -> None:
    """What the daemon's own auto-generation writes passes DEEP: no false leak, overlap or near-duplicate."""
    from skills.catalog import builtin_skills

    problems = builtin_skills()[skill].sample(level, 300, seed=3)
    unique = list({p.prompt_text: p for p in problems}.values())  # a sample may repeat a problem (a true duplicate)
    assert len(unique) > 250
    path = tmp_path / f"{skill}.jsonl"
    path.write_bytes(jsonl(*(p.to_chat() for p in unique)))
    r = validate_quest(path, level="deep", max_length=4096, tokenizer_file=tiny_tokenizer)
    assert r.verdict == "pass", (r.summary, r.bad_lines[:3])


def test_sidecar_schema_is_used_and_meta_argument_overrides(tmp_path: Path, tiny_tokenizer: Path) -> None:
    path = write_chat_file(tmp_path / "q.jsonl", 5)
    (tmp_path / "q.jsonl.meta.json").write_text(QuestMeta(schema="chat_sft_v1", generator_id="t").dump())
    r = run(path, "quick", tiny_tokenizer)
    assert (r.quest_schema, r.schema_source) == ("chat_sft_v1", "sidecar")
    # an explicit meta wins over the sidecar; a dict works too
    r = run(path, "quick", tiny_tokenizer, meta={"schema": "completion_v1"})
    assert r.verdict == "reject" and r.reason_counts == {"schema_mismatch": 5}
    r = run(path, "quick", tiny_tokenizer, meta=QuestMeta(generator_id="x"))
    assert (r.verdict, r.schema_source) == ("pass", "detected")
    r = run(path, "quick", tiny_tokenizer, find_sidecar=False)
    assert r.schema_source == "detected"


def test_declared_schema_marks_foreign_lines_instead_of_rejecting_the_file(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_bytes(jsonl(*(good_chat(i) for i in range(9)), {"prompt": "p", "completion": "c"}))
    r = validate_quest(path, level="quick", meta={"schema": "chat_sft_v1"})
    assert r.verdict == "quarantine" and r.bad_lines[0].code == "schema_mismatch" and r.bad_lines[0].line == 10
    assert "declared in its sidecar" in r.bad_lines[0].message
    # undeclared, the schema is the first line's, and the foreign line is set aside the same way
    r = validate_quest(path, level="quick")
    assert r.verdict == "quarantine" and r.bad_lines[0].code == "schema_mismatch" and r.bad_lines[0].line == 10
    assert "detected from line 1" in r.bad_lines[0].message


def test_line_endings_blank_lines_and_a_last_line_without_newline(tmp_path: Path, tiny_tokenizer: Path) -> None:
    path = tmp_path / "q.jsonl"
    body = jsonl(good_chat(1)).replace(b"\n", b"\r\n") + b"\n  \n" + json.dumps(good_chat(2)).encode()
    path.write_bytes(body)
    r = run(path, "standard", tiny_tokenizer)
    assert r.verdict == "pass", r.summary
    assert (r.counts.lines, r.counts.ok, r.counts.blank) == (4, 2, 2)
    assert [w.code for w in r.warnings] == ["blank_lines"]
    strict = ValidationLimits(blank_lines="reject")
    r = validate_quest(path, level="quick", limits=strict, max_bad_fraction=0.9)
    assert r.verdict == "quarantine" and r.bad_ranges == {"blank_line": [(2, 3)]}


def test_reasoning_content_and_unicode_are_accepted(tmp_path: Path, tiny_tokenizer: Path) -> None:
    rec = {"messages": [
        {"role": "system", "content": "Réponds en français 🙂"},
        {"role": "user", "content": "2+2 ? 漢字\u2028ok"},
        {"role": "assistant", "content": "4", "reasoning_content": "deux plus deux"},
        {"role": "user", "content": "et 3+3 ?"},
        {"role": "assistant", "content": "6", "reasoning_content": None},
    ]}
    path = tmp_path / "q.jsonl"
    path.write_bytes(jsonl(rec))
    r = run(path, "deep", tiny_tokenizer)
    assert r.verdict == "pass", (r.summary, r.bad_lines)


def test_token_count_matches_the_engine_chatml_rendering(tiny_tokenizer: Path) -> None:
    """The STANDARD rendering is the engine's `chatml` rendering, character for character."""
    import engine.chat as chat_mod
    messages = [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "hi\nthere"},
        {"role": "assistant", "content": "yo", "reasoning_content": "think a bit"},
        {"role": "user", "content": "again"},
        {"role": "assistant", "content": "done"},
    ]
    engine_text = "".join(s.text for s in chat_mod.render_segments(messages, "chatml"))
    from backend.validation.spec import to_example

    ex = to_example(1, 0, b"", {"messages": messages}, "chat_sft_v1")
    ours = render_chatml(ex.turns, ex.reasoning)
    assert ours == engine_text
    tok = load_tokenizer(tiny_tokenizer)
    assert tok.token_to_id("<|im_start|>") is not None
    assert len(tok.encode(ours, add_special_tokens=False).ids) < len(ours)


def test_over_length_boundary(tmp_path: Path, tiny_tokenizer: Path) -> None:
    tok = load_tokenizer(tiny_tokenizer)
    rec = chat("a " * 100, "b")
    n = len(tok.encode(render_chatml([(m["role"], m["content"]) for m in rec["messages"]]), add_special_tokens=False).ids)
    path = tmp_path / "q.jsonl"
    path.write_bytes(jsonl(rec))
    assert validate_quest(path, level="standard", max_length=n, tokenizer_file=tiny_tokenizer).verdict == "pass"
    r = validate_quest(path, level="standard", max_length=n - 1, tokenizer_file=tiny_tokenizer)
    assert r.bad_lines[0].code == "too_long_tokens" and f"{n:,} tokens" in r.bad_lines[0].message


def test_missing_tokenizer_is_a_warning_not_a_pass_of_unchecked_lengths(tmp_path: Path) -> None:
    path = write_chat_file(tmp_path / "q.jsonl", 3)
    r = validate_quest(path, level="standard", tokenizer_file=None)
    assert r.verdict == "pass" and r.tokens is None and [w.code for w in r.warnings] == ["no_tokenizer"]
    r = validate_quest(path, level="standard", tokenizer_file=tmp_path / "missing.json")
    assert [w.code for w in r.warnings] == ["no_tokenizer"] and "missing.json" in r.warnings[0].message


def test_answer_imbalance_warns(tmp_path: Path, tiny_tokenizer: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_bytes(jsonl(*(chat(f"Is {i} even?", "yes" if i % 5 else "no") for i in range(40))))
    r = run(path, "standard", tiny_tokenizer)
    assert r.verdict == "pass"
    assert [w.code for w in r.warnings] == ["answer_imbalance"] and "'yes'" in r.warnings[0].message
    assert r.top_answer_share == 0.8
    assert [w.code for w in run(path, "quick", tiny_tokenizer).warnings] == []


def test_extra_keys_can_be_allowed(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_bytes(jsonl({**good_chat(1), "id": "a1", "meta": {"src": "x"}}, {"prompt": "p", "completion": "c", "id": 3}))
    assert validate_quest(path, level="quick", meta={"schema": "chat_sft_v1"}).bad_lines[0].code == "unknown_key"
    limits = ValidationLimits(extra_keys=("id", "meta"))
    r = validate_quest(path, level="quick", limits=limits, meta={"schema": "chat_sft_v1"})
    assert [(b.line, b.code) for b in r.bad_lines] == [(2, "schema_mismatch")]
    bad = tmp_path / "b.jsonl"
    bad.write_bytes(jsonl({**good_chat(1), "meta": "not an object"}))
    assert validate_quest(bad, level="quick", limits=limits).bad_lines[0].code == "wrong_type"


def test_syllo_records_render_for_standard(tmp_path: Path, tiny_tokenizer: Path) -> None:
    recs = syllo_records(3)
    path = tmp_path / "sy.jsonl"
    path.write_bytes(jsonl(recs[0], recs[0], recs[1]))
    r = run(path, "standard", tiny_tokenizer, meta={"schema": "syllo_v1"})
    assert r.verdict == "pass" and [w.code for w in r.warnings] == ["duplicate_lines"]  # rendered, then compared


def test_spec_validator_detect() -> None:
    from backend.validation import SpecValidator

    spec = SpecValidator()
    assert spec.detect([good_chat(1), 3, good_chat(2)]) == ("chat_sft_v1", None)
    assert spec.detect([{"prompt": "a", "completion": "b"}]) == ("completion_v1", None)
    assert spec.detect(syllo_records(1)) == ("syllo_v1", None)
    assert spec.detect([{"instruction": "x"}])[1][0] == "unknown_schema"
    assert spec.detect([good_chat(1), {"prompt": "a", "completion": "b"}])[1][0] == "mixed_schema"
    assert spec.detect([{"messages": [], "completion": "b"}])[1][0] == "ambiguous_schema"
    assert spec.checker("chat_sft_v1")(good_chat(1), False) is None
    with pytest.raises(ValueError):
        spec.checker("alpaca")
