"""The ranking rule that crowns champions (and that retention's keep_best follows): one place.

score = the mean, over a checkpoint's evaluations, of (level - 1 + accuracy), so solving a
higher level counts more than acing a lower one; ties go to the lower validation loss, then to
the later step. A checkpoint without evaluations has no score and ranks below every one that
has."""

from __future__ import annotations

from dataclasses import dataclass

from backend.store import Store

SCORE_SQL = "AVG(level - 1 + accuracy)"
RULE = ("score = mean over its evaluations of (level - 1 + accuracy); ties: lower validation loss, "
        "then the later step")


def rank_key(step: int, score: float | None, val_loss: float | None) -> tuple[float, float, int]:
    """Sort key, best first: higher score, then lower validation loss, then later step."""
    return (-(score if score is not None else -1.0), val_loss if val_loss is not None else float("inf"), -step)


async def scores(store: Store) -> dict[int, float]:
    """The score of every evaluated checkpoint."""
    rows = await store.fetchall(f"SELECT checkpoint_step, {SCORE_SQL} FROM evaluations GROUP BY checkpoint_step")
    return {int(r[0]): float(r[1]) for r in rows}


@dataclass(frozen=True)
class BoardEntry:
    rank: int
    step: int
    name: str
    score: float
    val_loss: float | None
    terms: tuple[tuple[str, int, float], ...]  # (skill, level, accuracy) of each evaluation

    def why(self) -> str:
        """The score's terms in words: 'BIN L3 80 % -> 2.80, BIN L2 100 % -> 2.00: mean 2.40'."""
        parts = [f"{s.upper()} L{lv} {acc:.0%} -> {lv - 1 + acc:.2f}" for s, lv, acc in self.terms]
        return ", ".join(parts) + f": mean {self.score:.2f}"


async def champion_board(store: Store, top: int = 10) -> list[BoardEntry]:
    """The live checkpoints by the rule, best first."""
    live = {r.step: r for r in await store.checkpoints.live()}
    by_step = {s: v for s, v in (await scores(store)).items() if s in live}
    order = sorted(by_step, key=lambda s: rank_key(s, by_step[s], live[s].val_loss))[:top]
    terms: dict[int, list[tuple[str, int, float]]] = {}
    for r in await store.fetchall("SELECT checkpoint_step, skill, level, accuracy FROM evaluations ORDER BY "
                                  "checkpoint_step, skill, level DESC, id"):
        terms.setdefault(int(r[0]), []).append((r[1], int(r[2]), float(r[3])))
    return [BoardEntry(n, s, live[s].name, by_step[s], live[s].val_loss, tuple(terms.get(s, ())))
            for n, s in enumerate(order, 1)]
