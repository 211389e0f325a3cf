"""`python -m engine nano PATH`: create nano DIO, offline and deterministically.

A tiny `Qwen3ForCausalLM` (shape from `contracts.nano.NanoSpec`) with random weights
from `seed`, plus the compact nano tokenizer and its ChatML template, saved as a
standard Hugging Face folder that `AutoModelForCausalLM` and `AutoTokenizer` load.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from contracts.nano import NanoSpec


def nano_config(spec: NanoSpec, pad_id: int, eos_id: int):  # -> Qwen3Config
    from transformers import Qwen3Config

    return Qwen3Config(
        vocab_size=spec.vocab_size,
        hidden_size=spec.hidden_size,
        num_hidden_layers=spec.num_layers,
        num_attention_heads=spec.num_heads,
        num_key_value_heads=spec.num_kv_heads,
        head_dim=spec.head_dim,
        intermediate_size=spec.intermediate_size,
        max_position_embeddings=spec.max_position_embeddings,
        tie_word_embeddings=True,
        rms_norm_eps=1e-6,
        pad_token_id=pad_id,
        eos_token_id=eos_id,
        bos_token_id=None,
        use_cache=True,
        dtype="float32",
    )


def create_nano(path: str | Path, seed: int = 0, spec: NanoSpec | None = None) -> Path:
    """Write nano DIO to `path` (created; must not already hold a model). Returns the folder."""
    import torch
    from transformers import AutoTokenizer, GenerationConfig, Qwen3ForCausalLM

    from engine.nano_tokenizer import IM_END, PAD_TOKEN, save_nano_tokenizer

    spec = spec or NanoSpec()
    out = Path(path)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not an empty folder; nano DIO is only created in a new one")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".tmp-nano-{out.name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    save_nano_tokenizer(tmp, spec.vocab_size, spec.max_position_embeddings)
    tok = AutoTokenizer.from_pretrained(str(tmp))
    pad_id, eos_id = tok.convert_tokens_to_ids(PAD_TOKEN), tok.convert_tokens_to_ids(IM_END)
    config = nano_config(spec, pad_id, eos_id)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen3ForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=eos_id, pad_token_id=pad_id, do_sample=False)
    model.save_pretrained(str(tmp), safe_serialization=True)
    if out.exists():
        out.rmdir()  # empty (checked above)
    os.replace(tmp, out)
    return out
