"""The KV cache: the keys and values of every past token, kept so that each new token costs one step.

Without a cache, generating token t recomputes the keys and values of all t previous tokens in every layer;
with it, a step computes one new key and value per layer, appends them and attends over the stored ones. The
price is memory: 2 * n_layers * n_kv_heads * head_dim numbers per token (see ``cache_memory.py``).

Two caches with one interface, driven by the model layer by layer:

- ``KVCache``: keeps everything. Keys and values are [B, n_kv_heads, S, head_dim], appended along S.
- ``SlidingWindowCache``: Mistral's sliding window of W. A query at position p reads the keys at positions
  p - W + 1 .. p, W keys including itself, so between steps only the last W - 1 tokens need to be kept: a
  rolling buffer of W - 1 slots, position q stored in slot q mod (W - 1).

``update(layer_idx, k, v)`` stores a chunk of T new keys and values (already rotated by RoPE) of one layer and
returns what that layer's attention must read: keys, values and the absolute position of every key. The
attention mask is built from positions (``attention_mask``), so the order of the keys in the buffer does not
matter. The cache counts the tokens it has seen (``get_seq_length``); the model takes the positions of the
next
chunk from it.

Shapes: B = batch, Hkv = KV heads, H = query heads, T = new tokens, S = keys returned, d = head size.
"""

import torch
from torch import Tensor


class KVCache:
    """A cache that keeps every token: preallocated buffers that double when full, written in place."""

    def __init__(self, n_layers: int) -> None:
        self.n_layers = n_layers
        self.k_buf: list[Tensor | None] = [None] * n_layers  # [B, Hkv, capacity, d]
        self.v_buf: list[Tensor | None] = [None] * n_layers
        self.length = [0] * n_layers

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return self.length[layer_idx]

    def update(self, layer_idx: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        B, Hkv, T, d = k.shape
        n = self.length[layer_idx]
        buf_k, buf_v = self.k_buf[layer_idx], self.v_buf[layer_idx]
        if buf_k is None or buf_k.shape[2] < n + T:
            capacity = max(2 * (n + T), 8)
            new_k, new_v = k.new_zeros(B, Hkv, capacity, d), v.new_zeros(B, Hkv, capacity, d)
            if buf_k is not None:
                new_k[:, :, :n], new_v[:, :, :n] = buf_k[:, :, :n], buf_v[:, :, :n]
            buf_k, buf_v = new_k, new_v
            self.k_buf[layer_idx], self.v_buf[layer_idx] = buf_k, buf_v
        buf_k[:, :, n : n + T] = k
        buf_v[:, :, n : n + T] = v
        self.length[layer_idx] = n + T
        return buf_k[:, :, : n + T].clone(), buf_v[:, :, : n + T].clone(), torch.arange(n + T)

    def reset(self) -> None:
        self.__init__(self.n_layers)


class SlidingWindowCache(KVCache):
    """Keeps the last W - 1 tokens in age order (concatenate, then crop), as Hugging Face's sliding layer."""

    def __init__(self, n_layers: int, window: int) -> None:
        if window < 2:
            raise ValueError(f"window must be at least 2, got {window}")
        self.window = window
        self.n_layers = n_layers
        self.kept: list[tuple[Tensor, Tensor, Tensor] | None] = [None] * n_layers
        self.length = [0] * n_layers

    def update(self, layer_idx: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        T = k.shape[-2]
        n = self.length[layer_idx]
        positions = torch.arange(n, n + T)
        if self.kept[layer_idx] is not None:
            old_k, old_v, old_pos = self.kept[layer_idx]
            k, v, positions = (
                torch.cat([old_k, k], -2),
                torch.cat([old_v, v], -2),
                torch.cat([old_pos, positions]),
            )
        keep = self.window - 1
        self.kept[layer_idx] = (k[:, :, -keep:], v[:, :, -keep:], positions[-keep:])
        self.length[layer_idx] = n + T
        return k, v, positions

    def reset(self) -> None:
        self.__init__(self.n_layers, self.window)


def attention_mask(query_positions: Tensor, key_positions: Tensor, window: int | None = None) -> Tensor:
    """Which keys each query may read: key position <= query position (causal) and, with a sliding window W,
    key position > query position - W (W keys including the query's own).

    Args:
        query_positions: int64 [T]; key_positions: int64 [S].
        window: W, or None for full causal attention.

    Returns:
        bool [T, S], True where query t may read key s.
    """
    # BEGIN SOLUTION
    distance = query_positions[:, None] - key_positions[None, :]  # [T, S]: how far back each key lies
    limit = distance.max().item() + 1 if window is None else window
    return (distance >= 0) & (distance < limit)
    # END SOLUTION


def repeat_kv(x: Tensor, n_rep: int) -> Tensor:
    """Grouped-query attention: let each of the Hkv key/value heads serve n_rep consecutive query heads.

    [B, Hkv, S, d] -> [B, Hkv * n_rep, S, d], where output head h is input head h // n_rep (query heads
    0 .. n_rep - 1 share KV head 0, and so on; the Hugging Face ``repeat_kv`` order).
    """
    # BEGIN SOLUTION
    return torch.repeat_interleave(x, n_rep, dim=1)
    # END SOLUTION
