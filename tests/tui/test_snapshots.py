"""Every screen at 100x30, 80x24 and 160x45 (where the charts show), as text, against tests/tui/snapshots/.
REALM_UPDATE_SNAPSHOTS=1 rewrites them (review the diff before committing).
One app per size walks through all the screens (starting an app per screen would
take most of the suite's time)."""

from __future__ import annotations

import time

import pytest

from game.data.state import TuiState, save_state
from tui_helpers import check_snapshot, make_app, press, screen_text, settle

AWAY_S = 2 * 3600 + 10 * 60 + 20
SIZES = [(100, 30), (80, 24), (160, 45)]
DISK = r"Disk: .*"  # free space differs from machine to machine
SCROLLBAR = r"(?m)[▁▂▃▄▅▆▇█]+$"  # the thumb's size follows the number of realm.yaml keys, which grows

# (snapshot name, keys to get there, keys to get back to the mode screen, masks)
WALK = [
    ("tavern", [], [], ()),
    ("help", ["question_mark"], ["escape"], ()),
    ("quests", ["q"], [], ()),
    ("quest-details", ["down", "down", "down", "enter"], ["escape"], ()),
    ("new-quest", ["n"], ["escape"], ()),
    ("vault", ["v"], [], (DISK,)),
    ("ledger", ["down", "enter"], ["escape"], (DISK,)),  # the Vault's disk line shows beside the dialog
    ("oracle", ["o"], ["escape"], ()),
    ("guild", ["g"], [], ()),
    ("samples", ["enter"], ["escape"], ()),
    ("settings", ["s"], [], (SCROLLBAR,)),
    ("vram", ["m"], ["escape"], ()),
]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_every_screen(seeded, size) -> None:
    app = make_app(seeded)
    failures = []
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        for name, there, back, masks in WALK:
            for key in there:
                await press(app, pilot, key)
            await settle(app, pilot)
            try:
                check_snapshot(app, f"{name}-{size[0]}x{size[1]}", masks)
            except AssertionError as exc:
                failures.append(str(exc))
            footer = screen_text(app).splitlines()[-1]
            if footer.endswith("▏^p palette") and "█" not in footer and not footer.split("▏")[0].endswith("  "):
                failures.append(f"{name} at {size[0]}x{size[1]}: the footer's keys are cut: {footer!r}")
            for key in back:
                await press(app, pilot, key)
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_away_snapshot(seeded, size) -> None:
    # last seen 2h 10m ago (give or take the seconds the test takes): the line reads the same on any day
    save_state(seeded.tui_state_path, TuiState(last_seen_event_id=5, last_seen_at=time.time() - AWAY_S))
    app = make_app(seeded)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        check_snapshot(app, f"away-{size[0]}x{size[1]}", ())
