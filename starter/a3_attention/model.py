"""A decoder-only transformer in the GPT-2 layout, and the next-token loss it is trained with.

The model maps token ids [B, T] to logits [B, T, V]: the logits at position t score every vocabulary entry as
the token at position t + 1, computed from tokens 0..t only. Stacking causal attention blocks keeps that
property, which is why one forward pass over a sequence yields T training signals at once.

Module and parameter names are pinned (the graders load weights with ``load_state_dict``); see each class.
"""

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from attention import MultiHeadAttention
from torch import Tensor


@dataclass
class GPTConfig:
    """Hyperparameters of a GPT.

    Attributes:
        vocab_size: number of token ids V.
        block_size: the context window: the longest sequence the model accepts (size of the position table).
        d_model: width C of the residual stream.
        n_layers: number of decoder blocks.
        n_heads: attention heads per block; must divide ``d_model``.
        layer_norm_eps: epsilon of every LayerNorm (GPT-2 uses 1e-5).
    """

    vocab_size: int
    block_size: int
    d_model: int
    n_layers: int
    n_heads: int
    layer_norm_eps: float = 1e-5


class MLP(nn.Module):
    """The position-wise feed-forward network: Linear(C, 4C) -> GELU (tanh approximation) -> Linear(4C, C).

    Pinned parameters: ``fc = nn.Linear(d_model, 4 * d_model)``, ``proj = nn.Linear(4 * d_model, d_model)``.
    GPT-2 uses the tanh approximation of GELU ("gelu_new"): ``F.gelu(h, approximate="tanh")``.
    """

    def __init__(self, d_model: int) -> None:
        super().__init__()
        raise NotImplementedError("replace this line with your solution")

    def forward(self, x: Tensor) -> Tensor:
        """Apply the MLP to every position independently: [B, T, C] -> [B, T, C]."""
        raise NotImplementedError("replace this line with your solution")


class Block(nn.Module):
    """One pre-norm decoder block: each sublayer reads a normalised copy of the residual stream.

        x = x + attn(ln_1(x), attention_mask)
        x = x + mlp(ln_2(x))

    Pinned submodules: ``ln_1 = nn.LayerNorm(d_model, eps=layer_norm_eps)``,
    ``attn = MultiHeadAttention(d_model, n_heads)``, ``ln_2 = nn.LayerNorm(d_model, eps=layer_norm_eps)``,
    ``mlp = MLP(d_model)``.
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        raise NotImplementedError("replace this line with your solution")

    def forward(self, x: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        """Args: x [B, T, C]; attention_mask optional [B, T], 1/True = real token. Returns [B, T, C]."""
        raise NotImplementedError("replace this line with your solution")


class GPT(nn.Module):
    """A GPT-2 style language model.

    Pinned attributes and submodules (``state_dict`` keys follow from them):

    - ``config``: the ``GPTConfig`` (``generate`` reads ``model.config.block_size``);
    - ``wte = nn.Embedding(vocab_size, d_model)``: token embeddings;
    - ``wpe = nn.Embedding(block_size, d_model)``: learned position embeddings, position t uses row t;
    - ``blocks = nn.ModuleList([Block(config) for _ in range(n_layers)])``;
    - ``ln_f = nn.LayerNorm(d_model, eps=layer_norm_eps)``: the final norm (blocks are pre-norm);
    - ``lm_head = nn.Linear(d_model, vocab_size, bias=False)`` whose weight is the very same Parameter as
      ``wte.weight`` (weight tying: ``self.lm_head.weight = self.wte.weight``).

    Finish ``__init__`` with ``self.apply(self._init_weights)`` to get GPT-2's initialisation.
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        raise NotImplementedError("replace this line with your solution")

    def _init_weights(self, module: nn.Module) -> None:
        """GPT-2 initialisation: weights ~ Normal(0, 0.02), biases 0, LayerNorm scale 1 and shift 0."""
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
        if isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def forward(self, idx: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        """Compute next-token logits.

        Args:
            idx: token ids, LongTensor [B, T] with T <= block_size.
            attention_mask: optional [B, T], 1/True = real token, 0/False = padding. Padding is assumed to be
                on the right, so real tokens sit at positions 0, 1, ... of each row.

        Returns:
            Logits [B, T, vocab_size]; row t scores the token that follows position t.

        Raises:
            ValueError: if T > block_size.
        """
        raise NotImplementedError("replace this line with your solution")


def next_token_loss(logits: Tensor, labels: Tensor, ignore_index: int = -100) -> Tensor:
    """Mean cross-entropy of predicting each next token (the Hugging Face causal-LM convention).

    The caller does NOT shift: ``labels`` is aligned with the input (usually ``labels = idx``, with
    ``ignore_index`` written over positions that should not be scored, such as padding or a prompt).
    The logits at position t are scored against ``labels[:, t + 1]``; the last position has no target.

    Args:
        logits: [B, T, V], as returned by ``GPT.forward``.
        labels: LongTensor [B, T].
        ignore_index: label value whose targets are skipped.

    Returns:
        A scalar tensor: the cross-entropy in nats, averaged over all non-ignored targets of the batch
        (not per sequence first). NaN if every target is ignored.
    """
    raise NotImplementedError("replace this line with your solution")


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars in ``model``; a tied matrix counts once (``parameters()`` deduplicates)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
