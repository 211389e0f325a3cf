"""write_quest: JSONL lines in chat_sft_v1 or syllo_v1, the lineage sidecar, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.questgen import quest_filename, write_quest
from contracts.quest_meta import QuestMeta, meta_path_for
from skills.base import LevelOutOfRange, SkillError
from skills.syllo import syllo_to_chat, validate_syllo


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_chat_quest_and_sidecar(tmp_path: Path, bin_skill) -> None:
    out = tmp_path / "inbox" / quest_filename("bin", 2, 7)
    assert out.name == "bin-L02-s7.jsonl"
    meta = write_quest(bin_skill, 2, 4500, 7, out)
    rows = lines(out)
    assert len(rows) == 4500
    assert rows == [p.to_chat() for p in bin_skill.sample(2, 4500, 7)]
    for row in rows[:50]:
        assert [m["role"] for m in row["messages"]] == ["user", "assistant"]
    side = QuestMeta.model_validate_json(meta_path_for(out).read_text(encoding="utf-8"))
    assert side == meta
    assert (side.quest_schema, side.generator_id, side.generator_version, side.skill, side.level, side.seed, side.count) == (
        "chat_sft_v1", "skills.bin", "3", "bin", 2, 7, 4500)
    assert side.created
    assert sorted(p.name for p in out.parent.iterdir()) == ["bin-L02-s7.jsonl", "bin-L02-s7.jsonl.meta.json"]
    assert out.stat().st_mode & 0o777 == 0o644


def test_syllo_quest(tmp_path: Path, sy_skill) -> None:
    out = tmp_path / "sy.jsonl"
    meta = write_quest(sy_skill, 6, 30, 1, out, "syllo_v1")
    rows = lines(out)
    assert meta.quest_schema == "syllo_v1" and len(rows) == 30
    assert all(validate_syllo(r) == [] for r in rows)
    assert [syllo_to_chat(r) for r in rows] == [p.to_chat() for p in sy_skill.sample(6, 30, 1)]


def test_progress_is_reported(tmp_path: Path, bin_skill) -> None:
    seen: list[tuple[int, int]] = []
    write_quest(bin_skill, 1, 5000, 0, tmp_path / "q.jsonl", progress=lambda done, total: seen.append((done, total)))
    assert seen == [(2000, 5000), (4000, 5000), (5000, 5000)]


@pytest.mark.parametrize(("args", "error"), [
    ((99, 10, 0, "chat_sft_v1"), LevelOutOfRange),
    ((1, 10, 0, "syllo_v1"), SkillError),
    ((1, 0, 0, "chat_sft_v1"), SkillError),
])
def test_failures_leave_nothing_behind(tmp_path: Path, bin_skill, args, error) -> None:
    level, count, seed, fmt = args
    with pytest.raises(error):
        write_quest(bin_skill, level, count, seed, tmp_path / "q.jsonl", fmt)
    assert list(tmp_path.iterdir()) == []


def test_overwrites_atomically(tmp_path: Path, bin_skill) -> None:
    out = tmp_path / "q.jsonl"
    write_quest(bin_skill, 1, 10, 0, out)
    write_quest(bin_skill, 3, 20, 5, out)
    assert len(lines(out)) == 20 and QuestMeta.model_validate_json(meta_path_for(out).read_text()).level == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q.jsonl", "q.jsonl.meta.json"]


def test_mixed_quest_shuffles_the_rehearsal_in_deterministically(bin_skill, sy_skill, tmp_path: Path) -> None:
    from backend.questgen import QuestPart, write_mixed_quest

    parts = [QuestPart(bin_skill, 2, 300), QuestPart(sy_skill, 1, 100)]
    meta = write_mixed_quest(parts, 5, tmp_path / "a.jsonl")
    write_mixed_quest(parts, 5, tmp_path / "b.jsonl")
    text = (tmp_path / "a.jsonl").read_text(encoding="utf-8")
    assert text == (tmp_path / "b.jsonl").read_text(encoding="utf-8")  # same parts and seed, same file
    lines = [json.loads(line) for line in text.splitlines()]
    users = [m["content"] for ex in lines for m in ex["messages"] if m["role"] == "user"]
    bin_users = [p.prompt_text for p in bin_skill.sample(2, 300, 5)]
    sy_users = [p.prompt_text for p in sy_skill.sample(1, 100, 5)]
    assert [u for u in users if u in set(bin_users)] == bin_users  # each stream keeps its own order
    assert [u for u in users if u in set(sy_users)] == sy_users and len(users) == 400
    first_sy = users.index(sy_users[0])
    assert first_sy < 100 and users[-1] in set(bin_users) | set(sy_users)  # mixed through, not appended
    assert (meta.skill, meta.level, meta.count, meta.seed) == ("bin", 2, 400, 5)
    assert [(r.skill, r.level, r.count, r.generator_id) for r in meta.replay] == [("sy", 1, 100, "skills.syllo")]
    sidecar = json.loads(meta_path_for(tmp_path / "a.jsonl").read_text())
    assert sidecar["replay"][0]["count"] == 100 and sidecar["count"] == 400
    with pytest.raises(SkillError, match="count must be at least 1"):
        write_mixed_quest([QuestPart(bin_skill, 2, 10), QuestPart(sy_skill, 1, 0)], 5, tmp_path / "c.jsonl")
    assert not (tmp_path / "c.jsonl").exists()
