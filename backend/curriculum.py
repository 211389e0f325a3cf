"""The curriculum: what DIO masters, and which skill the next generated quest trains.

Pure functions over plain data: no database, no clock, no randomness. The
daemon feeds in evaluation history (from SQLite) and the skills of the quests
it generated, and stores the decisions it gets back.

Progress
    Per skill: the mastered level (0 = none), the training level
    (mastered + 1, capped at the skill's max level) and the accuracy history
    of every level evaluated (oldest first).

Level-up rule (GameRules: level_up_accuracy, level_up_window)
    Recording an evaluation of a skill's *frontier* (mastered + 1) masters that
    level when the level has at least `level_up_window` evaluations and the mean
    of the last `level_up_window` of them is >= `level_up_accuracy` (compared
    with a 1e-9 tolerance, so 0.8 from 4/5 correct counts as 80 %). One
    evaluation masters at most one level; a maxed skill never levels up again.

Rusty and restored (GameRules: rusty_below; hysteresis against noise)
    Evaluations of a mastered level are re-checks. Once a mastered level has
    `level_up_window` re-checks since it was mastered (or restored) and their
    mean falls below `rusty_below` (60 %: below the 80 % that masters it, so a
    level held at a true 85 % is not flagged by the noise of 5-problem re-checks;
    measured in a 60-minute campaign: 35 of 36 rusty verdicts came from windows
    of 60-73 %), it is *rusty*: still counted as
    mastered (the skill level never goes down), evaluated at every checkpoint,
    and brought back into training: it takes the largest share of every
    generated quest's rehearsal (see `rehearsal_levels`, `rehearsal_share`)
    until it passes the mastery rule again (mean of its last window >=
    `level_up_accuracy`): then it is *restored*. The quest's own part stays at the frontier, so a
    restore does not undo the progress made there (measured: a whole quest
    spent on the rusty level made the frontier and the rusty level take turns
    forgetting each other).

Which skill next: see `decide`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from backend.config.model import CurriculumConfig, GameRules, SkillPlan

TOLERANCE = 1e-9


# ----- progress and the level-up rule ----------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """One evaluation of a checkpoint on one level of one skill."""

    skill: str
    level: int
    accuracy: float  # mean of Grade.correct over the level's evaluation set, 0..1
    score: float | None = None  # mean of Grade.score (partial credit, e.g. SY's share of words right)


@dataclass(frozen=True)
class LevelUp:
    """A change of a level's standing: mastered, rusty or restored."""

    skill: str
    level: int  # the level that changed
    mean_accuracy: float  # over the window that decided it
    evaluations: int  # evaluations of that level so far
    kind: str = "mastered"  # mastered | rusty | restored


@dataclass(frozen=True)
class SkillProgress:
    skill: str
    max_level: int
    mastered: int = 0  # highest level ever mastered; never goes down
    history: Mapping[int, tuple[float, ...]] = field(default_factory=dict)
    rusty: frozenset[int] = frozenset()  # mastered levels that failed their re-checks
    rechecks: Mapping[int, int] = field(default_factory=dict)  # of a mastered level since mastered/restored
    evaluated: int = 0  # evaluations of the skill recorded so far (a clock for `age`)
    last_seen: Mapping[int, int] = field(default_factory=dict)  # level -> `evaluated` at its latest evaluation
    partial: Mapping[int, tuple[float, ...]] = field(default_factory=dict)  # level -> partial-credit scores, oldest first

    @property
    def scores(self) -> dict[int, float]:
        """Level -> its latest partial-credit score."""
        return {level: values[-1] for level, values in self.partial.items() if values}

    def partial_mean(self, level: int, window: int) -> float:
        """Mean partial credit of the level's last `window` evaluations (0 when it has none)."""
        values = self.partial.get(level, ())[-window:]
        return math.fsum(values) / len(values) if values else 0.0

    @property
    def frontier(self) -> int:
        """The next level to master: mastered + 1, capped at the max level."""
        return min(self.mastered + 1, self.max_level)

    @property
    def training_level(self) -> int:
        """The level a quest of this skill trains: the frontier (rusty levels are rehearsed)."""
        return self.frontier

    @property
    def maxed(self) -> bool:
        return self.mastered >= self.max_level and not self.rusty

    @property
    def held(self) -> list[int]:
        """Mastered levels that are not rusty, lowest first."""
        return [lv for lv in range(1, self.mastered + 1) if lv not in self.rusty]

    def accuracies(self, level: int) -> tuple[float, ...]:
        return self.history.get(level, ())

    def best(self, level: int) -> float | None:
        values = self.accuracies(level)
        return max(values) if values else None

    def latest(self, level: int) -> float | None:
        values = self.accuracies(level)
        return values[-1] if values else None

    def age(self, level: int) -> int:
        """Evaluations of the skill since this level was last evaluated (never: all of them)."""
        return self.evaluated - self.last_seen.get(level, 0)

    def window_mean(self, level: int, window: int) -> float | None:
        """Mean of the last `window` accuracies of a level (None when it has fewer)."""
        values = self.accuracies(level)
        if len(values) < window:
            return None
        return math.fsum(values[-window:]) / window


def level_up_due(accuracies: Sequence[float], rules: GameRules) -> bool:
    """True when the last `level_up_window` accuracies average >= `level_up_accuracy`."""
    window = rules.level_up_window
    if len(accuracies) < window:
        return False
    return math.fsum(accuracies[-window:]) / window >= rules.level_up_accuracy - TOLERANCE


def new_progress(skill: str, max_level: int, mastered: int = 0) -> SkillProgress:
    if max_level < 1 or not 0 <= mastered <= max_level:
        raise ValueError(f"{skill}: need 0 <= mastered ({mastered}) <= max_level ({max_level})")
    return SkillProgress(skill, max_level, mastered, {})


def record_evaluation(progress: SkillProgress, level: int, accuracy: float, rules: GameRules,
                      score: float | None = None) -> tuple[SkillProgress, LevelUp | None]:
    """Add one evaluation; returns the new progress and the change it caused, if any
    (a level mastered, gone rusty or restored)."""
    if not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"accuracy must be within 0..1 (got {accuracy})")
    if not 1 <= level <= progress.max_level:
        raise ValueError(f"{progress.skill}: level {level} is outside 1-{progress.max_level}")
    values = progress.accuracies(level) + (accuracy,)
    clock = progress.evaluated + 1
    updated = replace(progress, history={**progress.history, level: values}, evaluated=clock,
                      last_seen={**progress.last_seen, level: clock},
                      partial={**progress.partial, level: progress.partial.get(level, ()) + (score,)}
                      if score is not None else progress.partial)
    window = rules.level_up_window
    mean = math.fsum(values[-window:]) / min(window, len(values))

    def change(kind: str, **fields) -> tuple[SkillProgress, LevelUp]:
        return replace(updated, **fields), LevelUp(progress.skill, level, mean, len(values), kind)

    if level <= progress.mastered:
        if level in progress.rusty:
            if level_up_due(values, rules):
                return change("restored", rusty=progress.rusty - {level}, rechecks={**progress.rechecks, level: 0})
            return updated, None
        checks = progress.rechecks.get(level, 0) + 1
        if checks >= window and mean < min(rules.rusty_below, rules.level_up_accuracy) - TOLERANCE:
            return change("rusty", rusty=progress.rusty | {level}, rechecks={**progress.rechecks, level: 0})
        return replace(updated, rechecks={**progress.rechecks, level: checks}), None
    if progress.mastered >= progress.max_level or level != progress.frontier or not level_up_due(values, rules):
        return updated, None
    return change("mastered", mastered=level, rechecks={**progress.rechecks, level: 0})


def replay(
    evaluations: Iterable[Evaluation],
    max_levels: Mapping[str, int],
    rules: GameRules,
) -> tuple[dict[str, SkillProgress], list[LevelUp]]:
    """Progress of every skill in `max_levels` from its evaluations in order (oldest
    first), with every change on the way (mastered, rusty, restored). Evaluations of
    unknown skills are ignored.
    Replaying the same history always gives the same result."""
    progress = {skill: new_progress(skill, top) for skill, top in max_levels.items()}
    level_ups: list[LevelUp] = []
    for ev in evaluations:
        current = progress.get(ev.skill)
        if current is None or not 1 <= ev.level <= current.max_level:
            continue
        progress[ev.skill], event = record_evaluation(current, ev.level, ev.accuracy, rules, ev.score)
        if event:
            level_ups.append(event)
    return progress, level_ups


def next_goal(progress: SkillProgress, rules: GameRules) -> str:
    """What the skill needs next, in words, e.g. "BIN L3: 40 %, 20 %, 60 %; needs a mean of 80 %
    over 3 evaluations to master it" (and its rusty levels, which must pass the same rule)."""
    name = progress.skill.upper()
    rule = f"a mean of {round(rules.level_up_accuracy * 100)} % over {rules.level_up_window} evaluations"
    rusty = "; rusty: " + ", ".join(
        f"L{lv} ({', '.join(f'{round(a * 100)} %' for a in progress.accuracies(lv)[-rules.level_up_window:])})"
        for lv in sorted(progress.rusty)) + f", each needs {rule} to be restored" if progress.rusty else ""
    if progress.maxed:
        return f"{name}: every level mastered"
    if progress.mastered >= progress.max_level:
        return f"{name}: every level mastered{rusty}"
    level = progress.training_level
    recent = progress.accuracies(level)[-rules.level_up_window:]
    shown = ", ".join(f"{round(a * 100)} %" for a in recent) or "not evaluated yet"
    return f"{name} L{level}: {shown}{partial_credit(progress, level)}; needs {rule} to master it{rusty}"


def partial_credit(progress: SkillProgress, level: int) -> str:
    """ " (latest: 41 % partial credit)" when the level's answers are partly right but not yet whole."""
    score = progress.scores.get(level)
    latest = progress.latest(level)
    if score is None or latest is None or score <= latest + TOLERANCE:
        return ""
    return f" (latest: {round(score * 100)} % partial credit)"


def goal_lines(progress: SkillProgress, rules: GameRules) -> tuple[str, str]:
    """next_goal in two short lines for a narrow card, e.g. ("BIN L3: 40 20 60 %", "needs 80 % mean of 3")."""
    if progress.maxed:
        return f"{progress.skill.upper()}: all mastered", ""
    level = progress.training_level
    recent = progress.accuracies(level)[-rules.level_up_window:]
    shown = " ".join(str(round(a * 100)) for a in recent) + "%" if recent else "—"
    score = progress.scores.get(level)
    partly = f", partly {round(score * 100)}%" if partial_credit(progress, level) and score is not None else ""
    return (f"{progress.skill.upper()} L{level}: {shown}{partly}",
            f"needs {round(rules.level_up_accuracy * 100)}% mean of {rules.level_up_window}")


# ----- which skill next ------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """What the next generated quest trains, and why (reason is for the player)."""

    skill: str | None
    level: int | None
    strategy: str
    reason: str
    kept_turn: bool = False  # 'equal': the latest quest's skill keeps its turn (its training level is on the verge)


def plan_for(config: CurriculumConfig, skill: str) -> SkillPlan:
    """The skill's plan in realm.yaml; a skill not listed there gets the defaults
    (enabled, weight 1, priority 0), so a newly added skill trains without edits."""
    return config.skills.get(skill) or SkillPlan()


def candidates(config: CurriculumConfig, progress: Mapping[str, SkillProgress]) -> list[str]:
    """Enabled, installed skills; maxed skills only when every enabled skill is maxed."""
    enabled = sorted(s for s in progress if plan_for(config, s).enabled)
    growing = [s for s in enabled if not progress[s].maxed]
    return growing or enabled


OTHER_SKILL_WEIGHT = 0.5  # another skill's training level: keep what it is learning, a little ...
HOLD_WEIGHT = 1.0  # ... and this much more times the share of it learned (its mean partial credit of late):
# measured in a 60-minute campaign (benchmarks/RESULTS.md, run 17), SY level 1 read 60-100 % after its own
# quests and 0-40 % after BIN's, which gave it 0.5 of their rehearsal weight; a level not yet learned
# at all has nothing to keep, so a fresh save's first quests stay as they were
REVIEW_FLOOR = 0.5  # weight of a mastered level that scored 100 % at its last re-checks, just now
RUSTY_WEIGHT = 2.0  # added to a rusty level's review weight: it takes the largest share until restored
RUSTY_SHARE_BOOST = 0.2  # the rehearsal share grows by this while any enabled skill has a rusty level
MAX_REHEARSAL_SHARE = 0.8
FULL_REHEARSAL_WEIGHT = 2.5  # rehearsal weight at which a quest rehearses its full curriculum.rehearsal share
REVIEW_AGE_SPAN = 20  # evaluations of the skill after which a level's age adds a full weight


def review_weight(progress: SkillProgress, level: int, window: int) -> float:
    """Spaced repetition: a mastered level's share of the rehearsal grows with how badly its
    recent re-checks went and with how long ago it was last evaluated."""
    recent = progress.accuracies(level)[-window:]
    shaky = 1.0 - (math.fsum(recent) / len(recent) if recent else 0.0)
    return REVIEW_FLOOR + shaky + min(1.0, progress.age(level) / REVIEW_AGE_SPAN)


def other_skill_weight(progress: SkillProgress, window: int) -> float:
    """Rehearsal weight of another skill's training level in a quest: more, the more of it DIO has
    learned (the mean partial credit of its last `window` evaluations)."""
    return OTHER_SKILL_WEIGHT + HOLD_WEIGHT * progress.partial_mean(progress.training_level, window)


def rehearsal_levels(config: CurriculumConfig, progress: Mapping[str, SkillProgress], skill: str,
                     window: int = 3) -> list[tuple[str, int, float]]:
    """(skill, level, weight) that a quest of `skill` mixes in (curriculum.rehearsal of its tokens,
    split by weight): every other enabled skill at its training level (`other_skill_weight`), and every
    mastered, not rusty level of every enabled skill, the quest's own skill included, weighted
    by `review_weight`, and every rusty level (RUSTY_WEIGHT more). So studying one level neither
    erases the levels below it nor another skill, and a rusty level is trained until restored."""
    if config.rehearsal <= 0:
        return []
    out: list[tuple[str, int, float]] = []
    for s in sorted(progress):
        if not plan_for(config, s).enabled:
            continue
        p = progress[s]
        if s != skill:
            out.append((s, p.training_level, other_skill_weight(p, window)))
        out += [(s, lv, review_weight(p, lv, window) + (RUSTY_WEIGHT if lv in p.rusty else 0.0))
                for lv in range(1, p.mastered + 1) if lv != p.training_level]  # (a maxed skill's top)
    return out


VERGE_ACCURACY = 0.6  # 'equal': a training level this close to mastery keeps its skill's turn ...
VERGE_TURNS = 3  # ... for at most this many quests in a row
STALLED_AFTER = 10  # evaluations of a training level, all at 0 %, that make a skill "stalled"
STALLED_AFTER_STEPS = 2000  # ... and at least this many steps of its own quests at that level
STALLED_QUEST_SCALE = 0.25  # a stalled skill's generated quests are this much of the usual size
MOVING_SCORE = 0.2  # mean partial credit of the training level's last window that shows a skill moving


def stalled(progress: SkillProgress, trained_steps: int, after: int = STALLED_AFTER,
            steps: int = STALLED_AFTER_STEPS, window: int = 3) -> bool:
    """The skill has not moved at all: at least `after` evaluations, not one problem of any level
    ever solved, and at least `steps` optimizer steps of its own quests at its training level
    (`trained_steps`). The steps are what gives a skill its chance: every checkpoint evaluates every
    skill, so ten evaluations come within 500 steps of the campaign, most of them another skill's,
    and SY's level 1 moves only after about 500 steps of its own (benchmarks/RESULTS.md, SY
    learnability); a rule of evaluations alone stalled it before it had trained 300. It still
    trains, on quests of STALLED_QUEST_SCALE of the usual size, and the player is told (an idle game must not spend half its time on a skill that does not move without saying so).
    A skill that has mastered levels is never stalled: a new level reads 0 % for a while (measured:
    BIN level 5, 11-bit registers, 10 evaluations at 0 % before it moved). Nor is one whose answers
    are partly right: a mean partial credit of MOVING_SCORE or more over the training level's last
    `window` evaluations (SY's words come right one by one long before a whole puzzle does; a single
    lucky 20 % among 5-problem evaluations that average 3 % does not count: measured in a 60-minute
    campaign, that flicker gave SY 39 % of the steps)."""
    values = [a for level in progress.history.values() for a in level]
    moving = progress.partial_mean(progress.training_level, window) >= MOVING_SCORE - TOLERANCE
    return (not progress.maxed and len(values) >= after and max(values) == 0.0 and not moving
            and trained_steps >= steps)


def rehearsal_share(config: CurriculumConfig, progress: Mapping[str, SkillProgress],
                    parts: Sequence[tuple[str, int, float]] = ()) -> float:
    """The share of a quest's tokens that rehearses `parts` (rehearsal_levels): curriculum.rehearsal
    once there is enough to rehearse (weights summing to FULL_REHEARSAL_WEIGHT: on a fresh save,
    with only the other skill's first level, a fifth of it at most), raised by RUSTY_SHARE_BOOST
    while an enabled skill has a rusty level."""
    if config.rehearsal <= 0 or not parts:
        return 0.0
    enough = min(1.0, sum(w for _, _, w in parts) / FULL_REHEARSAL_WEIGHT)
    rusty = any(progress[s].rusty for s in progress if plan_for(config, s).enabled)
    return min(MAX_REHEARSAL_SHARE, config.rehearsal * enough + (RUSTY_SHARE_BOOST if rusty else 0.0))


def last_index(recent: Sequence[str], skill: str) -> int:
    """Position of the skill's latest quest in `recent` (-1 when it has none)."""
    for i in range(len(recent) - 1, -1, -1):
        if recent[i] == skill:
            return i
    return -1


def decide(config: CurriculumConfig, progress: Mapping[str, SkillProgress], recent: Sequence[str] = ()) -> Decision:
    """The skill (and its training level) of the next generated quest.

    `progress`: the installed skills (id -> SkillProgress). `recent`: the skills
    of the quests generated so far, oldest first (the daemon may pass only the
    latest ones). Candidates are the enabled installed skills (see `plan_for`);
    maxed skills are left out unless every enabled skill is maxed. Then:

    - equal: round robin. The candidate whose latest quest in `recent` is
      oldest (a skill with none comes first); ties go to the higher priority,
      then the smaller id. But the skill of the latest quest keeps its turn
      while its training level is on the verge (latest evaluation at least
      VERGE_ACCURACY), up to VERGE_TURNS quests in a row.
    - focus: `config.focus` when it is a candidate; otherwise as `equal` (the
      reason says why the focus was skipped).
    - weighted: among candidates with weight > 0, the one with the smallest
      (quests in `recent` + 1) / weight, so quest counts follow the weights
      (a weight-2 skill gets two quests for every one of a weight-1 skill).
      Ties go to the higher priority, then the older latest quest, then the
      smaller id. With every weight 0, as `equal`.
    - catch-up: the candidate with the lowest mastered level; ties go to the
      higher priority, then the older latest quest, then the smaller id.
    """
    pool = candidates(config, progress)
    strategy = config.strategy
    if not pool:
        return Decision(None, None, strategy, "no enabled skill: enable one under curriculum.skills in realm.yaml")

    def priority(s: str) -> int:
        return plan_for(config, s).priority

    def pick(skill: str, reason: str) -> Decision:
        return Decision(skill, progress[skill].training_level, strategy, reason)

    if strategy == "focus":
        focus = config.focus
        if focus in pool:
            return pick(focus, f"focus: realm.yaml focuses on {focus}")
        why = ("no focus skill is set" if not focus
               else f"focus skill '{focus}' is not installed" if focus not in progress
               else f"focus skill '{focus}' is disabled" if not plan_for(config, focus).enabled
               else f"focus skill '{focus}' is maxed")
        skill = _round_robin(pool, recent, priority)
        return pick(skill, f"focus: {why}; taking turns instead: {skill} {_turn_text(recent, skill)}")

    if strategy == "weighted":
        weighted = [s for s in pool if plan_for(config, s).weight > 0]
        if weighted:
            counts = {s: sum(1 for r in recent if r == s) for s in weighted}
            total_weight = sum(plan_for(config, s).weight for s in weighted)
            skill = min(weighted, key=lambda s: ((counts[s] + 1) / plan_for(config, s).weight,
                                                 -priority(s), last_index(recent, s), s))
            share = plan_for(config, skill).weight / total_weight
            done = sum(counts.values())
            return pick(skill, f"weighted: {skill} has {counts[skill]} of {done} quests, "
                               f"its weight asks for {share:.0%}")
        skill = _round_robin(pool, recent, priority)
        return pick(skill, f"weighted: every weight is 0; taking turns instead: {skill} {_turn_text(recent, skill)}")

    if strategy == "catch-up":
        skill = min(pool, key=lambda s: (progress[s].mastered, -priority(s), last_index(recent, s), s))
        others = ", ".join(f"{s} {progress[s].mastered}" for s in pool if s != skill)
        return pick(skill, f"catch-up: {skill} has mastered the fewest levels ({progress[skill].mastered}"
                           + (f"; {others})" if others else ")"))

    verge = _on_the_verge(pool, progress, recent)
    if verge is not None:
        p = progress[verge]
        return Decision(verge, p.training_level, strategy, f"equal: {verge} level {p.training_level} is on the verge "
                        f"({p.latest(p.training_level):.0%} at its latest evaluation): it keeps its turn", kept_turn=True)
    skill = _round_robin(pool, recent, priority)
    return pick(skill, f"equal: {skill} {_turn_text(recent, skill)}")


def _on_the_verge(pool: list[str], progress: Mapping[str, SkillProgress], recent: Sequence[str]) -> str | None:
    """The skill of the latest quest when its training level scored at least VERGE_ACCURACY at its
    latest evaluation (a quest or two from mastery) and it has not yet had VERGE_TURNS quests in a
    row: one more quest now is worth more than one after the other skills' turns."""
    if not recent or recent[-1] not in pool:
        return None
    skill = recent[-1]
    in_a_row = next((i for i, s in enumerate(reversed(recent)) if s != skill), len(recent))
    latest = progress[skill].latest(progress[skill].training_level)
    if latest is None or latest < VERGE_ACCURACY or in_a_row >= VERGE_TURNS or len(pool) < 2:
        return None
    return skill


def _round_robin(pool: list[str], recent: Sequence[str], priority: Callable[[str], int]) -> str:
    return min(pool, key=lambda s: (last_index(recent, s), -priority(s), s))


def _turn_text(recent: Sequence[str], skill: str) -> str:
    i = last_index(recent, skill)
    if i < 0:
        return "has not had a quest yet"
    ago = len(recent) - i
    return f"had the oldest last quest ({ago} quest{'s' if ago != 1 else ''} ago)"


def preview(config: CurriculumConfig, progress: Mapping[str, SkillProgress], recent: Sequence[str] = (), n: int = 3) -> list[Decision]:
    """The next `n` decisions, assuming each one's quest is generated (progress unchanged)."""
    out: list[Decision] = []
    history = list(recent)
    for _ in range(n):
        decision = decide(config, progress, history)
        out.append(decision)
        if decision.skill is None:
            break
        history.append(decision.skill)
    return out


# ----- auto-generation ----------------------------------------------------------------------


@dataclass(frozen=True)
class GenerateVerdict:
    """Whether to generate a quest now; truthy when it should."""

    go: bool
    reason: str
    wait_s: float = 0.0  # seconds until the cooldown ends (when that is what blocks)

    def __bool__(self) -> bool:
        return self.go


def should_generate(queue_len: int, config: CurriculumConfig, last_generated_at: float | None, now: float) -> GenerateVerdict:
    """Auto-generation: generate when it is enabled, fewer than `threshold` quests are
    queued, and at least `cooldown_s` seconds passed since the last generation
    (times in seconds, any common clock; None = never generated)."""
    auto = config.auto_generate
    if not auto.enabled:
        return GenerateVerdict(False, "auto-generation is off (curriculum.auto_generate.enabled)")
    if queue_len >= auto.threshold:
        return GenerateVerdict(False, f"{queue_len} quest(s) queued; generating below {auto.threshold}")
    if last_generated_at is not None:
        waited = now - last_generated_at
        if waited < auto.cooldown_s:
            return GenerateVerdict(False, f"cooling down ({waited:.1f} of {auto.cooldown_s:g} s)", auto.cooldown_s - waited)
    return GenerateVerdict(True, f"{queue_len} quest(s) queued, below the threshold of {auto.threshold}")
