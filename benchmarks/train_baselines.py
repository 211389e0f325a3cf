"""Baseline trainers for train_throughput.py, each run in its own process (`--worker`).

- `hf`: Hugging Face `Trainer`, random batches of `--batch` examples padded to the longest
  (its defaults: no length grouping), full logits, the model's own loss;
- `hf-grouped`: the same with `train_sampling_strategy="group_by_length"` (transformers 5's
  spelling of group_by_length), the setting a user who tunes HF Trainer reaches for first;
- `trl`: TRL `SFTTrainer` with `packing=True` (its default best-fit-decreasing strategy,
  padding-free rows of `--max-length` tokens with position_ids; under sdpa transformers builds
  the block mask);
- `trl-padding-free`: `SFTTrainer(padding_free=True)` without packing: each batch of `--batch`
  examples flattened into one row with no padding at all.

Both get exactly the engine's tokenized examples (input_ids + labels, assistant-only loss),
the same nano model and optimizer settings. Per optimizer step the worker records the wall
time, real tokens, padded slots, supervised tokens and model FLOPs, and prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import torch


class _Counting:
    """Wraps a data collator; records what each batch holds."""

    def __init__(self, inner, flop_model) -> None:
        self.inner = inner
        self.flop_model = flop_model
        self.batches: list[dict[str, float]] = []

    def __call__(self, features):
        out = self.inner(features)
        labels = out["labels"]
        if "position_ids" in out and out["input_ids"].shape[0] == 1:
            pos = out["position_ids"][0].tolist()
            starts = [i for i, p in enumerate(pos) if p == 0] + [len(pos)]
            lengths = [b - a for a, b in zip(starts, starts[1:])]
            slots = len(pos)
        else:
            lengths = out["attention_mask"].sum(1).tolist()
            slots = out["input_ids"].numel()
        supervised = int((labels[:, 1:] != -100).sum())
        self.batches.append({"tokens": sum(lengths), "slots": slots, "supervised": supervised,
                             "flops": self.flop_model.flops(lengths, supervised)})
        return out


def _pad_collator(pad_id: int):
    def collate(features):
        width = max(len(f["input_ids"]) for f in features)
        ids = torch.full((len(features), width), pad_id, dtype=torch.long)
        labels = torch.full((len(features), width), -100, dtype=torch.long)
        mask = torch.zeros((len(features), width), dtype=torch.long)
        for i, f in enumerate(features):
            n = len(f["input_ids"])
            ids[i, :n] = torch.tensor(f["input_ids"])
            labels[i, :n] = torch.tensor(f["labels"])
            mask[i, :n] = 1
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}

    return collate


def run_worker(
    kind: str, workdir: Path, steps: int, batch: int, max_length: int, threads: int, lr: float
) -> dict[str, Any]:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback

    from engine.loading import quiet_transformers
    from engine.metrics import FlopModel

    quiet_transformers()
    torch.set_num_threads(threads)
    rows = [json.loads(line) for line in (workdir / "tokenized.jsonl").read_text().splitlines()]
    ds = Dataset.from_list(rows)
    model_dir = str(workdir / "nano")
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="sdpa")
    flop_model = FlopModel.for_model(model)
    times: list[float] = []

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):  # noqa: ARG002
            times.append(time.perf_counter())

    common = dict(output_dir=str(workdir / f"out-{kind}"), max_steps=steps, learning_rate=lr, warmup_steps=5,
                  lr_scheduler_type="cosine", weight_decay=0.01, adam_beta2=0.95, max_grad_norm=1.0,
                  logging_strategy="no", save_strategy="no", report_to=[], use_cpu=True, seed=0,
                  dataloader_num_workers=0, disable_tqdm=True)
    if kind in ("hf", "hf-grouped"):
        from transformers import Trainer, TrainingArguments

        grouped = {"train_sampling_strategy": "group_by_length"} if kind == "hf-grouped" else {}
        args = TrainingArguments(per_device_train_batch_size=batch, **grouped, **common)
        trainer = Trainer(model=model, args=args, train_dataset=ds, data_collator=_pad_collator(tok.pad_token_id),
                          callbacks=[Clock()])
    elif kind == "trl":
        from trl import SFTConfig, SFTTrainer

        args = SFTConfig(per_device_train_batch_size=1, packing=True, max_length=max_length, **common)
        trainer = SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tok, callbacks=[Clock()])
    elif kind == "trl-padding-free":
        from trl import SFTConfig, SFTTrainer

        # the examples are already within max_length; TRL enforces it only when packing
        args = SFTConfig(per_device_train_batch_size=batch, padding_free=True, max_length=None, **common)
        trainer = SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tok, callbacks=[Clock()])
    else:
        raise SystemExit(f"unknown worker {kind!r}")
    counter = _Counting(trainer.data_collator, flop_model)
    trainer.data_collator = counter
    trainer.train()
    steps_out = [dict(t=t, **b) for t, b in zip(times, counter.batches)]
    return {"row": kind, "steps": steps_out, "threads": torch.get_num_threads()}


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser()
    p.add_argument("--worker", required=True, choices=["hf", "hf-grouped", "trl", "trl-padding-free"])
    p.add_argument("--workdir", type=Path, required=True)
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--max-length", type=int, default=3072)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lr", type=float, default=3e-3)
    a = p.parse_args()
    result = run_worker(a.worker, a.workdir, a.steps, a.batch, a.max_length, a.threads, a.lr)
    sys.stdout.write(json.dumps(result) + "\n")
