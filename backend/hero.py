"""Where the hero's base model lives, and creating nano DIO for a new save."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from backend.config.model import RealmConfig
from backend.errors import UserFacingError
from backend.slot import SaveSlot


def is_nano(config: RealmConfig) -> bool:
    return config.hero.base_model == "nano"


def base_model_ref(slot: SaveSlot, config: RealmConfig) -> str:
    """A folder path, or a hub id for a real rig that downloads it itself."""
    if is_nano(config):
        return str(slot.base_model_dir)
    candidate = Path(config.hero.base_model).expanduser()
    if candidate.is_dir():
        return str(candidate.resolve())
    if config.hero.base_model.startswith((".", "/", "~")):
        raise UserFacingError(
            f"hero.base_model points at {config.hero.base_model}, which is not a folder",
            where=str(slot.config_path), fix="point it at a Qwen3 model folder, a hub id, or 'nano'",
        )
    return config.hero.base_model


def tokenizer_file(slot: SaveSlot, config: RealmConfig) -> Path | None:
    """The hero's tokenizer.json when it is on disk (None for a hub id not yet cached)."""
    ref = Path(base_model_ref(slot, config))
    candidate = ref / "tokenizer.json"
    return candidate if candidate.is_file() else None


def hero_exists(slot: SaveSlot, config: RealmConfig) -> bool:
    if not is_nano(config):
        return True
    return (slot.base_model_dir / "config.json").is_file() and (slot.base_model_dir / "tokenizer.json").is_file()


async def create_nano(slot: SaveSlot, config: RealmConfig, timeout_s: float = 300.0) -> str:
    """Run `python -m engine nano` (the engine owns model code); return its output."""
    slot.hero_dir.mkdir(parents=True, exist_ok=True)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "engine", "nano", str(slot.base_model_dir),
        "--seed", str(config.hero.seed), "--spec", json.dumps(config.hero.nano.model_dump()),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    if proc.returncode != 0:
        raise UserFacingError(
            f"creating nano DIO failed (exit {proc.returncode}): {err.decode(errors='replace')[-2000:]}",
            where=str(slot.base_model_dir), fix="run `python -m engine nano PATH` by hand to see the full error",
        )
    return out.decode(errors="replace")
