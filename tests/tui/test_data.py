"""The TUI's read models and text helpers, against a real store."""

from __future__ import annotations

import json

from backend.config.model import GameRules, RealmConfig
from backend.event_kinds import EventKind
from backend.progression import replay
from backend.store import Store
from game.data.eventtext import TEXT, describe
from game.data.feed import EventFeed
from game.data.quests import read_quests, validation_summary
from game.data.settings import leaves, setting_rows
from game.data.state import TuiState, load_state, save_state
from game.paths import check_file, check_folder, complete_path
from game.render import bar, clip, sparkline


async def test_feed_folds_incrementally_like_a_full_replay(tmp_path) -> None:
    async with await Store.open(tmp_path / "realm.db", create=True) as store:
        for i in range(1, 1201):  # a long history: folded off the event loop
            await store.events.append(EventKind.CHECKPOINT_SAVED, {"step": i * 10, "train_loss": 1.0 / i, "skill": "bin"})
        feed = EventFeed(GameRules())
        first = await feed.pull(store, keep_all=True)
        assert len(first) == 1200
        await store.events.append(EventKind.QUEST_COMPLETED, {"quest_id": 1, "name": "q", "final_step": 12_500})
        new = await feed.pull(store)
        assert [e.kind for e in new] == [EventKind.QUEST_COMPLETED]
        assert await feed.pull(store) == []
        full = replay(await store.events.since(0), GameRules())
        assert feed.stats.snapshot() == full.snapshot()
        assert feed.stats.level == 13 and feed.stats.gold == 100
        assert len(feed.recent_events(500)) == 200


def test_every_event_kind_reads_well() -> None:
    for kind in EventKind:
        text = describe(kind, {})
        assert text and "{" not in text, kind
    assert describe(EventKind.QUEST_COMPLETED, {"name": "a.jsonl", "skill": "bin", "level": 3, "steps": 1200}) == \
        "Quest complete: a.jsonl (BIN L3) in 1,200 steps"
    assert describe("something_new", {}) == "something new"
    assert EventKind.ACHIEVEMENT in TEXT


def test_text_helpers() -> None:
    assert bar(5, 10, 10) == "█████░░░░░"
    assert bar(0, 0, 4) == "░░░░"
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8], 8) == "▁▂▃▄▅▆▇█"
    assert sparkline([0.2], 4, 0.0, 1.0) == "▂"
    assert sparkline([], 4) == ""
    assert sparkline([1.0, None, 2.0], 3) == "▁ █"
    assert clip("a  long   name", 8) == "a long …"


def test_validation_summary() -> None:
    assert validation_summary(None, None, None) == "—"
    assert validation_summary("pass", 0, None) == "pass"
    assert validation_summary("quarantine", 2, None) == "quarantine: 2 bad lines"
    assert validation_summary("reject", None, "not_utf8") == "reject: not_utf8"


async def test_quest_rows_follow_the_live_battle(seeded) -> None:
    async with await Store.open(seeded.db_path) as store:
        rows = await read_quests(store)
    battle = rows[0]
    assert (battle.id, battle.state, battle.steps_done, battle.steps_total) == (2, "processing", 300, 800)
    assert battle.skill_text == "BIN L2"
    assert [r.id for r in rows] == [2, 3, 5, 4, 1]


def test_settings_rows_mark_locks_and_environment() -> None:
    config = RealmConfig()
    keys = [k for k, _, _ in leaves(config)]
    assert "curriculum.skills.sy.priority" in keys and "hero.nano.hidden_size" in keys
    rows = {r.key: r for r in setting_rows(config, {"step": 5}, {"REALM_TRAINING__LEARNING_RATE": "0.1"})}
    assert rows["hero.nano.hidden_size"].locked and rows["training.max_length"].locked
    assert not rows["training.learning_rate"].locked
    assert rows["training.learning_rate"].env == "REALM_TRAINING__LEARNING_RATE"
    assert not any(r.locked for r in setting_rows(config, None, {}))


def test_path_completion(tmp_path) -> None:
    (tmp_path / "quests").mkdir()
    (tmp_path / "quests" / "bin-1.jsonl").write_text("{}\n")
    (tmp_path / "quiet.txt").write_text("")
    assert complete_path(str(tmp_path / "que")) == str(tmp_path / "quests") + "/"
    assert complete_path(str(tmp_path / "quests" / "b")) == str(tmp_path / "quests" / "bin-1.jsonl")
    assert complete_path(str(tmp_path / "qui"), directories_only=True) is None
    assert complete_path(str(tmp_path / "nothing" / "x")) is None
    assert check_file(str(tmp_path / "quests" / "bin-1.jsonl")) is None
    assert "does not exist" in check_file(str(tmp_path / "nope.jsonl"))
    assert "full path" in check_file("relative.jsonl")
    assert "is a file" in check_folder(str(tmp_path / "quiet.txt"))
    assert check_folder(str(tmp_path / "new-folder")) is None


def test_tui_state_survives_bad_files(tmp_path) -> None:
    path = tmp_path / "tui_state.json"
    assert load_state(path) is None
    path.write_text("{not json")
    assert load_state(path) is None
    path.write_text(json.dumps({"last_seen_event_id": "x"}))
    assert load_state(path) is None
    save_state(path, TuiState(7, 1.5, "realm-tavern"))
    assert load_state(path) == TuiState(7, 1.5, "realm-tavern")
