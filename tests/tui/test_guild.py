"""The Guild: skills, levels, accuracy history, the curriculum plan, samples, background tasks."""

import re

from backend.command_kinds import CommandKind
from game.screens.eval_samples import EvalSamplesScreen
from game.widgets.table import RealmTable
from tui_helpers import commands_sent, make_app, press, screen_text, settle


async def open_guild(app, pilot) -> RealmTable:
    await settle(app, pilot)
    await press(app, pilot, "g")
    await settle(app, pilot)
    return app.screen.query_one(RealmTable)


async def test_guild_lists_skills_levels_history(seeded) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        table = await open_guild(app, pilot)
        assert [k for k, _ in table._rows] == ["bin", "sy"]
        text = screen_text(app)
        assert "⚗ Binary Alchemy (bin)  1→2/30" in text  # mastered 1, training 2, of 30
        assert "Word Weaving (sy)" in text and "0→1/50" in text and "▂ 20%" in text
        assert "on w1 p0" in text
        assert "Strategy equal · next quest: SY L1" in text
        # the selected skill's levels: accuracy history per level as a sparkline, now and best
        assert "100% (best 100%, 3 evals) mastered" in text


async def test_guild_shows_a_rusty_level_and_its_best(seeded) -> None:
    """Three low re-checks of BIN L1, recorded by the daemon's own evaluator bookkeeping."""
    from backend.config import load_config
    from backend.daemon.context import DaemonContext
    from backend.daemon.evaluation import Evaluator, LevelResult
    from backend.store import Store

    async with await Store.open(seeded.db_path) as store:
        ctx = DaemonContext(seeded, store, load_config(seeded.config_path))
        evaluator = Evaluator(ctx, node=None)
        for step in (1500, 1600, 1700):
            await store.checkpoints.record(step, f"checkpoint-{step}", f"checkpoints/checkpoint-{step}")
            await evaluator.record(await store.checkpoints.get(step), [LevelResult("bin", 1, 1, 5, [])])
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_guild(app, pilot)
        text = screen_text(app)
        assert "1→2/30 L1 rusty" in text  # still mastered 1, training 2, L1 rehearsed until restored
        assert "20% (best 100%, 6 evals) rusty, rehearsed until it passes" in text
        await press(app, pilot, "t")
        await settle(app, pilot)
        text = screen_text(app)
        assert "Rusty BIN L1" in text and "Next BIN L2: —" in text and "needs 80% mean of 3" in text


async def test_enter_shows_evaluation_samples(seeded) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_guild(app, pilot)
        await press(app, pilot, "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, EvalSamplesScreen)
        text = screen_text(app)
        assert "Binary Alchemy: evaluation samples" in text
        assert "①① + ①① =" in text and "①①⓪" in text and "✓" in text
        await press(app, pilot, "escape")
        await press(app, pilot, "down", "enter")
        await settle(app, pilot)
        text = screen_text(app)
        assert "Build the words from: ca, t, do, g" in text and "cat dog" in text


async def test_plan_and_strategy_keys(seeded) -> None:
    """e, w, p change the selected skill's plan; f focuses on it; c picks the strategy."""
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_guild(app, pilot)
        await press(app, pilot, "e")
        await press(app, pilot, "w")
        field = app.screen.query_one("#value")
        field.value = "abc"
        await pilot.pause()
        assert "a number from 0 to 1000" in screen_text(app)
        field.value = "2.5"
        await press(app, pilot, "enter")
        await press(app, pilot, "p")
        app.screen.query_one("#value").value = "7"
        await press(app, pilot, "enter")
        await press(app, pilot, "f")
        assert await commands_sent(seeded) == [
            (CommandKind.SKILL_PLAN, {"skill": "bin", "enabled": False, "weight": None, "priority": None}),
            (CommandKind.SKILL_PLAN, {"skill": "bin", "enabled": None, "weight": 2.5, "priority": None}),
            (CommandKind.SKILL_PLAN, {"skill": "bin", "enabled": None, "weight": None, "priority": 7}),
            (CommandKind.CURRICULUM_SET, {"strategy": "focus", "focus": "bin"}),
        ]
        await press(app, pilot, "c")
        assert "equal  (now)" in screen_text(app)
        await press(app, pilot, "down", "down", "enter")  # weighted
        await press(app, pilot, "c", "down", "enter")  # focus: asks which skill
        await settle(app, pilot)
        await press(app, pilot, "down", "enter")
        assert (await commands_sent(seeded))[4:] == [
            (CommandKind.CURRICULUM_SET, {"strategy": "weighted", "focus": None}),
            (CommandKind.CURRICULUM_SET, {"strategy": "focus", "focus": "sy"}),
        ]


async def test_the_tasks_view_shows_each_task_and_runs_one_now(seeded) -> None:
    """The daemon's own task registry (registered and run by its task master, no daemon process)."""
    import time

    from backend.config import load_config
    from backend.daemon.components import build_components
    from backend.daemon.context import DaemonContext
    from backend.daemon.taskmaster import TaskMaster
    from backend.store import Store
    from game.screens.tasks import TasksScreen

    async with await Store.open(seeded.db_path) as store:
        ctx = DaemonContext(seeded, store, load_config(seeded.config_path))
        master = next(c for c in build_components(ctx) if isinstance(c, TaskMaster))
        await master.start()
        await master.execute(master.find("lineage_report"), time.time())
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_guild(app, pilot)
        await press(app, pilot, "b")
        await settle(app, pilot)
        assert isinstance(app.screen, TasksScreen)
        text = screen_text(app)
        assert "Background tasks" in text and "health_check" in text and "sparring_round" in text
        assert "idle machines" in text and "never" in text
        table = app.screen.query_one("#tasks-table")
        names = [table.get_row_at(i)[0] for i in range(table.row_count)]
        lineage = table.get_row_at(names.index("lineage_report"))
        assert lineage[2] == "1" and lineage[3].endswith(" ago")  # ran once
        assert re.fullmatch(r"in (1h 00m|\d+m \d\ds)", lineage[4]), lineage  # next: an hour on (seconds may not have passed)
        table.move_cursor(row=names.index("lineage_report"))
        await settle(app, pilot)
        text = screen_text(app)
        assert "hourly: fail rates per generator and validator" in text and "✓ 0 generator(s)" in text
        await press(app, pilot, "enter")
        await settle(app, pilot)
        sent = await commands_sent(seeded)
        assert (CommandKind.TASK_RUN, {"name": "lineage_report"}) in sent
        await press(app, pilot, "escape")
        await settle(app, pilot)
        assert not isinstance(app.screen, TasksScreen)
