"""Load one checkpoint for serving, verified: the ModelRuntime that generation uses.

The weights' sha256 is checked against the ledger (every ledger file but the resume
state is re-hashed), the folder's fingerprint is taken before and after so that files
changing during the load are caught, and the model is loaded with the engine's loaders:
bf16 on CUDA (when supported), fp32 on the CPU, sdpa (or flash attention) attention.
The profile recorded in the ledger supplies the chat style, the system prompt, the stop
sequences and the logit penalties (a folder without a ledger, e.g. `base`, uses the
`none` profile and the tokenizer's own style).
"""

from __future__ import annotations

import gc
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from contracts.checkpoint import (
    WEIGHT_SUFFIXES,
    ProfileInfo,
    combined_weights_sha256,
    folder_weights_sha256,
    sha256_file,
)
from contracts.node_api import LoadedModel
from engine.chat import ChatStyle, detect_style, render_prompt_ids
from engine.profiles import PROFILES, DataProfile, get_profile
from inference_node.decoding import byte_table
from inference_node.errors import LoadFailed, ModelNotFound, NodeError
from inference_node.fair_lock import FairLock
from inference_node.identity import Fingerprint, Resolved, folder_fingerprint


@dataclass(eq=False)
class ModelRuntime:
    """A loaded checkpoint and everything a request needs to generate with it."""

    model_id: str
    step: int | None
    path: Path
    weights_sha256: str
    fingerprint: Fingerprint
    profile_info: ProfileInfo
    profile: DataProfile | None
    style: ChatStyle
    model: Any
    tokenizer: Any
    device: torch.device
    dtype: torch.dtype
    memory_bytes: int
    byte_table: list[bytes] | None
    logit_bias: torch.Tensor | None
    end_token_ids: frozenset[int]
    stop_strings: tuple[str, ...]
    context_length: int
    max_token_bytes: int = 1 << 16  # the longest text one token stands for (bounds a prompt's length cheaply)
    base_weights_sha256: str | None = None  # a LoRA checkpoint: the base it was put over (both shas are its identity)
    load_seconds: float = 0.0  # verifying the sha256 and loading, as the pool timed it
    loaded_at: float = field(default_factory=time.time)
    last_used: float = field(default_factory=time.time)
    in_flight: int = 0
    requests: int = 0
    tokens_generated: int = 0
    cancelled: int = 0
    retired: bool = False
    lock: FairLock = field(default_factory=FairLock)

    def prompt_ids(self, messages: list[dict[str, Any]]) -> list[int]:
        """The prompt exactly as training rendered it: the profile's message transform (or its
        system prompt), then the engine's chat renderer with the checkpoint's style."""
        if self.profile is not None:
            messages = self.profile.transform_messages(messages)
        elif self.profile_info.system_prompt and (not messages or messages[0].get("role") != "system"):
            messages = [{"role": "system", "content": self.profile_info.system_prompt}, *messages]
        return render_prompt_ids(self.tokenizer, messages, self.style)

    def check_prompt_size(self, messages: list[dict[str, Any]]) -> None:
        """Refuse, without tokenizing, a prompt whose text cannot fit the context: every token
        stands for at most `max_token_bytes` bytes, so more bytes than context x that cannot fit."""
        room = self.context_length * self.max_token_bytes
        size = 0
        for m in messages:
            for key in ("content", "reasoning_content"):
                text = m.get(key)
                if isinstance(text, str):
                    size += len(text)  # characters: at least one byte each
            if size > room:
                raise NodeError(f"the messages hold more than {size:,} characters of text; {self.model_id} takes "
                                f"at most {self.context_length:,} tokens (about {room:,} characters at the very "
                                "most)", param="messages", code="context_length_exceeded")

    def info(self) -> LoadedModel:
        return LoadedModel(
            id=self.model_id, step=self.step, path=str(self.path), weights_sha256=self.weights_sha256,
            base_weights_sha256=self.base_weights_sha256, load_seconds=round(self.load_seconds, 3),
            profile=self.profile_info.name, device=str(self.device), dtype=str(self.dtype).removeprefix("torch."),
            memory_bytes=self.memory_bytes, loaded_at=self.loaded_at, last_used=self.last_used,
            in_flight=self.in_flight, requests=self.requests, tokens_generated=self.tokens_generated,
            cancelled=self.cancelled, chat_style=self.style, context_length=self.context_length,
        )

    def release_memory(self) -> Future:
        """Drop the weights; then, off the event loop (a full gc and a device sync take a while),
        collect and on CUDA give the cached blocks back so memory returns to its baseline.
        Returns the reclaim's future (the GPU check waits on it before reading memory)."""
        self.model = None
        self.logit_bias = None
        return RECLAIMER.submit(reclaim, self.device)


RECLAIMER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="node-reclaim")


def reclaim(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()


def check_adapter_base(resolved: Resolved, base_path: Path | None) -> str:
    """The node's base sha256, when it is the base the adapter of `resolved` was trained over."""
    ledger = resolved.ledger
    assert ledger is not None
    if base_path is None or not (base_path / "config.json").is_file():
        raise ModelNotFound(f"{resolved.model_id} is a LoRA adapter and this node has no base model to put it "
                            "over (start it with --base-dir)", code="base_missing")
    from engine.lora import base_sha256

    have = base_sha256(base_path)
    if ledger.base_weights_sha256 and have != ledger.base_weights_sha256:
        raise ModelNotFound(f"{resolved.model_id} adapts a base with weights sha256 {ledger.base_weights_sha256[:12]}, "
                            f"but this node's base has {have[:12]}: an adapter never answers over another base",
                            code="base_mismatch")
    return have


def merged_adapter(adapter_dir: Path, base_path: Path, device: torch.device, attention: str,
                   dtype: torch.dtype) -> torch.nn.Module:
    """The base with the adapter merged in (PEFT's merge_and_unload): generation runs at full speed."""
    from peft import PeftModel

    from engine.loading import load_model

    base = load_model(base_path, device, attention, dtype)
    return PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()


def verify_weights(resolved: Resolved) -> str:
    """The weights' sha256, checked against the ledger (files re-hashed now)."""
    folder, ledger = resolved.path, resolved.ledger
    if ledger is None:
        sha = folder_weights_sha256(folder)
        if not sha:
            raise ModelNotFound(f"{resolved.model_id}: no weight files in {folder}", code="model_incomplete")
        return sha
    skip = {ledger.resume.state_file} if ledger.resume is not None else set()
    bad = []
    for name, digest in ledger.files.items():
        if name in skip:
            continue
        actual = sha256_file(folder / name)
        if actual != digest.sha256:
            bad.append(name)
    if bad:
        raise ModelNotFound(f"{resolved.model_id}: {', '.join(sorted(bad))} in {folder.name} differ from the "
                            "sha256 in its ledger; the checkpoint is damaged", code="model_damaged")
    weights = {n: d for n, d in ledger.files.items() if n.endswith(WEIGHT_SUFFIXES)}
    if combined_weights_sha256(weights) != ledger.weights_sha256:
        raise ModelNotFound(f"{resolved.model_id}: the ledger's weights_sha256 does not match its weight files",
                            code="model_damaged")
    return ledger.weights_sha256


def _profile_of(resolved: Resolved) -> tuple[ProfileInfo, DataProfile | None]:
    if resolved.ledger is None:
        plain = get_profile("none")
        return ProfileInfo(**plain.describe()), plain
    info = resolved.ledger.profile
    return info, get_profile(info.name) if info.name in PROFILES else None


def _single_token_id(tokenizer: Any, text: str) -> int | None:
    token_id = tokenizer.convert_tokens_to_ids(text)
    if isinstance(token_id, int) and token_id != tokenizer.unk_token_id and token_id >= 0:
        if tokenizer.convert_ids_to_tokens(token_id) == text:
            return token_id
    ids = tokenizer.encode(text, add_special_tokens=False)
    return ids[0] if len(ids) == 1 else None


def _logit_bias(tokenizer: Any, penalties: dict[str, float], vocab: int, device: torch.device) -> torch.Tensor | None:
    """Additive biases by token string; strings that are not one token are skipped."""
    bias = torch.zeros(vocab, dtype=torch.float32)
    used = False
    for text, value in penalties.items():
        token_id = _single_token_id(tokenizer, text)
        if token_id is not None and token_id < vocab:
            bias[token_id] += float(value)
            used = True
    return bias.to(device) if used else None


def _end_ids(model: Any, tokenizer: Any, stops: list[str]) -> frozenset[int]:
    ids: set[int] = set()
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for value in (eos, model.config.eos_token_id, tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, (list, tuple)):
            ids.update(v for v in value if isinstance(v, int))
    specials = set(getattr(tokenizer, "all_special_tokens", []))
    for text in ["<|im_end|>", *stops]:
        if text in specials:
            token_id = _single_token_id(tokenizer, text)
            if token_id is not None:
                ids.add(token_id)
    return frozenset(ids)


def memory_of(model: torch.nn.Module) -> int:
    tensors = {id(t): t for t in [*model.parameters(), *model.buffers()]}.values()
    return sum(t.numel() * t.element_size() for t in tensors)


def warm_up() -> None:
    """Import what the first load needs (transformers' Qwen3 modules: about 2 s on a small CPU)
    now, so that the first /models/load takes as long as the others."""
    import transformers.models.qwen3.modeling_qwen3  # noqa: F401
    from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache  # noqa: F401

    from engine.loading import quiet_transformers

    quiet_transformers()


def load_runtime(resolved: Resolved, device: torch.device, dtype: torch.dtype, attention: str,
                 base_path: Path | None = None) -> ModelRuntime:
    """Verify and load `resolved` (blocking: call it in a worker thread). A LoRA checkpoint is put
    over this node's base (`base_path`) only when that base is the one its ledger names by sha256,
    and merged into it for generation."""
    from engine.loading import load_model, load_tokenizer, quiet_transformers
    from engine.errors import EngineError

    quiet_transformers()
    sha = verify_weights(resolved)
    lora = resolved.ledger is not None and resolved.ledger.method in ("lora", "qlora")
    base_sha = check_adapter_base(resolved, base_path) if lora else None
    try:
        tokenizer = load_tokenizer(resolved.path)
        if lora:
            model = merged_adapter(resolved.path, base_path, device, attention, dtype)  # type: ignore[arg-type]
        else:
            model = load_model(resolved.path, device, attention, dtype)
    except EngineError as exc:
        raise LoadFailed(f"{resolved.model_id}: {exc}") from None
    model.eval()
    model.requires_grad_(False)
    try:
        after = folder_fingerprint(resolved.path)
    except FileNotFoundError:
        after = ()
    if after != resolved.fingerprint:
        del model
        gc.collect()
        raise ModelNotFound(f"{resolved.model_id}: files in {resolved.path.name} changed while it was loading; "
                            "load it again", code="model_changed")
    info, profile = _profile_of(resolved)
    recorded = info.chat_style
    style: ChatStyle = recorded if recorded in ("qwen3", "chatml") else detect_style(tokenizer)  # type: ignore[assignment]
    vocab = int(model.config.vocab_size)
    stop_strings = tuple(s for s in info.stop_sequences if s)
    return ModelRuntime(
        model_id=resolved.model_id, step=resolved.step, path=resolved.path, weights_sha256=sha, base_weights_sha256=base_sha,
        fingerprint=resolved.fingerprint, profile_info=info, profile=profile, style=style, model=model,
        tokenizer=tokenizer, device=device, dtype=dtype, memory_bytes=memory_of(model),
        byte_table=(table := byte_table(tokenizer, vocab)),
        max_token_bytes=max((len(b) for b in table), default=1) if table else 1 << 16,
        logit_bias=_logit_bias(tokenizer, info.logit_penalties, vocab, device),
        end_token_ids=_end_ids(model, tokenizer, list(stop_strings)), stop_strings=stop_strings,
        context_length=int(getattr(model.config, "max_position_embeddings", 0) or 0) or 1 << 30,
    )
