"""Every screen at 100x30 and 80x24, as text, against tests/tui/snapshots/.
REALM_UPDATE_SNAPSHOTS=1 rewrites them (review the diff before committing)."""

from __future__ import annotations

import pytest

from game.data.state import TuiState, save_state
from conftest import check_snapshot, make_app, press, settle

SIZES = [(100, 30), (80, 24)]
DISK = r"Disk: .*"  # free space differs from machine to machine
TMP = r"/tmp/\S*"


async def shoot(slot, size, keys: list[str], name: str, masks: tuple[str, ...] = ()) -> None:
    app = make_app(slot)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        for key in keys:
            await press(app, pilot, key)
            await settle(app, pilot)
        check_snapshot(app, f"{name}-{size[0]}x{size[1]}", masks)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name,keys,masks", [
    ("tavern", [], ()),
    ("quests", ["q"], ()),
    ("vault", ["v"], (DISK,)),
    ("oracle", ["o"], ()),
    ("guild", ["g"], ()),
    ("settings", ["s"], ()),
    ("help", ["question_mark"], ()),
    ("vram", ["s", "m"], ()),
    ("quest-details", ["q", "down", "down", "down", "enter"], (TMP,)),
    ("ledger", ["v", "down", "enter"], (TMP,)),
    ("samples", ["g", "enter"], ()),
    ("new-quest", ["q", "n"], ()),
])
async def test_screen_snapshot(seeded, size, name, keys, masks) -> None:
    await shoot(seeded, size, keys, name, masks)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_away_snapshot(seeded, size) -> None:
    save_state(seeded.tui_state_path, TuiState(last_seen_event_id=5, last_seen_at=1_767_225_000.0))
    await shoot(seeded, size, [], "away", (r"You were away for [^.]*\.",))
