"""LoRA heroes through PEFT: the base stays frozen, an adapter of a few MB trains and is saved.

- A job with `method: lora` loads `model_dir` as the base and wraps it with PEFT: a new adapter
  (`get_peft_model`), or the adapter of the checkpoint it resumes or continues
  (`PeftModel.from_pretrained(..., is_trainable=True)`). That checkpoint's ledger names the
  base's weights sha256; a different base is refused (an adapter means nothing over another).
- The training forward runs on the wrapped Hugging Face model itself (PEFT swaps each target
  Linear in place, so engine.fast_qwen3's layer-by-layer forward goes through the adapters).
- A checkpoint is PEFT's own adapter folder (adapter_config.json + adapter_model.safetensors),
  the tokenizer and the resume state; its ledger adds `method`, `base_model` and
  `base_weights_sha256`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from contracts.checkpoint import folder_weights_sha256, read_ledger
from contracts.engine_job import LoraSettings
from engine.errors import EngineError

ADAPTER_CONFIG = "adapter_config.json"
SHA_CACHE_SUFFIX = ".realm-weights-sha256.json"  # beside the base: a file inside it would change the
# fingerprint the node takes of the `base` folder, and a loaded base would be dropped as stale


def is_adapter(folder: str | Path) -> bool:
    return (Path(folder) / ADAPTER_CONFIG).is_file()


def base_sha256(base_dir: str | Path) -> str:
    """folder_weights_sha256 of the base, cached beside it (`.<name>.realm-weights-sha256.json`: a
    16 GB base takes about 30 s to hash, and every quest's job needs it) as long as no weight
    file's size or mtime changed."""
    folder = Path(base_dir)
    stamp = sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in folder.iterdir()
                   if f.is_file() and f.suffix == ".safetensors")
    cache = folder.parent / f".{folder.name}{SHA_CACHE_SUFFIX}"
    try:
        saved = json.loads(cache.read_text(encoding="utf-8"))
        if [tuple(x) for x in saved["stamp"]] == stamp:
            return str(saved["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    sha = folder_weights_sha256(folder)
    try:
        cache.write_text(json.dumps({"stamp": stamp, "sha256": sha}), encoding="utf-8")
    except OSError:
        pass  # a read-only base: hash it every time
    return sha


def lora_config(settings: LoraSettings) -> Any:
    from peft import LoraConfig

    return LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                      target_modules=list(settings.target_modules), bias="none", task_type="CAUSAL_LM")


def attach_adapter(model: torch.nn.Module, settings: LoraSettings, adapter_dir: Path | None,
                   base_dir: str, base_sha: str) -> Any:
    """The PEFT model over `model` (the base): a new adapter, or `adapter_dir`'s, trainable."""
    try:
        from peft import PeftModel, get_peft_model
    except ImportError:
        raise EngineError("bad_job", "method lora needs the peft package", where="method",
                          fix="pip install peft (bash scripts/setup.sh installs it)") from None
    if adapter_dir is None:
        try:
            return get_peft_model(model, lora_config(settings))
        except ValueError as exc:
            raise EngineError("bad_job", f"cannot attach LoRA adapters: {exc}", where="lora.target_modules",
                              fix="name Linear layers of this model, e.g. q_proj, v_proj") from None
    if not is_adapter(adapter_dir):
        raise EngineError("bad_job", f"{adapter_dir.name} is a full checkpoint, not a LoRA adapter, so a LoRA job "
                          "cannot carry it on", where="method",
                          fix="keep training.method as the campaign began (full), or start a new save for LoRA")
    ledger = read_ledger(adapter_dir)
    if ledger.base_weights_sha256 and ledger.base_weights_sha256 != base_sha:
        raise EngineError("model_load", f"{adapter_dir.name} adapts a base with weights sha256 "
                          f"{ledger.base_weights_sha256[:12]}, but model_dir {base_dir} has {base_sha[:12]}",
                          where="model_dir", fix="point model_dir at the base the adapter was trained on")
    return PeftModel.from_pretrained(model, str(adapter_dir), is_trainable=True)


def merge_to_folder(adapter_dir: Path, out_dir: Path, base_dir: str | None = None) -> Path:
    """A full Hugging Face folder (safetensors weights, config, tokenizer) with the adapter merged
    into its base, for tools that know nothing of PEFT. The base: `base_dir`, else the ledger's."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ledger = read_ledger(adapter_dir)
    base = base_dir or ledger.base_model
    if not base:
        raise EngineError("bad_job", f"{adapter_dir.name}'s ledger names no base model", where="base",
                          fix="pass --base PATH")
    if Path(base).is_dir() and ledger.base_weights_sha256 and base_sha256(base) != ledger.base_weights_sha256:
        raise EngineError("model_load", f"{base} is not the base {adapter_dir.name} was trained over "
                          f"(sha256 {ledger.base_weights_sha256[:12]})", where="base")
    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    merged = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    merged.save_pretrained(str(out_dir), safe_serialization=True)
    AutoTokenizer.from_pretrained(str(adapter_dir)).save_pretrained(str(out_dir))
    return out_dir


def load_quantized_base(base_dir: str, device: torch.device, attention: str, precision: str,
                        gradient_checkpointing: bool) -> torch.nn.Module:
    """QLoRA's base: the hero's weights in 4-bit NF4 (bitsandbytes), computing in bf16, made ready
    for adapters (PEFT's prepare_model_for_kbit_training). CUDA only."""
    if device.type != "cuda":
        raise EngineError("bad_job", "method qlora quantizes the base with bitsandbytes, which needs a CUDA GPU",
                          where="method", fix="use method lora on the CPU")
    try:
        from peft import prepare_model_for_kbit_training
        from transformers import AutoModelForCausalLM, BitsAndBytesConfig
    except ImportError as exc:
        raise EngineError("bad_job", f"method qlora needs peft and bitsandbytes: {exc}", where="method",
                          fix="bash scripts/setup.sh gpu (installs bitsandbytes)") from None
    compute = torch.bfloat16 if precision == "bf16" else torch.float16
    quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                               bnb_4bit_compute_dtype=compute)
    try:
        model = AutoModelForCausalLM.from_pretrained(str(base_dir), quantization_config=quant, dtype=compute,
                                                     attn_implementation=attention, device_map={"": device.index or 0})
    except Exception as exc:  # noqa: BLE001 - a missing or broken bitsandbytes raises many kinds
        raise EngineError("model_load", f"cannot load a 4-bit base: {exc}", where=str(base_dir),
                          fix="check bitsandbytes (python -m bitsandbytes), or use method lora") from None
    return prepare_model_for_kbit_training(model, use_gradient_checkpointing=gradient_checkpointing)
