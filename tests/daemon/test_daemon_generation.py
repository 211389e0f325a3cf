"""Auto-generation in the real daemon: the curriculum's quest, sized by tokens, with the
other enabled skill mixed in to rehearse (curriculum.rehearsal, scaled by how much there
is to rehearse), through the real validation pipeline."""

from __future__ import annotations

import json

import pytest

from backend.config.edit import set_value
from backend.curriculum import FULL_REHEARSAL_WEIGHT, OTHER_SKILL_WEIGHT
from backend.quest_size import mean_example_tokens
from backend.skill_registry import load_skills
from contracts.quest_meta import QuestMeta, meta_path_for
from daemon.harness import store_of, wait_until

pytestmark = pytest.mark.slow


def skill_of(line: str) -> str:
    user = [m["content"] for m in json.loads(line)["messages"] if m["role"] == "user"][0]
    return "bin" if set(user) <= set("⓪① +-×÷?=") else "sy"


async def test_auto_quest_rehearses_the_other_skill(save, daemon, nano_base) -> None:
    for key, value in {"curriculum.auto_generate.enabled": "true", "curriculum.auto_generate.tokens": "80000",
                       "curriculum.focus": "bin", "curriculum.strategy": "focus", "curriculum.rehearsal": "0.25",
                       "training.max_steps_per_quest": "1"}.items():
        config, problems = set_value(save.config_path, key, value)
        assert config is not None, problems
    daemon.start()
    store = await store_of(save)
    try:
        async def first_quest():
            quests = await store.quests.list()
            return quests[0] if quests and quests[0].state not in ("validating",) else None

        quest = await wait_until(first_quest, 120, "an auto-generated quest to pass validation")
        assert quest.validation["verdict"] == "pass", quest.validation

        async def files():  # the one-step battle may move the file on (queued -> processing -> completed)
            current = await store.quests.get(quest.id)
            path = save.root / current.path
            try:
                return (QuestMeta.model_validate_json(meta_path_for(path).read_text()),
                        path.read_text(encoding="utf-8").splitlines())
            except FileNotFoundError:
                return None

        meta, lines = await wait_until(files, 30, "the quest file where the database says it is")
        assert (meta.skill, meta.level) == ("bin", 1)
        assert meta.replay is not None and [(r.skill, r.level) for r in meta.replay] == [("sy", 1)]
        assert len(lines) == meta.count == quest.examples
        kinds = [skill_of(line) for line in lines]
        assert kinds.count("sy") == meta.replay[0].count and kinds.count("bin") == meta.count - meta.replay[0].count
        assert "sy" in kinds[: len(kinds) // 2] and "sy" in kinds[len(kinds) // 2:]  # shuffled in, not appended
        skills, tokenizer = load_skills(), save.base_model_dir / "tokenizer.json"
        sy_tokens = kinds.count("sy") * mean_example_tokens(skills["sy"], 1, tokenizer)
        bin_tokens = kinds.count("bin") * mean_example_tokens(skills["bin"], 1, tokenizer)
        # a fresh save has little to rehearse: curriculum.rehearsal (25 %) x SY's weight / the full weight
        expected = 0.25 * OTHER_SKILL_WEIGHT / FULL_REHEARSAL_WEIGHT
        assert abs(sy_tokens / (sy_tokens + bin_tokens) - expected) < 0.015, (sy_tokens, bin_tokens, expected)
    finally:
        await store.close()
        daemon.stop()
