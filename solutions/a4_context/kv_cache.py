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
    """A cache that keeps the keys and values of every token, per layer.

    Args:
        n_layers: number of decoder layers (``update`` is called with layer_idx 0 .. n_layers - 1).

    Pinned: ``update``, ``get_seq_length`` and ``reset`` below; the model calls ``update`` once per layer
    and chunk, in layer order, and the tokens of a chunk count as seen once layer 0 has stored them.
    """

    def __init__(self, n_layers: int) -> None:
        self.n_layers = n_layers
        # BEGIN SOLUTION
        self.keys: list[Tensor | None] = [None] * n_layers  # per layer [B, Hkv, S, d]
        self.values: list[Tensor | None] = [None] * n_layers
        self.seen = [0] * n_layers  # tokens stored so far, per layer
        # END SOLUTION

    def get_seq_length(self, layer_idx: int = 0) -> int:
        """Number of tokens seen so far by layer ``layer_idx`` (0 before the first update)."""
        # BEGIN SOLUTION
        return self.seen[layer_idx]
        # END SOLUTION

    def update(self, layer_idx: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Store a chunk of T new keys and values of one layer; return everything that layer attends over.

        Args:
            layer_idx: the layer.
            k, v: the chunk's keys (after RoPE) and values, [B, Hkv, T, d]; the chunk's tokens sit at
            positions
                get_seq_length(layer_idx) .. get_seq_length(layer_idx) + T - 1.

        Returns:
            (keys [B, Hkv, S, d], values [B, Hkv, S, d], key_positions int64 [S]): here S = all tokens seen,
            in order, so key_positions = 0 .. S - 1.
        """
        # BEGIN SOLUTION
        if self.keys[layer_idx] is None:
            self.keys[layer_idx], self.values[layer_idx] = k, v
        else:
            self.keys[layer_idx] = torch.cat([self.keys[layer_idx], k], dim=-2)  # append along S
            self.values[layer_idx] = torch.cat([self.values[layer_idx], v], dim=-2)
        self.seen[layer_idx] += k.shape[-2]
        positions = torch.arange(self.seen[layer_idx], device=k.device)  # [S]
        return self.keys[layer_idx], self.values[layer_idx], positions
        # END SOLUTION

    def reset(self) -> None:
        """Forget everything (as if newly built)."""
        # BEGIN SOLUTION
        self.__init__(self.n_layers)
        # END SOLUTION


class SlidingWindowCache(KVCache):
    """Mistral's rolling buffer: keeps the keys and values of the last W - 1 tokens of each layer.

    Args:
        n_layers: number of layers.
        window: W >= 2; a query reads W keys including its own.

    ``update`` of a chunk of T tokens returns the W - 1 (or fewer, early on) stored tokens followed by the
    chunk's T tokens, with their positions (so S <= W - 1 + T, and the buffer's order is the slot order,
    not the
    position order), then writes the chunk's last W - 1 tokens into their slots, position q into slot
    q mod (W - 1). ``get_seq_length`` still counts every token seen, not the buffer size.
    """

    def __init__(self, n_layers: int, window: int) -> None:
        if window < 2:
            raise ValueError(f"window must be at least 2, got {window}")
        self.window = window
        super().__init__(n_layers)
        # BEGIN SOLUTION
        self.slot_positions: list[Tensor | None] = [None] * n_layers  # per layer [W - 1], -1 = empty slot
        # END SOLUTION

    def update(self, layer_idx: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        # BEGIN SOLUTION
        B, Hkv, T, d = k.shape
        slots = self.window - 1
        start = self.seen[layer_idx]
        new_pos = torch.arange(start, start + T, device=k.device)  # [T]
        if self.keys[layer_idx] is None:
            self.keys[layer_idx] = k.new_zeros(B, Hkv, slots, d)
            self.values[layer_idx] = v.new_zeros(B, Hkv, slots, d)
            self.slot_positions[layer_idx] = torch.full((slots,), -1, dtype=torch.long, device=k.device)
        buf_k, buf_v, buf_pos = self.keys[layer_idx], self.values[layer_idx], self.slot_positions[layer_idx]

        filled = buf_pos >= 0  # [W - 1]
        keys = torch.cat([buf_k[:, :, filled], k], dim=-2)  # [B, Hkv, S, d]
        values = torch.cat([buf_v[:, :, filled], v], dim=-2)
        positions = torch.cat([buf_pos[filled], new_pos])  # [S]

        # then keep the last W - 1 tokens of the chunk, each in the slot of its position
        keep = slice(max(T - slots, 0), T)
        slot = new_pos[keep] % slots
        buf_k, buf_v, buf_pos = buf_k.clone(), buf_v.clone(), buf_pos.clone()  # returned tensors stay valid
        buf_k[:, :, slot] = k[:, :, keep]
        buf_v[:, :, slot] = v[:, :, keep]
        buf_pos[slot] = new_pos[keep]
        self.keys[layer_idx], self.values[layer_idx], self.slot_positions[layer_idx] = buf_k, buf_v, buf_pos
        self.seen[layer_idx] += T
        return keys, values, positions
        # END SOLUTION

    def reset(self) -> None:
        """Forget everything (as if newly built)."""
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
    q = query_positions[:, None]  # [T, 1]
    k = key_positions[None, :]  # [1, S]
    allowed = k <= q
    if window is not None:
        allowed = allowed & (k > q - window)
    return allowed
    # END SOLUTION


def repeat_kv(x: Tensor, n_rep: int) -> Tensor:
    """Grouped-query attention: let each of the Hkv key/value heads serve n_rep consecutive query heads.

    [B, Hkv, S, d] -> [B, Hkv * n_rep, S, d], where output head h is input head h // n_rep (query heads
    0 .. n_rep - 1 share KV head 0, and so on; the Hugging Face ``repeat_kv`` order).
    """
    # BEGIN SOLUTION
    B, Hkv, S, d = x.shape
    if n_rep == 1:
        return x
    return x[:, :, None].expand(B, Hkv, n_rep, S, d).reshape(B, Hkv * n_rep, S, d)
    # END SOLUTION
