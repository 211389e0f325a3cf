"""Batching: plan which examples form each micro-batch and optimizer step, then collate tensors.

Modes (hyperparameters.batching):
- `padded`: examples sorted by length (random tie-break) and cut into micro-batches that fit the
  token budget counting padded slots; right-padded, so plain causal attention keeps every real
  token away from padding and no mask is needed.
- `packed`: best-fit-decreasing packing into short rows (`packed_row_tokens`), several rows per
  micro-batch, `position_ids` restarting at 0 per example and a block-diagonal causal mask.
- `padding_free`: best-fit-decreasing packing into one flattened row per micro-batch; with
  flash_attention_2 the varlen kernel keeps examples apart from `position_ids` alone; with
  sdpa/eager a block-diagonal mask does.
"""

from engine.batching.collate import Batch, collate
from engine.batching.plan import EpochPlan, MicroBatchPlan, plan_epoch, resolve_batching

__all__ = ["Batch", "collate", "EpochPlan", "MicroBatchPlan", "plan_epoch", "resolve_batching"]
