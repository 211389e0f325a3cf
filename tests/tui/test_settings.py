"""Settings: realm.yaml values, validated edits, locked values; the VRAM calculator."""

from backend.command_kinds import CommandKind
from backend.config import load_config
from backend.config.locks import LOCK_META_KEY
from backend.store import Store
from backend.vram import QWEN3_SHAPES, estimate
from backend.fmt import fmt_bytes
from game.screens.edit_setting import EditSettingScreen
from game.screens.vram import VramScreen
from game.widgets.table import RealmTable
from tui_helpers import commands_sent, make_app, press, screen_text, settle


async def open_settings(app, pilot) -> RealmTable:
    await settle(app, pilot)
    await press(app, pilot, "s")
    await settle(app, pilot)
    return app.screen.query_one(RealmTable)


async def select(pilot, table: RealmTable, key: str) -> None:
    table.move_cursor(row=[k for k, _ in table._rows].index(key))
    await pilot.pause()


async def test_settings_list_every_value(seeded) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(120, 30)) as pilot:
        table = await open_settings(app, pilot)
        keys = [k for k, _ in table._rows]
        assert keys[:2] == ["hero.name", "hero.base_model"]
        assert "training.learning_rate" in keys and "curriculum.skills.bin.weight" in keys and "hosts.inference.port" in keys
        text = screen_text(app)
        assert "realm.yaml · valid" in text
        assert "hero.name" in text and "the hero's name" in text


async def test_the_highlighted_keys_whole_description_shows_at_80_columns(seeded) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_settings(app, pilot)
        await select(pilot, table, "training.weight_decay")
        await settle(app, pilot)
        about = app.screen.query_one("#settings-about").shown
        assert about.startswith("training.weight_decay: AdamW weight decay (matrices only).")
        assert about.endswith("~0.01-0.1 for Qwen3-0.6B")  # whole, though the About column is clipped


async def test_edit_is_validated_then_written(seeded) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        table = await open_settings(app, pilot)
        await select(pilot, table, "training.learning_rate")
        await press(app, pilot, "enter")
        assert isinstance(app.screen, EditSettingScreen)
        field = app.screen.query_one("#setting-value")
        field.value = "-1"
        await pilot.pause()
        assert "training.learning_rate" in screen_text(app) and "greater than 0" in screen_text(app)
        await press(app, pilot, "enter")
        assert isinstance(app.screen, EditSettingScreen)  # refused: still open, file untouched
        assert load_config(seeded.config_path, {}).training.learning_rate == 0.001
        field.value = "0.002"
        await press(app, pilot, "enter")
        assert not isinstance(app.screen, EditSettingScreen)
        assert load_config(seeded.config_path, {}).training.learning_rate == 0.002
        assert "# peak learning rate" in seeded.config_path.read_text()  # comments kept
        await settle(app, pilot)
        assert "0.002" in screen_text(app)


async def test_locked_values_are_marked_and_ask_before_changing(seeded) -> None:
    async with await Store.open(seeded.db_path) as store:
        await store.meta.set(LOCK_META_KEY, {"step": 400, "values": {"training.max_length": 512}})
    app = make_app(seeded)
    async with app.run_test(size=(120, 30)) as pilot:
        table = await open_settings(app, pilot)
        text = screen_text(app)
        assert "🔒 hero settings locked since step 400" in text
        assert "training.max_length" in text and "🔒 locked" in text
        await select(pilot, table, "training.max_length")
        await press(app, pilot, "enter")
        assert "Locked: this save has trained with it since step 400" in screen_text(app)
        app.screen.query_one("#setting-value").value = "1024"
        await press(app, pilot, "enter")
        assert "Change the locked training.max_length?" in screen_text(app)
        await press(app, pilot, "y")
        assert load_config(seeded.config_path, {}).training.max_length == 1024
        assert await commands_sent(seeded) == [
            (CommandKind.CONFIG_FORCED, {"key": "training.max_length", "old": 512, "new": 1024})]


async def test_vram_calculator(seeded) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_settings(app, pilot)
        await press(app, pilot, "m")
        screen = app.screen
        assert isinstance(screen, VramScreen)
        text = screen_text(app)
        assert "nano DIO (this save)" in text and "Weights" in text and "RTX 4090 24 GB" in text
        screen.query_one("#vram-model").value = "Qwen3-0.6B"
        await pilot.pause()
        screen.query_one("#vram-precision").value = "bf16"
        screen.query_one("#vram-tokens").value = "4096"
        screen.query_one("#vram-seq").value = "2048"
        await pilot.pause()
        expected = estimate(QWEN3_SHAPES["Qwen3-0.6B"], precision="bf16", tokens_per_micro_batch=4096, sequence_length=2048)
        assert screen.estimate == expected
        text = screen_text(app)
        assert screen.query_one("#vram-params").value == "596049920"
        assert f"Total           {fmt_bytes(expected.total):>11}" in text
        assert "✓ RTX 4090 24 GB  fits" in text and "✓ H100 80 GB" in text
        screen.query_one("#vram-tokens").value = "16384"
        await pilot.pause()
        assert "✗ RTX 4090 24 GB  short by" in screen_text(app)
        screen.query_one("#vram-tokens").value = "x"
        await pilot.pause()
        assert "must be whole numbers above 0" in screen.estimate
        assert "parameters, tokens per micro-bat" in screen_text(app)
        await press(app, pilot, "escape")
        assert not isinstance(app.screen, VramScreen)
