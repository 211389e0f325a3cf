"""Batching: plan which examples form each micro-batch and optimizer step, then collate tensors.

Modes (hyperparameters.batching):
- `padded`: shuffled examples cut into micro-batches that fit the token budget counting padded
  slots; right-padded, so plain causal attention keeps every real token away from padding and
  no mask is needed.
- `packed`: best-fit packing into short rows (`packed_row_tokens`), several rows per
  micro-batch, `position_ids` restarting at 0 per example and a block-diagonal causal mask.
- `padding_free`: best-fit packing into one flattened row per micro-batch; with
  flash_attention_2 the varlen kernel keeps examples apart from `position_ids` alone; with
  sdpa/eager a block-diagonal mask does.

`length_grouping` sorts the shuffled examples by length within windows of that many
micro-batches' worth before cutting or packing (0: the whole epoch): less padding, but
look-alike micro-batches. The default, 1, keeps every micro-batch a random sample: on BIN
level 1 whole-epoch grouping left the training loss at 0.5 where random batches reach 0.03.
"""

from engine.batching.collate import Batch, collate
from engine.batching.plan import EpochPlan, MicroBatchPlan, plan_epoch, resolve_batching

__all__ = ["Batch", "collate", "EpochPlan", "MicroBatchPlan", "plan_epoch", "resolve_batching"]
