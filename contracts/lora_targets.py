"""The projection layers LoRA adapts by default: shared by realm.yaml's model, the engine job and
the VRAM estimate. A module of its own so that loading realm.yaml does not import the job models."""

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
