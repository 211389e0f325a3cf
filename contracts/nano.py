"""The shape of nano DIO, the embedded default hero (a tiny Qwen3ForCausalLM)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class NanoSpec(BaseModel):
    """Size of nano DIO. The defaults give about 0.85M parameters."""

    model_config = ConfigDict(extra="forbid")

    hidden_size: int = Field(128, ge=16, le=4096, description="width of the residual stream")
    num_layers: int = Field(4, ge=1, le=64, description="decoder layers")
    num_heads: int = Field(4, ge=1, le=64, description="attention (query) heads")
    num_kv_heads: int = Field(2, ge=1, le=64, description="key/value heads (grouped-query attention)")
    intermediate_size: int = Field(384, ge=16, le=16384, description="MLP width")
    vocab_size: int = Field(512, ge=300, le=65536, description="tokenizer vocabulary incl. special tokens")
    max_position_embeddings: int = Field(2048, ge=128, le=131072, description="longest sequence")

    @model_validator(mode="after")
    def _heads_divide(self) -> "NanoSpec":
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be a multiple of num_heads ({self.num_heads})"
            )
        if self.num_heads % self.num_kv_heads:
            raise ValueError(
                f"num_heads ({self.num_heads}) must be a multiple of num_kv_heads ({self.num_kv_heads})"
            )
        return self

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads
