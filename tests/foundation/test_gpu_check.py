"""The GPU proof stays ready where no GPU is lent: the script parses, and its CPU rehearsal
(`--dry-run`) runs every check, passing those that can run on the CPU and saying why it
skips the others. The fsdp check is skipped here (`--skip`): it is the ddp check's two-rank
path with another sharding, and the engine's FSDP training and resume are
tests/engine/test_engine_distributed.py."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_gpu_check_parses_and_its_dry_run_passes(tmp_path: Path) -> None:
    script = ROOT / "benchmarks" / "gpu_check.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    out = subprocess.run(["bash", str(script), "--dry-run", "--skip", "fsdp", "--out", str(tmp_path)], capture_output=True, text=True,
                         cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    summary = json.loads((tmp_path / "gpu_check.json").read_text())
    checks = summary["checks"]
    assert summary["dry_run"] and summary["device"] == "cpu"
    assert list(checks) == ["train_sdpa", "train_flash", "oom_retry", "node", "lora", "qlora", "ddp", "fsdp"]
    assert checks["train_sdpa"]["status"] == "pass" and checks["train_sdpa"]["steps"] == 3
    assert checks["train_sdpa"]["final_loss"] > 0
    assert checks["node"]["status"] == "pass" and checks["node"]["load_s"] >= 0
    assert {checks[n]["status"] for n in ("train_flash", "oom_retry")} == {"skip"}
    assert checks["fsdp"] == {"status": "skip", "detail": "not run (--skip)", "seconds": 0.0}
    assert checks["ddp"]["status"] == "pass" and checks["lora"]["status"] == "pass" and checks["lora"]["adapter_mb"] < 1
    assert all(c["detail"] for c in checks.values())
    assert "| train_sdpa | pass |" in (tmp_path / "gpu_check.md").read_text()


def test_gpu_check_names_the_checks_when_skip_is_wrong() -> None:
    out = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--dry-run", "--skip", "fsdp,nope"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 2
    assert "--skip: no check named nope; the checks are train_sdpa, train_flash" in out.stderr
