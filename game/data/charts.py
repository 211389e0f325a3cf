"""The charts' read models: plain series that a chart draws, equal when nothing changed (so a
chart never redraws an unchanged picture).

- the Tavern: each skill's train loss over the campaign, its checkpoints and its level-ups;
- the Vault: validation loss and mean evaluation accuracy across checkpoints;
- the Guild: one skill's accuracy per level over checkpoint steps (the mean of its last 3, as the
  mastery rule reads it), with the mastery line.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.store import Store

CURVE_POINTS = 300
CAMPAIGN_TITLE = "Campaign: train loss per skill, checkpoints in the vault (•), level-ups (│)"


@dataclass(frozen=True)
class Line:
    label: str
    points: tuple[tuple[float, float], ...]
    style: str = "white"
    dots: bool = False  # scatter, not a line


@dataclass(frozen=True)
class ChartData:
    title: str  # the chart box's title
    x_label: str
    y_label: str
    lines: tuple[Line, ...]
    marks: tuple[float, ...] = ()  # vertical lines (quest ends)
    level: float | None = None  # a horizontal line (the mastery bar)
    y_range: tuple[float | None, float | None] = (None, None)

    @property
    def empty(self) -> bool:
        return not any(line.points for line in self.lines)


async def campaign_chart(store: Store) -> ChartData:
    curves = await store.metrics.loss_curves(CURVE_POINTS)
    marks = await level_up_steps(store)
    saved = await store.fetchall("SELECT step, train_loss FROM checkpoints WHERE train_loss IS NOT NULL "
                                 "AND deleted_at IS NULL ORDER BY step")  # the vault's, not every one ever saved
    lines = [Line(skill.upper() or "own quests", tuple((float(s), round(v, 2)) for s, v in curve), CURVE_STYLES[i % len(CURVE_STYLES)])
             for i, (skill, curve) in enumerate(sorted(curves.items()))]
    return ChartData(
        CAMPAIGN_TITLE, "step", "loss",
        (*lines, Line("checkpoint", tuple((float(r["step"]), float(r["train_loss"])) for r in saved), "#5fb4d8", dots=True)),
        marks, y_range=(0.0, None))


CURVE_STYLES = ("#e0b050", "#d87fd8", "#7fd87f", "#d88f5f")


async def level_up_steps(store: Store) -> tuple[float, ...]:
    """The step of the checkpoint whose evaluation mastered each level: growth, marked on the curve
    (every quest end would fence the chart: a campaign hour has about a hundred)."""
    rows = await store.fetchall(
        "SELECT e.payload AS up, (SELECT MAX(checkpoint_step) FROM evaluations v WHERE v.created_at <= e.ts) AS step "
        "FROM events e WHERE e.kind = 'skill_level_up' ORDER BY e.id")
    return tuple(sorted({float(r["step"]) for r in rows if r["step"] is not None}))


async def vault_chart(store: Store) -> ChartData:
    """Every checkpoint saved so far (those retention removed too: their figures are history):
    its validation loss, and per skill its accuracy at the highest level it was evaluated on
    (the level being trained, as the Vault's table shows)."""
    losses = await store.fetchall("SELECT step, val_loss FROM checkpoints WHERE val_loss IS NOT NULL ORDER BY step")
    accs = await store.fetchall(
        "SELECT e.skill, e.checkpoint_step AS step, e.accuracy FROM evaluations e WHERE e.level = "
        "(SELECT MAX(level) FROM evaluations m WHERE m.skill = e.skill AND m.checkpoint_step = e.checkpoint_step) "
        "ORDER BY e.skill, e.checkpoint_step")
    skills: dict[str, list[tuple[float, float]]] = {}
    for r in accs:
        skills.setdefault(r["skill"], []).append((float(r["step"]), float(r["accuracy"])))
    lines = [Line("val loss", tuple((float(r["step"]), float(r["val_loss"])) for r in losses), "#e0b050")]
    lines += [Line(f"{skill.upper()} acc", tuple(points), LEVEL_STYLES[i % len(LEVEL_STYLES)])
              for i, (skill, points) in enumerate(sorted(skills.items()))]
    return ChartData("Checkpoints: validation loss, and each skill's accuracy at its training level", "step",
                     "loss · acc", tuple(lines), y_range=(0.0, None))


LEVEL_STYLES = ("#7fd87f", "#5fb4d8", "#e0b050", "#d87fd8", "#d8d87f", "#d88f5f")


async def guild_chart(store: Store, skill: str, mastery: float, levels: int = 6, window: int = 3) -> ChartData:
    """The skill's `levels` most recently evaluated levels: the mean of each level's last `window`
    evaluations at every checkpoint step, the figure the mastery rule compares with its bar (a
    single 5-problem evaluation jumps by 20 points)."""
    rows = await store.fetchall(
        "SELECT level, checkpoint_step AS step, accuracy FROM evaluations WHERE skill = ? ORDER BY checkpoint_step",
        (skill,))
    raw: dict[int, list[tuple[float, float]]] = {}
    for r in rows:
        raw.setdefault(int(r["level"]), []).append((float(r["step"]), float(r["accuracy"])))
    by_level = {lv: [(step, sum(a for _, a in points[max(0, i + 1 - window):i + 1]) / min(window, i + 1))
                     for i, (step, _) in enumerate(points)] for lv, points in raw.items()}
    recent = sorted(by_level, key=lambda lv: by_level[lv][-1][0])[-levels:]
    lines = tuple(Line(f"L{lv}", tuple(by_level[lv]), LEVEL_STYLES[i % len(LEVEL_STYLES)])
                  for i, lv in enumerate(sorted(recent)))
    return ChartData(f"{skill.upper()}: accuracy per level (mean of its last {window} evaluations), with the mastery "
                     f"bar", "step", "accuracy", lines, level=mastery,
                     y_range=(0.0, 1.05))
