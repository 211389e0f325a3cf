"""The Vault: checkpoints, marks, disk, and every key."""

from backend.command_kinds import CommandKind
from game.screens.checkpoint_details import CheckpointDetailsScreen
from game.widgets.table import RealmTable
from tui_helpers import Posted, commands_sent, make_app, press, screen_text, settle


async def open_vault(app, pilot) -> RealmTable:
    await settle(app, pilot)
    await press(app, pilot, "v")
    await settle(app, pilot)
    return app.screen.query_one(RealmTable)


async def select(pilot, table: RealmTable, step: int) -> None:
    table.move_cursor(row=[str(k) for k, _ in table._rows].index(str(step)))
    await pilot.pause()


async def test_vault_lists_checkpoints_with_marks_and_disk(seeded) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(120, 30)) as pilot:
        table = await open_vault(app, pilot)
        assert [k for k, _ in table._rows] == [1500, 1200, 800, 400]
        text = screen_text(app)
        assert "4 checkpoints · 👑 champion checkpoint-1200 · 🚀 deployed checkpoint-1200" in text
        assert "1,200  👑 🚀  1.200  1.400  100% L1  20% L1  disk+node" in text
        assert "800    📌     1.600  1.800  80% L1   —       disk" in text
        assert "1,500  new    0.900  1.100  —        —       disk" in text
        assert "checkpoint-1200-20260101-0012" in text and "2026-01-01 00:20" in text
        assert "Disk: checkpoints 13.4 MB · " in text and " free of " in text


async def test_ledger_details(seeded) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(100, 40)) as pilot:
        table = await open_vault(app, pilot)
        await select(pilot, table, 1200)
        await press(app, pilot, "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, CheckpointDetailsScreen)
        text = screen_text(app)
        assert "checkpoint-1200-20260101-0012" in text
        assert "👑 champion, 🚀 deployed, on the node" in text
        assert "BIN L1: 100% (5/5)" in text and "SY L1: 20% (1/5)" in text
        assert "tokens_seen: 4915200" in text and "quest_file: bin-l1-0001.jsonl" in text
        await press(app, pilot, "escape")
        assert not isinstance(app.screen, CheckpointDetailsScreen)


async def test_delete_is_refused_for_champion_deployed_and_newest(seeded) -> None:
    app = make_app(seeded)
    posted = Posted()
    async with app.run_test(size=(100, 30), message_hook=posted) as pilot:
        table = await open_vault(app, pilot)
        await select(pilot, table, 1200)
        await press(app, pilot, "d")
        assert "is the champion; promote another checkpoint first" in posted.toasts()[-1].text
        await select(pilot, table, 1500)
        await press(app, pilot, "d")
        assert "is the newest checkpoint: training resumes from it" in posted.toasts()[-1].text
        await select(pilot, table, 400)
        await press(app, pilot, "d")
        assert "Delete checkpoint-400-20260101-0004?" in screen_text(app)
        await press(app, pilot, "n")
        await press(app, pilot, "d", "y")
        assert await commands_sent(seeded) == [(CommandKind.CHECKPOINT_DELETE, {"step": 400})]


async def test_deployed_refusal_names_the_reason() -> None:
    from game.data.vault import VaultRow

    row = VaultRow(5, "checkpoint-5", 0.0, None, None, (), None, True, True, False, True, False, False, None, None, None)
    assert row.delete_refusal() == "checkpoint-5 is deployed on the inference node; deploy another first"


async def test_vault_keys(seeded, tmp_path) -> None:
    """p promotes after asking, e exports to a folder, l loads on the node, k pins and unpins."""
    app = make_app(seeded)
    posted = Posted()
    async with app.run_test(size=(100, 30), message_hook=posted) as pilot:
        table = await open_vault(app, pilot)
        await select(pilot, table, 1200)
        await press(app, pilot, "p")
        assert "already the champion" in posted.toasts()[-1].text
        await press(app, pilot, "l")
        assert "already on the node" in posted.toasts()[-1].text
        await select(pilot, table, 800)
        await press(app, pilot, "p")
        assert "Promote checkpoint-800-20260101-0008 to champion?" in screen_text(app)
        await press(app, pilot, "y")
        await press(app, pilot, "e")
        field = app.screen.query_one("#path")
        assert field.value == str(seeded.exports_dir) + "/"
        field.value = str(tmp_path / "out")
        await press(app, pilot, "enter")
        await press(app, pilot, "k")
        await select(pilot, table, 1500)
        await press(app, pilot, "l", "k")
        assert await commands_sent(seeded) == [
            (CommandKind.PROMOTE, {"step": 800}),
            (CommandKind.CHECKPOINT_EXPORT, {"step": 800, "dest": str(tmp_path / "out"), "merge": False}),
            (CommandKind.CHECKPOINT_PIN, {"step": 800, "pinned": False}),
            (CommandKind.NODE_LOAD, {"step": 1500, "base": False, "node": None}),
            (CommandKind.CHECKPOINT_PIN, {"step": 1500, "pinned": True}),
        ]


async def test_the_vault_sorts_by_its_columns_and_shows_the_champion_board(seeded) -> None:
    from game.screens.champion_board import ChampionBoardScreen

    app = make_app(seeded)
    async with app.run_test(size=(120, 34)) as pilot:
        table = await open_vault(app, pilot)
        assert "sorted by newest (r)" in screen_text(app)
        await press(app, pilot, "r")
        assert [k for k, _ in table._rows] == [1500, 1200, 800, 400] and "sorted by validation loss" in screen_text(app)
        await press(app, pilot, "r")
        assert "sorted by train loss" in screen_text(app)
        await press(app, pilot, "r")  # BIN accuracy: the higher level first, then the higher accuracy
        assert [k for k, _ in table._rows][:3] == [1200, 800, 400] and "sorted by BIN accuracy" in screen_text(app)

        await press(app, pilot, "c")
        await settle(app, pilot)
        assert isinstance(app.screen, ChampionBoardScreen)
        text = screen_text(app)
        assert "score = mean over its evaluations of (level - 1 + accuracy)" in text
        assert " 1. checkpoint-800-20260101-0008  score 0.80 · val 1.800" in text
        assert " 3. checkpoint-1200-20260101-0012 👑  score 0.60 · val 1.400" in text
        assert "BIN L1 100% -> 1.00, SY L1 20% -> 0.20: mean 0.60" in text
        await press(app, pilot, "escape")
        assert not isinstance(app.screen, ChampionBoardScreen)
