"""Ledger queries: `realm vault list --json` and `realm vault best --metric ...` over a real save
(the real store, the real CLI in its own process)."""

from __future__ import annotations

import json
from pathlib import Path

from test_cli import realm

# step: (train loss, val loss, {(skill, level): (correct, total)})
CHECKPOINTS = {
    100: (0.90, 1.10, {("bin", 1): (6, 10)}),
    200: (0.50, 0.70, {("bin", 1): (10, 10), ("bin", 2): (2, 10)}),
    300: (0.40, 0.80, {("bin", 2): (7, 10), ("bin", 1): (9, 10), ("sy", 1): (1, 5)}),
    400: (0.45, 0.75, {("bin", 2): (5, 10)}),
}


async def make_vault(save: Path) -> None:
    from backend.store import Store

    assert realm("init", "--save", str(save)).returncode == 0
    async with await Store.open(save / "realm.db") as store:
        for step, (train, val, evals) in CHECKPOINTS.items():
            resume = {"state_file": "resume_state.pt", "thinned": step == 100}
            await store.checkpoints.record(step, f"checkpoint-{step}-20261203-1200", f"checkpoints/c{step}",
                                           train_loss=train, val_loss=val, size_bytes=step * 1000,
                                           weights_sha256=f"{step:064d}", skill="bin", level=1,
                                           ledger={"resume": resume})
            for (skill, level), (correct, total) in evals.items():
                await store.evaluations.record(step, skill, level, correct, total, [])
        await store.checkpoints.update(200, pinned=1)
        await store.meta.set_champion_step(300)


def best(save: Path, metric: str) -> list[tuple[int, float]]:
    shown = realm("vault", "best", "--metric", metric, "--json", "--save", str(save))
    assert shown.returncode == 0, shown.stderr
    return [(r["step"], round(r["value"], 4)) for r in json.loads(shown.stdout)]


async def test_vault_best_by_each_metric_and_list_as_json(tmp_path: Path) -> None:
    save = tmp_path / "slot"
    await make_vault(save)

    assert best(save, "val_loss") == [(200, 0.7), (400, 0.75), (300, 0.8), (100, 1.1)]
    assert best(save, "train_loss")[0] == (300, 0.4)
    # accuracy:SKILL is the champion's rule over the skill: mean of (level - 1 + accuracy)
    assert best(save, "accuracy:bin") == [(400, 1.5), (300, 1.3), (200, 1.1), (100, 0.6)]
    assert best(save, "accuracy:bin:1") == [(200, 1.0), (300, 0.9), (100, 0.6)]
    assert best(save, "accuracy:sy:1") == [(300, 0.2)]

    text = realm("vault", "best", "--metric", "accuracy:bin:2", "--top", "2", "--save", str(save))
    assert text.returncode == 0 and text.stdout.splitlines() == [
        "Best by accuracy:bin:2:",
        "  1.     300  checkpoint-300-20261203-1200     accuracy:bin:2 0.7",
        "  2.     400  checkpoint-400-20261203-1200     accuracy:bin:2 0.5",
    ]

    for metric, message in (("speed", "unknown metric 'speed'"), ("accuracy:bin:x", "whole number"),
                            ("accuracy:zz", "no checkpoint in the vault has accuracy:zz yet")):
        refused = realm("vault", "best", "--metric", metric, "--save", str(save))
        assert refused.returncode == 2 and message in refused.stderr and "fix:" in refused.stderr, refused.stderr

    listed = json.loads(realm("vault", "list", "--json", "--save", str(save)).stdout)
    assert [e["step"] for e in listed] == [400, 300, 200, 100]
    by_step = {e["step"]: e for e in listed}
    assert by_step[300]["champion"] and by_step[200]["pinned"] and not by_step[400]["pinned"]
    assert by_step[100]["resume"] == "thinned" and by_step[400]["resume"] == "exact"
    assert by_step[300]["evaluations"] == [
        {"skill": "bin", "level": 1, "correct": 9, "total": 10, "accuracy": 0.9, "at": by_step[300]["evaluations"][0]["at"]},
        {"skill": "bin", "level": 2, "correct": 7, "total": 10, "accuracy": 0.7, "at": by_step[300]["evaluations"][1]["at"]},
        {"skill": "sy", "level": 1, "correct": 1, "total": 5, "accuracy": 0.2, "at": by_step[300]["evaluations"][2]["at"]},
    ]
    assert by_step[400]["path"] == str(save / "checkpoints" / "c400") and not by_step[400]["on_trainer"]
    assert by_step[200]["val_loss"] == 0.7 and by_step[200]["size_bytes"] == 200_000
