"""The Vault's read model: checkpoints, their evaluations, marks, and the disk."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from backend.store import Store
from backend.store.checkpoints import CheckpointRow
from backend.store.evaluations import Evaluation


@dataclass(frozen=True)
class VaultRow:
    step: int
    name: str
    created_at: float
    train_loss: float | None
    val_loss: float | None
    accuracy: tuple[tuple[str, float, int], ...]  # (skill, accuracy, level) of the latest level evaluated per skill
    size_bytes: int | None
    on_trainer: bool
    on_node: bool
    champion: bool
    deployed: bool
    pinned: bool
    newest: bool
    sha256: str | None
    skill: str | None
    level: int | None
    zones: tuple[str, ...] = ()  # storage zones holding a verified copy

    def accuracy_for(self, skill: str) -> tuple[float, int] | None:
        for s, acc, level in self.accuracy:
            if s == skill:
                return acc, level
        return None

    def delete_refusal(self) -> str | None:
        """Why this checkpoint cannot be deleted (None when it can)."""
        if self.champion:
            return f"{self.name} is the champion; promote another checkpoint first"
        if self.deployed:
            return f"{self.name} is deployed on the inference node; deploy another first"
        if self.newest:
            return f"{self.name} is the newest checkpoint: training resumes from it"
        return None


@dataclass(frozen=True)
class DiskInfo:
    used_by_checkpoints: int
    free: int
    total: int


@dataclass(frozen=True)
class VaultData:
    rows: tuple[VaultRow, ...]
    skills: tuple[str, ...]
    champion_step: int | None
    deployed_step: int | None


def latest_per_skill(evals: list[Evaluation]) -> tuple[tuple[str, float, int], ...]:
    best: dict[str, Evaluation] = {}
    for ev in evals:
        cur = best.get(ev.skill)
        if cur is None or ev.level >= cur.level:
            best[ev.skill] = ev
    return tuple((s, e.accuracy, e.level) for s, e in sorted(best.items()))


async def evaluations_by_step(store: Store) -> dict[int, list[Evaluation]]:
    rows = await store.fetchall(
        "SELECT id, checkpoint_step, skill, level, correct, total, accuracy, '[]' AS samples, created_at "
        "FROM evaluations ORDER BY checkpoint_step, skill, level"
    )
    out: dict[int, list[Evaluation]] = {}
    for r in rows:
        out.setdefault(r["checkpoint_step"], []).append(Evaluation(**{**dict(r), "samples": []}))
    return out


def vault_row(cp: CheckpointRow, evals: list[Evaluation], champion: int | None, deployed: int | None, newest: int | None,
              root: Path, zones: tuple[str, ...] = ()) -> VaultRow:
    """`root`: the save's folder, which the stored paths are relative to."""
    return VaultRow(
        step=cp.step, name=cp.name, created_at=cp.created_at, train_loss=cp.train_loss, val_loss=cp.val_loss,
        accuracy=latest_per_skill(evals), size_bytes=cp.size_bytes,
        on_trainer=cp.deleted_at is None and cp.folder(root).exists(), on_node=cp.on_node,
        champion=cp.step == champion, deployed=cp.step == deployed, pinned=cp.pinned, newest=cp.step == newest,
        sha256=cp.weights_sha256, skill=cp.skill, level=cp.level, zones=zones,
    )


async def stored_copies(store: Store) -> dict[str, tuple[str, ...]]:
    """checkpoint name -> the storage zones holding a verified copy."""
    rows = await store.fetchall("SELECT a.name, c.zone FROM asset_copies c JOIN assets a ON a.id = c.asset_id "
                                "WHERE a.kind = 'checkpoint' AND c.zone != 'trainer' AND c.state = 'ok' ORDER BY c.zone")
    out: dict[str, tuple[str, ...]] = {}
    for name, zone in rows:
        out[name] = (*out.get(name, ()), zone)
    return out


async def read_vault(store: Store, root: Path) -> VaultData:
    """Checkpoints on the trainer, and those retention removed that a storage zone still holds."""
    live = await store.checkpoints.live()
    zones = await stored_copies(store)
    known = {cp.step for cp in live}
    gone = [cp for cp in await store.checkpoints.removed() if cp.name in zones and cp.step not in known]
    evals = await evaluations_by_step(store)
    champion = await store.meta.champion_step()
    deployed = await store.meta.deployed_step()
    newest = live[0].step if live else None
    listed = sorted([*live, *gone], key=lambda cp: -cp.step)
    rows = tuple(vault_row(cp, evals.get(cp.step, []), champion, deployed, newest, root, zones.get(cp.name, ()))
                 for cp in listed)
    skills = tuple(sorted({s for r in rows for s, _, _ in r.accuracy}))
    return VaultData(rows, skills, champion, deployed)


def disk_info(root: Path, rows: tuple[VaultRow, ...]) -> DiskInfo:
    usage = shutil.disk_usage(root)
    return DiskInfo(sum(r.size_bytes or 0 for r in rows if r.on_trainer), usage.free, usage.total)
