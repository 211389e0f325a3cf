"""Lean checkpoints in the daemon: retention thins all but the newest resume states and the
protected ones (pinned, the champion) (real store, real checkpoint folders written by the engine's saver); only those
that keep one can be resumed exactly."""

from __future__ import annotations

from pathlib import Path

from backend.config import load_config
from backend.daemon.context import DaemonContext
from backend.daemon.upkeep import apply_retention
from backend.store import Store
from contracts.checkpoint import RESUME_STATE_NAME, check_checkpoint, has_resume_state, list_complete, read_ledger
from daemon.harness import make_save, record_checkpoints, write_checkpoints

STEPS = (100, 200, 300, 400, 500)


async def test_retention_thins_old_resume_states_but_the_newest_and_pinned(tmp_path: Path, nano_base: Path) -> None:
    save = await make_save(tmp_path / "save", nano_base, {"retention.keep_last": 10, "retention.resume_states_kept": 2})
    write_checkpoints(save.checkpoints_dir, save.base_model_dir, STEPS)
    store = await Store.open(save.db_path)
    ctx = DaemonContext(save, store, load_config(save.config_path))
    try:
        await record_checkpoints(store, save)
        await store.checkpoints.update(100, pinned=1)
        await store.meta.set_champion_step(200)  # the champion is served: its files must not change under the node
        before = {r.step: r for r in await store.checkpoints.live()}

        summary = await apply_retention(ctx)

        assert "0 checkpoint(s) removed" in summary and "1 thinned to their weights" in summary
        rows = {r.step: r for r in await store.checkpoints.live()}
        assert set(rows) == set(STEPS)  # nothing deleted: only resume states went
        for step, row in rows.items():
            folder = row.folder(save.root)
            ledger = read_ledger(folder)
            assert check_checkpoint(folder, verify_hashes=True) == []
            kept = step in (100, 200, 400, 500)
            assert has_resume_state(ledger) is kept and (folder / RESUME_STATE_NAME).exists() is kept, step
            assert row.ledger["resume"]["thinned"] is (not kept)
            assert (row.size_bytes == before[step].size_bytes) is kept
            assert row.size_bytes == sum(d.size for d in ledger.files.values())
        assert "thinned" not in await apply_retention(ctx)  # nothing left to thin
        told = [e.payload for e in await store.events.since(0, limit=1000) if e.payload.get("code") == "lean_checkpoints"]
        assert len(told) == 1 and "1 older checkpoint(s) thinned" in told[0]["message"]  # said once, in words

        resumable = [led.step for _, led in list_complete(save.checkpoints_dir, resumable=True)]
        assert resumable == [100, 200, 400, 500]  # what a battle may resume exactly
    finally:
        await store.close()
