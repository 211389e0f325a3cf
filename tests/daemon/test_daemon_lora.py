"""A LoRA hero end to end on nano, through the real daemon and its local node: the battle saves
adapter checkpoints, each is evaluated, the best is crowned and deployed (the node confirms
the adapter's sha256 over the base's), the Oracle answers with it, and `realm vault export
--merge` writes a full Hugging Face folder that transformers loads alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from backend.config import check_config
from backend.event_kinds import EventKind
from backend.oracle import OracleClient
from contracts.checkpoint import folder_weights_sha256, read_ledger
from daemon.harness import DaemonProcess, chat_lines, drop_in_inbox, make_save, store_of, wait_until

pytestmark = pytest.mark.slow


async def test_a_lora_hero_trains_is_crowned_answers_and_exports_merged(tmp_path: Path, nano_base: Path) -> None:
    save = await make_save(tmp_path / "save", nano_base, {
        "training.method": "lora", "training.lora.rank": 8, "training.learning_rate": 1e-2,
        "evaluation.enabled": True, "evaluation.max_new_tokens": 16, "training.save_every": 8,
        "hosts.inference.url": "local",
    })
    drop_in_inbox(save, "sums.jsonl", chat_lines(300))
    daemon = DaemonProcess(save).start()
    store = await store_of(save)
    try:
        async def deployed():
            return await store.meta.deployed_step()

        step = await wait_until(deployed, 300, "a LoRA champion deployed on the local node")
        row = await store.checkpoints.get(step)
        folder = save.root / row.path
        ledger = read_ledger(folder)
        assert ledger.method == "lora" and (folder / "adapter_config.json").is_file()
        assert not (folder / "model.safetensors").exists()
        assert ledger.base_weights_sha256 == folder_weights_sha256(save.base_model_dir)
        assert row.weights_sha256 == ledger.weights_sha256
        evaluated = [e.payload["step"] for e in await store.events.since(0, kinds=(EventKind.CHECKPOINT_EVALUATED,))]
        assert step in evaluated
        config, _ = check_config(save.config_path)
        client = OracleClient.from_config(save, config)
        try:
            details = await client.model_details()
            served = details[f"checkpoint-{step}"]
            assert served["weights_sha256"] == row.weights_sha256
            assert served["base_weights_sha256"] == ledger.base_weights_sha256
            text, identity = await client.chat(f"checkpoint-{step}", [{"role": "user", "content": "⓪① + ⓪① ="}],
                                               temperature=0.0, max_tokens=12)
            assert identity.sha256 == row.weights_sha256 and isinstance(text, str)
        finally:
            await client.aclose()
        out = subprocess.run([sys.executable, "-m", "backend.cli", "vault", "export", str(step), str(tmp_path / "out"),
                              "--merge", "--save", str(save.root)], capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stdout + out.stderr
        merged = next((tmp_path / "out").iterdir())
        assert (merged / "model.safetensors").is_file() and not (merged / "adapter_config.json").exists()
        check = subprocess.run([sys.executable, "-c", "import sys; from transformers import AutoModelForCausalLM; "
                                "m = AutoModelForCausalLM.from_pretrained(sys.argv[1]); "
                                "print(type(m).__name__, sum(p.numel() for p in m.parameters()))", str(merged)],
                               capture_output=True, text=True, timeout=120)
        assert check.returncode == 0 and check.stdout.startswith("Qwen3ForCausalLM"), check.stderr[-1500:]
    finally:
        await store.close()
        daemon.stop()
