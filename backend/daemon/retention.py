"""Which checkpoints retention removes, and which it thins to their weights: pure functions."""

from __future__ import annotations

from collections.abc import Sequence

from backend.store.checkpoints import CheckpointRow
from backend.vault.ranking import rank_key


def choose_deletions(rows: Sequence[CheckpointRow], scores: dict[int, float], *, keep_last: int, keep_best: int,
                     protected: set[int]) -> list[CheckpointRow]:
    """Keep the last K, the best M by the champion's rule (backend.vault.ranking), the newest, and every protected step
    (champion, deployed, pinned); everything else goes."""
    if not rows:
        return []
    by_step = sorted(rows, key=lambda r: -r.step)
    keep = {r.step for r in by_step[:max(keep_last, 1)]} | set(protected)
    evaluated = [r for r in rows if r.step in scores]
    best = sorted(evaluated, key=lambda r: rank_key(r.step, scores.get(r.step), r.val_loss))[:keep_best]
    keep |= {r.step for r in best}
    return [r for r in by_step if r.step not in keep]


def choose_thinning(rows: Sequence[CheckpointRow], *, keep_newest: int, pinned: set[int]) -> list[CheckpointRow]:
    """Checkpoints whose resume state goes (lean checkpoints): all but the newest `keep_newest`
    and the `pinned` (protected) ones, among those that still hold one."""
    by_step = sorted(rows, key=lambda r: -r.step)
    keep = {r.step for r in by_step[:max(keep_newest, 1)]} | set(pinned)
    return [r for r in by_step if r.step not in keep and r.resume_kind() == "exact"]

