"""The curriculum: level-up exactly at the rule's boundary and once; each strategy picks
exactly as its docstring says; auto-generation threshold and cooldown."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.config.model import AutoGenerateConfig, CurriculumConfig, GameRules, SkillPlan
from backend.curriculum import (
    Evaluation, LevelUp, SkillProgress, decide, level_up_due, new_progress, preview, record_evaluation,
    goal_lines, next_goal, rehearsal_levels, rehearsal_share, replay, should_generate, stalled, STALLED_AFTER_STEPS,
)

RULES = GameRules()  # 80 % over the last 3 evaluations


def progress(**mastered: int) -> dict[str, SkillProgress]:
    tops = {"bin": 30, "sy": 50, "zed": 10}
    return {s: new_progress(s, tops.get(s, 10), m) for s, m in mastered.items()}


def config(strategy: str = "equal", focus: str | None = None, **plans: SkillPlan) -> CurriculumConfig:
    return CurriculumConfig(strategy=strategy, focus=focus, skills=plans or {"bin": SkillPlan(), "sy": SkillPlan()})


# ----- level-up rule -------------------------------------------------------------------------


def feed(p: SkillProgress, level: int, accuracies: list[float], rules: GameRules = RULES) -> tuple[SkillProgress, list[LevelUp]]:
    ups = []
    for acc in accuracies:
        p, up = record_evaluation(p, level, acc, rules)
        if up:
            ups.append(up)
    return p, ups


def test_level_up_fires_exactly_at_the_boundary() -> None:
    p = new_progress("bin", 30)
    assert p.training_level == 1
    p, ups = feed(p, 1, [0.8, 0.8])
    assert ups == [] and p.mastered == 0  # two evaluations: window not full
    p, ups = feed(p, 1, [0.8])  # mean exactly 0.8 (4/5 correct three times)
    assert ups == [LevelUp("bin", 1, pytest.approx(0.8), 3)] and p.mastered == 1 and p.training_level == 2
    p, ups = feed(p, 1, [1.0, 1.0, 1.0])  # the mastered level never fires again
    assert ups == [] and p.mastered == 1 and p.accuracies(1) == (0.8, 0.8, 0.8, 1.0, 1.0, 1.0)


def test_just_below_the_boundary_does_not_fire() -> None:
    p, ups = feed(new_progress("bin", 30), 1, [1.0, 0.6, 0.8 - 1e-6])
    assert ups == [] and p.mastered == 0
    p, ups = feed(p, 1, [1.0])  # window 0.6, 0.8-, 1.0: just under 0.8
    assert ups == []
    p, ups = feed(p, 1, [0.8])  # window 0.8-, 1.0, 0.8: about 0.867, fires
    assert [u.level for u in ups] == [1]


def test_only_the_training_level_levels_up() -> None:
    p, ups = feed(new_progress("bin", 30), 2, [1.0, 1.0, 1.0])
    assert ups == [] and p.mastered == 0 and p.accuracies(2) == (1.0, 1.0, 1.0)
    p, ups = feed(p, 1, [1.0, 1.0, 1.0])
    assert [u.level for u in ups] == [1] and p.mastered == 1  # one level per evaluation
    p, ups = feed(p, 2, [1.0])  # level 2's window is now full of 1.0
    assert [u.level for u in ups] == [2] and p.mastered == 2


def test_maxed_skill_stays_maxed() -> None:
    p = new_progress("zed", 2, mastered=1)
    p, ups = feed(p, 2, [1.0, 1.0, 1.0])
    assert [u.level for u in ups] == [2] and p.maxed and p.training_level == 2
    p, ups = feed(p, 2, [1.0, 1.0, 1.0])
    assert ups == [] and p.mastered == 2


def test_custom_rule() -> None:
    rules = GameRules(level_up_accuracy=0.5, level_up_window=1)
    p, ups = feed(new_progress("bin", 30), 1, [0.4, 0.5], rules)
    assert [u.evaluations for u in ups] == [2]


def test_bad_input() -> None:
    with pytest.raises(ValueError):
        record_evaluation(new_progress("bin", 30), 1, 1.2, RULES)
    with pytest.raises(ValueError):
        record_evaluation(new_progress("bin", 30), 31, 1.0, RULES)
    with pytest.raises(ValueError):
        new_progress("bin", 30, mastered=31)


@settings(max_examples=200, deadline=None)
@given(accs=st.lists(st.sampled_from([0.0, 0.2, 0.4, 0.6, 0.8, 1.0]), max_size=12),
       window=st.integers(1, 5), threshold=st.sampled_from([0.6, 0.8, 1.0]))
def test_level_up_matches_the_rule_by_brute_force(accs: list[float], window: int, threshold: float) -> None:
    rules = GameRules(level_up_accuracy=threshold, level_up_window=window)
    expected = next((i + 1 for i in range(len(accs)) if i + 1 >= window
                     and sum(round(a * 5) for a in accs[i + 1 - window:i + 1]) >= round(threshold * 5) * window), None)
    p, ups = feed(new_progress("bin", 30), 1, accs, rules)
    assert [u.evaluations for u in ups if u.kind == "mastered"] == ([expected] if expected else [])
    assert p.mastered == (1 if expected else 0)
    assert level_up_due(accs, rules) == (len(accs) >= window and math.fsum(accs[-window:]) / window >= threshold - 1e-9)


def test_replay_is_deterministic_and_ignores_unknown_skills() -> None:
    history = [Evaluation("bin", 1, 0.8)] * 3 + [Evaluation("sy", 1, 1.0), Evaluation("ghost", 1, 1.0),
                                                  Evaluation("bin", 2, 1.0), Evaluation("bin", 99, 1.0)]
    first, ups = replay(history, {"bin": 30, "sy": 50}, RULES)
    again, ups2 = replay(history, {"bin": 30, "sy": 50}, RULES)
    assert first == again and ups == ups2
    assert first["bin"].mastered == 1 and first["sy"].mastered == 0 and [u.level for u in ups] == [1]


# ----- strategies ------------------------------------------------------------------------------


def picks(cfg: CurriculumConfig, prog: dict[str, SkillProgress], n: int, recent: list[str] | None = None) -> list[str]:
    return [d.skill for d in preview(cfg, prog, recent or [], n)]  # type: ignore[misc]


def test_equal_takes_turns() -> None:
    prog = progress(bin=0, sy=0)
    assert picks(config(), prog, 5) == ["bin", "sy", "bin", "sy", "bin"]  # ties: priority, then id
    assert picks(config(), prog, 3, ["bin"]) == ["sy", "bin", "sy"]  # oldest latest quest first
    assert picks(config(), prog, 2, ["sy", "sy", "bin"]) == ["sy", "bin"]
    cfg = config(bin=SkillPlan(), sy=SkillPlan(priority=5))
    assert picks(cfg, prog, 4) == ["sy", "bin", "sy", "bin"]  # priority breaks the first tie
    d = decide(config(), prog, ["bin", "sy"])
    assert d.skill == "bin" and d.level == 1 and d.strategy == "equal" and "2 quests ago" in d.reason


def test_equal_lets_a_level_on_the_verge_keep_its_turn() -> None:
    prog = progress(bin=2, sy=0)
    prog["bin"], _ = feed(prog["bin"], 3, [0.2, 0.6])  # BIN L3: 60 % at its latest evaluation
    d = decide(config(), prog, ["sy", "bin"])
    assert d.skill == "bin" and d.level == 3 and "on the verge (60%" in d.reason
    assert picks(config(), prog, 4, ["sy", "bin"]) == ["bin", "bin", "sy", "bin"]  # at most 3 in a row
    assert decide(config(), prog, ["bin", "sy"]).skill == "bin"  # SY's latest quest: BIN had the oldest turn anyway
    prog["bin"], _ = feed(prog["bin"], 3, [0.4])  # fell back below the verge
    assert decide(config(), prog, ["sy", "bin"]).skill == "sy"
    alone = {"bin": prog["bin"]}
    assert decide(config(bin=SkillPlan()), alone, ["bin", "bin", "bin"]).skill == "bin"  # the only skill


def test_focus_trains_the_focus_only_and_falls_back_to_equal() -> None:
    prog = progress(bin=3, sy=0)
    d = decide(config("focus", focus="sy"), prog, ["sy", "sy"])
    assert (d.skill, d.level) == ("sy", 1) and d.reason == "focus: realm.yaml focuses on sy"
    assert picks(config("focus", focus="sy"), prog, 3) == ["sy", "sy", "sy"]
    d = decide(config("focus", focus=None), prog, ["bin"])
    assert d.skill == "sy" and "no focus skill is set" in d.reason
    d = decide(config("focus", focus="sy", bin=SkillPlan(), sy=SkillPlan(enabled=False)), prog)
    assert d.skill == "bin" and "'sy' is disabled" in d.reason
    d = decide(config("focus", focus="chess"), prog, ["bin"])
    assert d.skill == "sy" and "'chess' is not installed" in d.reason
    maxed = {**prog, "sy": new_progress("sy", 50, 50)}
    d = decide(config("focus", focus="sy"), maxed)
    assert d.skill == "bin" and "'sy' is maxed" in d.reason


def test_weighted_follows_the_weights() -> None:
    cfg = config("weighted", bin=SkillPlan(weight=2), sy=SkillPlan(weight=1))
    prog = progress(bin=0, sy=0)
    seq = picks(cfg, prog, 30)
    assert seq.count("bin") == 20 and seq.count("sy") == 10
    # smallest (count + 1) / weight: bin 1/2, sy 1/1 -> bin; then bin 2/2 = sy 1/1 -> tie -> older latest (sy never) ...
    assert seq[:6] == ["bin", "sy", "bin", "bin", "sy", "bin"]
    d = decide(cfg, prog, ["bin", "bin", "bin"])
    assert d.skill == "sy" and "0 of 3 quests" in d.reason and "33%" in d.reason


def test_weighted_skips_zero_weights_and_falls_back() -> None:
    prog = progress(bin=0, sy=0)
    assert picks(config("weighted", bin=SkillPlan(weight=0), sy=SkillPlan(weight=1)), prog, 3) == ["sy"] * 3
    d = decide(config("weighted", bin=SkillPlan(weight=0), sy=SkillPlan(weight=0)), prog, ["bin"])
    assert d.skill == "sy" and "every weight is 0" in d.reason


def test_catch_up_trains_the_laggard() -> None:
    prog = progress(bin=5, sy=2)
    d = decide(config("catch-up"), prog, ["sy"] * 5)
    assert (d.skill, d.level) == ("sy", 3) and "fewest levels (2; bin 5)" in d.reason
    tie = progress(bin=2, sy=2)
    assert decide(config("catch-up"), tie, []).skill == "bin"  # ties: priority, older latest quest, id
    assert decide(config("catch-up"), tie, ["bin"]).skill == "sy"
    assert decide(config("catch-up", bin=SkillPlan(), sy=SkillPlan(priority=1)), tie, ["sy"]).skill == "sy"


def test_disabled_and_maxed_skills() -> None:
    cfg = config(bin=SkillPlan(enabled=False), sy=SkillPlan())
    assert picks(cfg, progress(bin=0, sy=0), 3) == ["sy"] * 3
    none = decide(config(bin=SkillPlan(enabled=False), sy=SkillPlan(enabled=False)), progress(bin=0, sy=0))
    assert none.skill is None and none.level is None and "no enabled skill" in none.reason
    prog = {"bin": new_progress("bin", 30, 30), "sy": new_progress("sy", 50, 4)}
    assert picks(config(), prog, 3) == ["sy"] * 3  # a maxed skill waits while another grows
    all_maxed = {"bin": new_progress("bin", 30, 30), "sy": new_progress("sy", 50, 50)}
    d = decide(config(), all_maxed)
    assert (d.skill, d.level) == ("bin", 30)  # everything maxed: keep training at the top level


def test_skills_missing_from_the_config_get_default_plans() -> None:
    prog = progress(bin=0, sy=0, zed=0)
    assert picks(config(bin=SkillPlan(), sy=SkillPlan()), prog, 3) == ["bin", "sy", "zed"]
    assert picks(config(chess=SkillPlan()), progress(bin=0), 2) == ["bin", "bin"]  # unknown listed skill ignored


def test_preview_does_not_change_progress() -> None:
    prog = progress(bin=1, sy=0)
    decisions = preview(config(), prog, [], 4)
    assert [(d.skill, d.level) for d in decisions] == [("bin", 2), ("sy", 1), ("bin", 2), ("sy", 1)]
    assert all(d.reason for d in decisions)


# ----- auto-generation ------------------------------------------------------------------------


def test_should_generate() -> None:
    cfg = CurriculumConfig(auto_generate=AutoGenerateConfig(threshold=2, cooldown_s=5.0))
    assert should_generate(0, cfg, None, 100.0)
    assert should_generate(1, cfg, None, 100.0)
    v = should_generate(2, cfg, None, 100.0)
    assert not v and "below 2" in v.reason
    v = should_generate(0, cfg, 96.0, 100.0)
    assert not v and v.wait_s == pytest.approx(1.0) and "cooling down" in v.reason
    assert should_generate(0, cfg, 95.0, 100.0)  # exactly the cooldown: go
    off = CurriculumConfig(auto_generate=AutoGenerateConfig(enabled=False))
    assert not should_generate(0, off, None, 0.0)
    never = CurriculumConfig(auto_generate=AutoGenerateConfig(threshold=0))
    assert not should_generate(0, never, None, 0.0)


def test_rehearsal_covers_the_other_skills_and_every_mastered_level() -> None:
    p = progress(bin=2, sy=0, zed=10)  # zed is maxed: rehearsed at its top level, and its levels below
    cfg = CurriculumConfig(skills={"bin": SkillPlan(), "sy": SkillPlan(), "zed": SkillPlan()})
    bin_quest = rehearsal_levels(cfg, p, "bin")
    assert [(s, lv) for s, lv, _ in bin_quest] == [("bin", 1), ("bin", 2), ("sy", 1), ("zed", 10)] + [
        ("zed", lv) for lv in range(1, 10)]
    sy_quest = rehearsal_levels(cfg, p, "sy")
    assert ("bin", 3, 0.5) in sy_quest and ("bin", 1) in [(s, lv) for s, lv, _ in sy_quest]
    assert all(not (s == "sy") for s, _, _ in sy_quest)  # sy has nothing mastered: its quest is its own level
    off = CurriculumConfig(skills={"bin": SkillPlan(), "sy": SkillPlan(enabled=False)})
    assert rehearsal_levels(off, progress(bin=0, sy=0), "bin") == []  # a disabled skill is not rehearsed
    assert rehearsal_levels(CurriculumConfig(rehearsal=0), progress(bin=0, sy=0), "bin") == []


def test_another_skills_level_is_held_the_more_the_more_of_it_is_learned() -> None:
    """A quest of BIN rehearses SY's training level with 0.5 while DIO knows none of it, and up to
    1.5 once its words come right (its mean partial credit over the last 3 evaluations)."""
    cfg = config()
    fresh = {w for s, lv, w in rehearsal_levels(cfg, progress(bin=0, sy=0), "bin") if s == "sy"}
    assert fresh == {0.5}  # a fresh save's first quests are as they were
    sy = new_progress("sy", 50)
    for score in (0.2, 0.8, 0.8, 0.8):
        sy, _ = record_evaluation(sy, 1, 0.4, RULES, score)
    learned = {w for s, lv, w in rehearsal_levels(cfg, {"bin": new_progress("bin", 30), "sy": sy}, "bin") if s == "sy"}
    assert len(learned) == 1 and learned.pop() == pytest.approx(0.5 + 1.0 * 0.8)


def test_review_weight_favours_shaky_and_long_unchecked_levels() -> None:
    p = new_progress("bin", 30)
    p, _ = feed(p, 1, [1.0, 1.0, 1.0])  # level 1 mastered
    p, _ = feed(p, 2, [1.0, 1.0, 1.0])  # level 2 mastered
    p, _ = feed(p, 1, [0.6])  # level 1 re-checked just now, a little shaky
    cfg = CurriculumConfig(skills={"bin": SkillPlan()})
    weights = {lv: w for _, lv, w in rehearsal_levels(cfg, {"bin": p}, "bin")}
    # level 1: shaky 1 - (1+1+0.6)/3, checked 0 evaluations ago; level 2: perfect, checked 1 ago
    assert weights[1] == pytest.approx(0.5 + (1 - 2.6 / 3))
    assert weights[2] == pytest.approx(0.5 + 1 / 20)
    p, _ = feed(p, 3, [0.2] * 20)  # twenty evaluations of the frontier later, level 2 has aged fully
    weights = {lv: w for _, lv, w in rehearsal_levels(cfg, {"bin": p}, "bin")}
    assert weights[2] == pytest.approx(1.5) and weights[1] > weights[2]


# ----- rusty and restored ---------------------------------------------------------------------


def test_three_low_rechecks_make_a_level_rusty() -> None:
    p, ups = feed(new_progress("bin", 30), 1, [1.0, 1.0, 0.8])
    assert [u.kind for u in ups] == ["mastered"] and p.training_level == 2
    p, ups = feed(p, 1, [0.4, 0.6])  # two low re-checks: not yet judged
    assert ups == [] and not p.rusty and p.training_level == 2
    p, ups = feed(p, 1, [0.4])  # three re-checks averaging 47 %: rusty
    assert [(u.kind, u.level, u.evaluations) for u in ups] == [("rusty", 1, 6)]
    assert ups[0].mean_accuracy == pytest.approx(1.4 / 3)
    assert p.rusty == {1} and p.mastered == 1 and p.training_level == 2 and p.held == [] and not p.maxed
    p, ups = feed(p, 1, [1.0, 1.0])  # window 0.4, 1.0, 1.0: 80 %, restored
    assert [(u.kind, u.level) for u in ups] == [("restored", 1)]
    assert not p.rusty and p.training_level == 2 and p.best(1) == 1.0 and p.latest(1) == 1.0
    p, ups = feed(p, 1, [0.0, 0.0])  # the count starts again after a restore
    assert ups == [] and not p.rusty


def test_a_rusty_level_takes_the_largest_share_of_the_rehearsal() -> None:
    p, _ = feed(new_progress("bin", 30), 1, [1.0, 1.0, 1.0])
    p, _ = feed(p, 2, [1.0, 1.0, 1.0])  # L1 and L2 mastered, L3 the frontier
    p, _ = feed(p, 1, [0.2, 0.2, 0.2])  # L1 rusty
    assert p.training_level == 3 and p.rusty == {1}  # the quest's own part stays at the frontier
    cfg = CurriculumConfig(skills={"bin": SkillPlan()}, rehearsal=0.4)
    parts = rehearsal_levels(cfg, {"bin": p}, "bin")
    weights = {lv: w for _, lv, w in parts}
    assert set(weights) == {1, 2} and weights[1] > 2.0 + weights[2]
    assert rehearsal_share(cfg, {"bin": p}, parts) == pytest.approx(0.6)  # raised while a level is rusty
    p, _ = feed(p, 1, [1.0, 1.0, 1.0])
    parts = rehearsal_levels(cfg, {"bin": p}, "bin")
    assert not p.rusty and rehearsal_share(cfg, {"bin": p}, parts) == pytest.approx(0.4 * min(1, sum(
        w for _, _, w in parts) / 2.5))


def test_a_fresh_save_rehearses_little_of_what_it_does_not_know_yet() -> None:
    cfg = CurriculumConfig(rehearsal=0.4)
    fresh = progress(bin=0, sy=0)
    parts = rehearsal_levels(cfg, fresh, "bin")
    assert parts == [("sy", 1, 0.5)] and rehearsal_share(cfg, fresh, parts) == pytest.approx(0.08)
    assert rehearsal_share(cfg, fresh, []) == 0.0


def test_rechecks_between_the_rusty_bar_and_mastery_keep_a_level_mastered() -> None:
    """Hysteresis: 5-problem re-checks of a level held at a true 85 % often average 67-73 %
    over three; only a mean below rules.rusty_below (60 %) makes it rusty."""
    p, _ = feed(new_progress("bin", 30), 1, [1.0, 1.0, 1.0])
    p, ups = feed(p, 1, [0.6, 0.8, 0.6, 0.8, 0.6])  # windows of 67 % and 73 %
    assert ups == [] and not p.rusty
    p, ups = feed(p, 1, [0.4])  # 0.8, 0.6, 0.4: 60 %, at the bar, not below it
    assert ups == [] and not p.rusty
    p, ups = feed(p, 1, [0.6])  # 0.6, 0.4, 0.6: 53 %
    assert [(u.kind, round(u.mean_accuracy, 4)) for u in ups] == [("rusty", round(1.6 / 3, 4))]
    p, ups = feed(p, 1, [0.8, 0.6])  # 0.6, 0.8, 0.6: 67 %, above the rusty bar but not restored
    assert ups == [] and p.rusty == {1}
    p, ups = feed(p, 1, [1.0, 1.0])  # 0.6, 1.0, 1.0: 87 %, restored by the mastery rule
    assert [u.kind for u in ups] == ["restored"]
    strict = GameRules(rusty_below=0.8)  # the old rule: rusty below the mastery bar
    q, _ = feed(new_progress("bin", 30), 1, [1.0, 1.0, 1.0], strict)
    q, ups = feed(q, 1, [0.6, 0.8, 0.8], strict)
    assert [u.kind for u in ups] == ["rusty"]


def test_a_rusty_bar_above_mastery_counts_as_the_mastery_bar() -> None:
    rules = GameRules(level_up_accuracy=0.5)  # rusty_below stays 0.6
    p, _ = feed(new_progress("bin", 30), 1, [0.6, 0.6, 0.6], rules)
    p, ups = feed(p, 1, [0.6, 0.4, 0.6], rules)  # 53 %: passes the 50 % rule, so not rusty
    assert ups == [] and p.mastered == 1 and not p.rusty
    p, ups = feed(p, 1, [0.4, 0.4], rules)  # 47 %
    assert [u.kind for u in ups] == ["rusty"]


def test_good_rechecks_keep_a_level_mastered() -> None:
    p, _ = feed(new_progress("bin", 30), 1, [1.0, 1.0, 1.0])
    p, ups = feed(p, 1, [0.8, 0.6, 1.0, 0.8])  # every window of three re-checks >= 80 %
    assert ups == [] and not p.rusty


def test_next_goal_names_the_level_its_scores_and_the_rule() -> None:
    p = new_progress("bin", 30, mastered=2)
    assert next_goal(p, RULES) == ("BIN L3: not evaluated yet; needs a mean of 80 % over 3 evaluations "
                                   "to master it")
    p, _ = feed(p, 3, [0.4, 0.2, 0.6, 0.0][:3])
    assert next_goal(p, RULES) == "BIN L3: 40 %, 20 %, 60 %; needs a mean of 80 % over 3 evaluations to master it"
    p, _ = feed(p, 1, [0.0, 0.0, 0.0])
    assert next_goal(p, RULES).endswith("to master it; rusty: L1 (0 %, 0 %, 0 %), each needs a mean of 80 % over "
                                        "3 evaluations to be restored")


def test_a_skill_is_stalled_after_ten_evaluations_at_zero_and_enough_steps_of_its_own() -> None:
    p, _ = feed(new_progress("sy", 50), 1, [0.0] * 9)
    assert not stalled(p, STALLED_AFTER_STEPS)
    p, _ = feed(p, 1, [0.0])
    assert stalled(p, STALLED_AFTER_STEPS)
    # ten evaluations come fast (every checkpoint of every skill's quests): a skill that has not
    # trained its own level for long is not stalled yet
    assert not stalled(p, STALLED_AFTER_STEPS - 1)
    p, _ = feed(p, 1, [0.2])  # one problem solved: it moves
    assert not stalled(p, STALLED_AFTER_STEPS)


def test_partial_credit_shows_a_skill_moving_before_it_solves_a_puzzle() -> None:
    p, _ = feed(new_progress("sy", 50), 1, [0.0] * 10)
    assert stalled(p, STALLED_AFTER_STEPS)
    p, _ = record_evaluation(p, 1, 0.0, RULES, score=0.35)  # a third of SY's words right, no puzzle whole
    assert not stalled(p, STALLED_AFTER_STEPS)
    assert next_goal(p, RULES) == ("SY L1: 0 %, 0 %, 0 % (latest: 35 % partial credit); needs a mean of 80 % "
                                   "over 3 evaluations to master it")
    assert goal_lines(p, RULES)[0] == "SY L1: 0 0 0%, partly 35%"
    p, _ = record_evaluation(p, 1, 0.2, RULES, score=0.2)  # BIN-like: the score is the accuracy
    assert "partial" not in next_goal(p, RULES)


def test_one_lucky_partial_score_does_not_lift_a_stall() -> None:
    """Moving means a mean partial credit of 20 % over the level's last 3 evaluations."""
    p = new_progress("sy", 50)
    for score in [0.0] * 9 + [0.05, 0.0, 0.2]:
        p, _ = record_evaluation(p, 1, 0.0, RULES, score=score)
    assert p.scores[1] == 0.2 and p.partial_mean(1, 3) == pytest.approx(0.25 / 3) and stalled(p, STALLED_AFTER_STEPS)
    p, _ = record_evaluation(p, 1, 0.0, RULES, score=0.3)
    assert stalled(p, STALLED_AFTER_STEPS)  # 0.0, 0.2, 0.3: 17 %
    p, _ = record_evaluation(p, 1, 0.0, RULES, score=0.3)
    assert not stalled(p, STALLED_AFTER_STEPS)  # 0.2, 0.3, 0.3: 27 %


def test_a_skill_that_mastered_levels_is_never_stalled_by_a_new_level() -> None:
    p, _ = feed(new_progress("bin", 30), 1, [1.0, 1.0, 1.0])
    p, _ = feed(p, 2, [0.0] * 20)  # a hard new level reads 0 % for a while
    assert p.training_level == 2 and not stalled(p, STALLED_AFTER_STEPS)
