"""Build the training and validation examples of a job, and the fingerprint resume checks."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from typing import Any

from contracts.engine_job import EngineJob
from contracts.checkpoint import sha256_file
from engine.chat import ChatStyle
from engine.data.records import read_examples
from engine.data.tokenize import TokenizedExample, TokenizeStats, tokenize_example
from engine.errors import EngineError
from engine.profiles.base import DataProfile


@dataclass
class JobData:
    train: list[TokenizedExample]
    val: list[TokenizedExample]
    stats: TokenizeStats = field(default_factory=TokenizeStats)
    fingerprint: str = ""


def split_indices(n: int, fraction: float, max_val: int, seed: int) -> tuple[list[int], list[int]]:
    """Deterministic train/validation split of n examples (indices, each list in file order)."""
    n_val = min(int(n * fraction), max_val)
    if n_val >= n:
        n_val = n - 1
    order = list(range(n))
    random.Random(f"realm-split-{seed}").shuffle(order)
    val = sorted(order[:n_val])
    train = sorted(order[n_val:])
    return train, val


def data_fingerprint(job: EngineJob, batching: str, extra: dict[str, Any] | None = None, world_size: int = 1) -> str:
    """What must not change for a resume to continue exactly: data bytes and data/batching settings.
    A step's micro-batches count over every rank (grad_accum x ranks), so 2 ranks with grad_accum 2
    resume what one process with grad_accum 4 saved, and the other way round."""
    hp = job.hyperparameters
    parts = {
        "files": [(f.schema_, sha256_file(f.path)) for f in job.data_files],
        "profile": job.profile,
        "batching": batching,
        "settings": [hp.seed, hp.max_length, hp.overlength, hp.validation_fraction, hp.max_validation_examples,
                     hp.tokens_per_micro_batch, hp.packed_row_tokens, hp.grad_accum * world_size, hp.epochs,
                     hp.length_grouping],
        "extra": extra or {},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def build_job_data(job: EngineJob, tokenizer: Any, profile: DataProfile, style: ChatStyle) -> JobData:
    """Read, render and split every data file of the job."""
    if not job.data_files:
        raise EngineError("bad_job", "the job has no data_files", where="data_files",
                          fix='add {"path": "quest.jsonl", "schema": "chat_sft_v1"}')
    hp = job.hyperparameters
    stats = TokenizeStats()
    examples: list[TokenizedExample] = []
    for f in job.data_files:
        for ex in read_examples(f.path, f.schema_):
            tok = tokenize_example(tokenizer, ex, profile, style, hp.max_length, hp.overlength, stats)
            if tok is not None:
                examples.append(tok)
    if not examples:
        raise EngineError(
            "bad_data",
            f"no trainable example left ({stats.dropped_overlength} over max_length={hp.max_length}, "
            f"{stats.dropped_unsupervised} without supervised tokens)",
            where=", ".join(f.path for f in job.data_files),
            fix="raise hyperparameters.max_length or use overlength=truncate",
        )
    train_idx, val_idx = split_indices(len(examples), hp.validation_fraction, hp.max_validation_examples, hp.seed)
    return JobData([examples[i] for i in train_idx], [examples[i] for i in val_idx], stats)
