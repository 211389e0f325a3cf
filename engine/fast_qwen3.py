"""A training forward for Qwen3 that does only the work the loss needs (sdpa, CPU or CUDA).

It runs the weights of a Hugging Face `Qwen3ForCausalLM` layer by layer and returns the
final hidden states at supervised positions only:

- the last decoder layer computes keys and values for every position but queries, the
  attention output, the MLP and the final norm only where a label is supervised;
- padded rows use plain causal attention (right padding never reaches a real token), packed
  rows a block-diagonal causal mask;
- RMSNorm runs as one fused `rms_norm` call. Grouped-query attention uses sdpa's `enable_gqa`
  instead of copying key/value heads, except on CUDA with a mask: there only the flash and
  math kernels take `enable_gqa`, and flash takes no mask, so sdpa would fall back to the
  math kernel (all scores materialised, fp32). With a mask on CUDA the key/value heads are
  expanded to the query heads, which lets the memory-efficient kernel take the mask
  (see `expand_kv_heads`).

Numerically it matches the Hugging Face forward (tests compare them). Gradient
checkpointing wraps each full layer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from engine.masks import block_causal_bool


def supports_fast_path(model: torch.nn.Module) -> bool:
    cfg = getattr(model, "config", None)
    return (
        cfg is not None
        and getattr(cfg, "model_type", None) == "qwen3"
        and not getattr(cfg, "attention_bias", False)
        and getattr(cfg, "hidden_act", "silu") == "silu"
        and not getattr(cfg, "use_sliding_window", False)
        and (getattr(cfg, "rope_parameters", None) or {}).get("rope_type", "default") == "default"
    )


def _rms(x: torch.Tensor, norm: torch.nn.Module) -> torch.Tensor:
    return F.rms_norm(x, (x.shape[-1],), norm.weight, norm.variance_epsilon)


def _rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat((-x2, x1), dim=-1) * sin


def _rope_tables(
    model: torch.nn.Module, position_ids: torch.Tensor, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    rot = model.model.rotary_emb
    freqs = position_ids[..., None].float() * rot.inv_freq.to(position_ids.device, torch.float)
    emb = torch.cat((freqs, freqs), dim=-1)
    scale = getattr(rot, "attention_scaling", 1.0)
    return (emb.cos() * scale).to(dtype), (emb.sin() * scale).to(dtype)


def expand_kv_heads(device_type: str, masked: bool) -> bool:
    """Copy key/value heads up to the query heads before sdpa? Only for a masked call on CUDA,
    where `enable_gqa` would rule out every kernel but math."""
    return masked and device_type == "cuda"


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None,
           scale: float, expand: bool | None = None) -> torch.Tensor:
    """sdpa over [B, heads, T, D] (k/v may have fewer heads), causal when `mask` is None.
    `expand`: copy k/v heads first (default: `expand_kv_heads` for this device)."""
    if expand is None:
        expand = expand_kv_heads(q.device.type, mask is not None)
    if k.shape[1] != q.shape[1] and expand:
        groups = q.shape[1] // k.shape[1]
        k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None, scale=scale,
                                          enable_gqa=k.shape[1] != q.shape[1])


def _keys_values(layer, h: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor):
    a = layer.self_attn
    b, t, _ = h.shape
    nk, hd = a.config.num_key_value_heads, a.head_dim
    k = _rms(a.k_proj(h).view(b, t, nk, hd), a.k_norm).transpose(1, 2)
    v = a.v_proj(h).view(b, t, nk, hd).transpose(1, 2)
    return _rope(k, cos, sin), v


def _queries(layer, h: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    a = layer.self_attn
    b, s, _ = h.shape
    nq, hd = a.config.num_attention_heads, a.head_dim
    q = _rms(a.q_proj(h).view(b, s, nq, hd), a.q_norm).transpose(1, 2)
    return _rope(q, cos, sin)


def _mlp_block(layer, x: torch.Tensor) -> torch.Tensor:
    h = _rms(x, layer.post_attention_layernorm)
    m = layer.mlp
    return x + m.down_proj(F.silu(m.gate_proj(h)) * m.up_proj(h))


def _full_layer(
    layer, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor | None
) -> torch.Tensor:
    a = layer.self_attn
    b, t, _ = x.shape
    h = _rms(x, layer.input_layernorm)
    k, v = _keys_values(layer, h, cos, sin)
    q = _queries(layer, h, cos, sin)
    o = attend(q, k, v, mask, a.scaling)
    x = x + a.o_proj(o.transpose(1, 2).reshape(b, t, -1))
    return _mlp_block(layer, x)


def _last_layer_selected(
    layer,
    x: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    keep: torch.Tensor,
    segment_ids: torch.Tensor | None,
) -> torch.Tensor:
    """The last layer evaluated only at `keep` positions: returns [N, H] in row-major order."""
    a = layer.self_attn
    b, t, hidden = x.shape
    h = _rms(x, layer.input_layernorm)
    k, v = _keys_values(layer, h, cos, sin)
    counts = keep.sum(1)
    s = max(int(counts.max()), 1)
    # kept positions first (in order) in each row, then filler positions flagged invalid
    idx = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)[:, :s]
    valid = torch.arange(s, device=x.device)[None, :] < counts[:, None]
    gather = idx[:, :, None].expand(b, s, hidden)
    hs, xs = h.gather(1, gather), x.gather(1, gather)
    cq = cos.expand(b, 1, t, -1).gather(2, idx[:, None, :, None].expand(b, 1, s, cos.shape[-1]))
    sq = sin.expand(b, 1, t, -1).gather(2, idx[:, None, :, None].expand(b, 1, s, sin.shape[-1]))
    q = _queries(layer, hs, cq, sq)
    key_pos = torch.arange(t, device=x.device)
    mask = key_pos[None, None, :] <= idx[:, :, None]  # causal, [B, S, T]
    if segment_ids is not None:
        mask = mask & (segment_ids[:, None, :] == segment_ids.gather(1, idx)[:, :, None])
    o = attend(q, k, v, mask[:, None], a.scaling)
    xs = xs + a.o_proj(o.transpose(1, 2).reshape(b, s, -1))
    out = _mlp_block(layer, xs)
    return out[valid]


def supervised_hidden(
    model: torch.nn.Module,
    input_ids: torch.Tensor,
    keep: torch.Tensor,
    position_ids: torch.Tensor | None,
    segment_ids: torch.Tensor | None,
    gradient_checkpointing: bool = False,
) -> torch.Tensor:
    """Final (normed) hidden states at positions where `keep` is True, shape [N, H], row-major."""
    inner = model.model
    x = inner.embed_tokens(input_ids)
    b, t = input_ids.shape
    if position_ids is None:
        cos, sin = _rope_tables(model, torch.arange(t, device=input_ids.device)[None], x.dtype)
    else:
        cos, sin = _rope_tables(model, position_ids, x.dtype)
    cos, sin = cos[:, None], sin[:, None]  # [B or 1, 1, T, D]
    mask = block_causal_bool(segment_ids) if segment_ids is not None else None
    layers = inner.layers[: model.config.num_hidden_layers]
    for layer in layers[:-1]:
        if gradient_checkpointing and torch.is_grad_enabled():
            x = checkpoint(_full_layer, layer, x, cos, sin, mask, use_reentrant=False)
        else:
            x = _full_layer(layer, x, cos, sin, mask)
    out = _last_layer_selected(layers[-1], x, cos, sin, keep, segment_ids)
    return _rms(out, inner.norm)
