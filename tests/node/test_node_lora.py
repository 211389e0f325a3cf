"""The node serves a LoRA checkpoint as base + adapter: it answers as the merged model does,
names both shas in its identity, and never puts an adapter over a different base."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from contracts.checkpoint import read_ledger
from contracts.node_api import HEADER_BASE_SHA256, HEADER_SHA256
from node_helpers import NodeProcess, NodeWorld, train_checkpoints

pytestmark = pytest.mark.slow

MESSAGES = [{"role": "user", "content": "①⓪ + ⓪① ="}]


def merged_greedy(base: Path, adapter: Path, max_tokens: int) -> str:
    """The adapter merged into the base with PEFT, decoded greedily here, without the node."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from engine.chat import detect_style, render_prompt_ids

    tok = AutoTokenizer.from_pretrained(str(adapter))
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32),
                                      str(adapter)).merge_and_unload().eval()
    ids = torch.tensor([render_prompt_ids(tok, MESSAGES, detect_style(tok))])
    end = tok.convert_tokens_to_ids("<|im_end|>")
    out: list[int] = []
    with torch.no_grad():
        for _ in range(max_tokens):
            nxt = int(model(input_ids=ids).logits[0, -1].argmax())
            if nxt in (end, tok.eos_token_id):
                break
            out.append(nxt)
            ids = torch.cat([ids, torch.tensor([[nxt]])], dim=1)
    return tok.decode(out)


def test_a_lora_checkpoint_is_served_over_its_base_and_refused_over_another(world: NodeWorld, tmp_path: Path) -> None:
    from engine.nano_model import create_nano

    trained = train_checkpoints(world.base, tmp_path / "train", steps=4, save_every=4, method="lora",
                                lora={"rank": 4, "alpha": 16.0, "dropout": 0.0})
    adapter = trained[-1]
    ledger = read_ledger(adapter)
    assert ledger.method == "lora"
    models = tmp_path / "models"
    models.mkdir()
    shutil.copytree(adapter, models / adapter.name)
    model_id = f"checkpoint-{ledger.step}"
    node = NodeProcess(models, base_dir=world.base).start()
    try:
        with httpx.Client(base_url=node.url, headers=node.headers, timeout=120) as http:
            loaded = http.post("/models/load", json={"model": model_id})
            assert loaded.status_code == 200, loaded.text
            info = loaded.json()
            assert info["weights_sha256"] == ledger.weights_sha256
            assert info["base_weights_sha256"] == ledger.base_weights_sha256
            answer = http.post("/v1/chat/completions", json={"model": model_id, "messages": MESSAGES,
                                                             "max_tokens": 12, "temperature": 0})
            assert answer.status_code == 200, answer.text
            assert answer.headers[HEADER_SHA256] == ledger.weights_sha256
            assert answer.headers[HEADER_BASE_SHA256] == ledger.base_weights_sha256
            assert answer.json()["choices"][0]["message"]["content"] == merged_greedy(world.base, adapter, 12)
    finally:
        node.stop()
    other = create_nano(tmp_path / "other-base", seed=9)
    stranger = NodeProcess(models, base_dir=other).start()
    try:
        with httpx.Client(base_url=stranger.url, headers=stranger.headers, timeout=120) as http:
            refused = http.post("/models/load", json={"model": model_id})
            assert refused.status_code == 404
            body = refused.json()["error"]
            assert body["code"] == "base_mismatch" and "never answers over another base" in body["message"]
    finally:
        stranger.stop()
