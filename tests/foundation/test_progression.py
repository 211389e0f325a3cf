import random

import pytest

from backend.config.model import GameRules
from backend.event_kinds import EventKind
from backend.progression import away_summary, replay
from backend.progression.achievements import load_achievements
from backend.progression.stats import LIVE_AFTER_STEPS, OWN_QUESTS, with_live_loss
from backend.store.events import Event


def log(*items: tuple[str, dict]) -> list[Event]:
    return [Event(i + 1, 1000.0 + i * 60, kind, payload) for i, (kind, payload) in enumerate(items)]


def battle_log() -> list[Event]:
    return log(
        (EventKind.SAVE_CREATED, {}),
        (EventKind.QUEST_STARTED, {"quest_id": 1, "skill": "bin", "level": 1}),
        (EventKind.CHECKPOINT_SAVED, {"step": 400, "train_loss": 2.0, "val_loss": 2.5, "skill": "bin"}),
        (EventKind.CHECKPOINT_SAVED, {"step": 400, "train_loss": 2.0, "val_loss": 2.5, "skill": "bin"}),  # resumed battle re-reports
        (EventKind.CHECKPOINT_SAVED, {"step": 1200, "train_loss": 0.5, "val_loss": 0.8, "skill": "bin"}),
        (EventKind.QUEST_COMPLETED, {"quest_id": 1, "name": "q1", "final_step": 1200}),
        (EventKind.EVALUATION, {"step": 1200, "skill": "bin", "level": 1, "accuracy": 0.8}),
        (EventKind.EVALUATION, {"step": 1300, "skill": "bin", "level": 1, "accuracy": 1.0}),
        (EventKind.EVALUATION, {"step": 1400, "skill": "bin", "level": 1, "accuracy": 0.6}),
        (EventKind.CHAMPION, {"step": 1200}),
    )


def test_stats_from_log() -> None:
    s = replay(battle_log(), GameRules())
    assert s.xp == 1200 and s.level == 2 and s.xp_in_level == (200, 1000)
    assert s.gold == 100 and s.quests_completed == 1
    # checkpoints' losses smoothed per skill (the re-reported one counts once)
    assert s.train_losses == {"bin": 0.7 * 2.0 + 0.3 * 0.5} and s.val_losses == {"bin": 0.7 * 2.5 + 0.3 * 0.8}
    assert s.atk == 100 / s.train_losses["bin"] and s.defense == 100 / s.val_losses["bin"]
    assert s.skill_levels == {"bin": 1}  # (0.8 + 1.0 + 0.6) / 3 = 0.8 >= 0.8
    assert s.training_level == 2 and s.acc is None  # ACC is the training level's: not evaluated yet
    assert s.champion_step == 1200
    more = replay(battle_log() + log((EventKind.EVALUATION, {"step": 1500, "skill": "bin", "level": 2, "accuracy": 0.4})))
    assert more.acc == 0.4


def test_atk_sums_each_skills_own_average_so_a_change_of_skill_moves_nothing() -> None:
    """BIN's loss is a tenth of SY's: one average over both made ATK jump tenfold at every change
    of quest. Per skill, a change of skill leaves ATK where it was; a skill's own loss moves it."""
    def cp(step: int, skill: str, loss: float) -> tuple[str, dict]:
        return EventKind.CHECKPOINT_SAVED, {"step": step, "skill": skill, "train_loss": loss, "val_loss": loss,
                                            "loss_ema": loss}

    s = replay(log(cp(50, "bin", 0.2), cp(100, "sy", 2.0), cp(150, "bin", 0.2), cp(200, "sy", 2.0)))
    assert s.train_losses == pytest.approx({"bin": 0.2, "sy": 2.0})
    assert s.atk == pytest.approx(100 / 0.2 + 100 / 2.0) and s.defense == pytest.approx(s.atk)
    worse = replay(log(cp(50, "bin", 0.2), cp(100, "sy", 2.0), cp(150, "bin", 0.4)))
    assert worse.train_losses["bin"] == pytest.approx(0.7 * 0.2 + 0.3 * 0.4)  # a checkpoint moves its skill 30 % of the way
    own = replay(log(cp(50, "bin", 0.2), (EventKind.CHECKPOINT_SAVED, {"step": 100, "train_loss": 0.5})))
    assert own.train_losses == {"bin": 0.2, OWN_QUESTS: 0.5}  # the player's quests count as one more


def test_a_running_battle_moves_atk_for_its_skill_once_its_average_is_its_own() -> None:
    base = replay(log((EventKind.CHECKPOINT_SAVED, {"step": 50, "skill": "bin", "train_loss": 0.2}),
                      (EventKind.CHECKPOINT_SAVED, {"step": 100, "skill": "sy", "train_loss": 2.0}),
                      (EventKind.QUEST_STARTED, {"quest_id": 7, "skill": "bin", "level": 1})))
    early = with_live_loss(base, 7, LIVE_AFTER_STEPS - 1, 1.5)  # still mostly the SY quest's average
    assert early.train_losses == base.train_losses
    assert with_live_loss(base, 6, 500, 0.1).train_losses == base.train_losses  # another battle's step
    live = with_live_loss(base, 7, LIVE_AFTER_STEPS, 0.1)
    assert live.train_losses == {"bin": 0.1, "sy": 2.0} and live.atk == 100 / 0.1 + 100 / 2.0


def test_replay_twice_identical() -> None:
    events = battle_log()
    assert replay(events).snapshot() == replay(list(events)).snapshot()


def test_level_up_rule_at_boundary() -> None:
    rules = GameRules(level_up_accuracy=0.8, level_up_window=3)
    below = log(*[(EventKind.EVALUATION, {"skill": "bin", "level": 1, "accuracy": a, "step": i}) for i, a in enumerate([0.8, 0.8, 0.79])])
    at = log(*[(EventKind.EVALUATION, {"skill": "bin", "level": 1, "accuracy": a, "step": i}) for i, a in enumerate([0.8, 0.8, 0.8])])
    two = log(*[(EventKind.EVALUATION, {"skill": "bin", "level": 1, "accuracy": 1.0, "step": i}) for i in range(2)])
    assert replay(below, rules).skill_levels["bin"] == 0
    assert replay(at, rules).skill_levels["bin"] == 1
    assert replay(two, rules).skill_levels["bin"] == 0  # not enough evaluations yet


def test_levels_are_mastered_in_order() -> None:
    events = log(*[(EventKind.EVALUATION, {"skill": "sy", "level": 2, "accuracy": 1.0, "step": i}) for i in range(5)])
    assert replay(events).skill_levels["sy"] == 0


def test_each_achievement_fires_once() -> None:
    events = battle_log() * 3  # the same events replayed several times
    events = [Event(i + 1, e.ts, e.kind, e.payload) for i, e in enumerate(events)]
    s = replay(events)
    assert len(s.achievements) == len(set(s.achievements))
    for expected in ("first_steps", "first_blood", "level_2", "first_save", "first_eval", "first_champion", "bin_adept"):
        assert s.achievements.count(expected) == 1


def test_every_achievement_is_reachable_and_fires_once() -> None:
    table = load_achievements()
    rng = random.Random(7)
    items: list[tuple[str, dict]] = []
    step = 0
    for quest in range(120):
        step += rng.randint(50, 200)
        items += [
            (EventKind.QUEST_STARTED, {"quest_id": quest, "skill": "bin"}),
            (EventKind.CHECKPOINT_SAVED, {"step": step, "train_loss": 1.0, "val_loss": 1.0}),
            (EventKind.QUEST_COMPLETED, {"quest_id": quest, "final_step": step}),
            (EventKind.CHAMPION, {"step": step}),
        ]
    for skill in ("bin", "sy"):
        for level in range(1, 8):
            items += [(EventKind.EVALUATION, {"step": step, "skill": skill, "level": level, "accuracy": 1.0})] * 3
    s = replay(log(*items), achievements=table)
    assert sorted(s.achievements) == sorted(a.id for a in table)


def test_away_summary() -> None:
    events = battle_log()
    summary = away_summary(events, seen_id=2, now_ts=events[-1].ts + 30)
    assert summary.levels_gained == 1 and summary.level_now == 2
    assert summary.gold_gained == 100 and summary.quests_completed == ["q1"]
    assert summary.skill_level_ups == [("bin", 1)]
    assert summary.new_champions == [1200]
    assert "first_blood" in summary.achievements
    assert summary.elapsed_s == events[-1].ts + 30 - events[1].ts
    text = "\n".join(summary.lines())
    assert "You were away for 8m 30s" in text and "BIN mastered level 1" in text
    assert away_summary(events, seen_id=len(events)).empty
