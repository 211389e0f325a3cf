"""Zones: the places that hold copies of checkpoints. `trainer` is the save's own checkpoints
folder; each storage zone (hosts.storage in realm.yaml) is a folder, such as a mounted NAS share
or a second disk, with the checkpoints side by side under their canonical names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backend.config.model import RealmConfig
from backend.errors import UserFacingError

TRAINER = "trainer"
NODE = "node"  # a remote inference node: it holds serving copies (no resume state)


@dataclass(frozen=True)
class StorageZone:
    name: str
    root: Path
    keep: str  # champions | all

    def folder(self, checkpoint_name: str) -> Path:
        return self.root / checkpoint_name


def storage_zones(config: RealmConfig) -> dict[str, StorageZone]:
    return {name: StorageZone(name, Path(host.path).expanduser(), host.keep)
            for name, host in config.hosts.storage.items()}


def storage_zone(config: RealmConfig, name: str) -> StorageZone:
    zones = storage_zones(config)
    if name not in zones:
        known = ", ".join(zones) or "none yet"
        raise UserFacingError(f"no storage zone named {name!r} (known: {known})",
                              fix="add one under hosts.storage in realm.yaml, e.g. "
                                  "`realm config set hosts.storage '{\"nas\": {\"path\": \"/mnt/nas/realm\"}}'`")
    return zones[name]


def zone_names(config: RealmConfig) -> list[str]:
    """Every zone a copy can be in, the trainer first."""
    return [TRAINER, *storage_zones(config)]
