"""A correct a3 model module written differently from the reference (the suite must give it full marks).

- the tanh GELU written out by hand, LayerNorms applied through F.layer_norm with the modules' parameters;
- lm_head created before wte, and wte tied to lm_head's matrix (the other direction of tying);
- positions read by slicing the position table;
- next_token_loss through log_softmax, gather and a masked mean.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from attention import MultiHeadAttention
from torch import Tensor


@dataclass
class GPTConfig:
    vocab_size: int
    block_size: int
    d_model: int
    n_layers: int
    n_heads: int
    layer_norm_eps: float = 1e-5


def _norm(ln: nn.LayerNorm, x: Tensor) -> Tensor:
    return F.layer_norm(x, ln.normalized_shape, ln.weight, ln.bias, ln.eps)


class MLP(nn.Module):
    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.fc = nn.Linear(d_model, 4 * d_model)
        self.proj = nn.Linear(4 * d_model, d_model)

    def forward(self, x: Tensor) -> Tensor:
        h = self.fc(x)
        h = 0.5 * h * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * h.pow(3))))
        return self.proj(h)


class Block(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.attn = MultiHeadAttention(config.d_model, config.n_heads)
        self.ln_2 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.mlp = MLP(config.d_model)

    def forward(self, x: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        attended = self.attn(_norm(self.ln_1, x), attention_mask=attention_mask)
        x = attended + x
        return self.mlp(_norm(self.ln_2, x)) + x


class GPT(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.wte = nn.Embedding(config.vocab_size, config.d_model)
        self.wte.weight = self.lm_head.weight
        self.wpe = nn.Embedding(config.block_size, config.d_model)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.apply(self._init_weights)

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, idx: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        T = idx.size(1)
        if T > self.config.block_size:
            raise ValueError(f"cannot run on {T} tokens: the context window is {self.config.block_size}")
        x = self.wte(idx) + self.wpe.weight[:T]
        for block in self.blocks:
            x = block(x, attention_mask=attention_mask)
        return self.lm_head(_norm(self.ln_f, x))


def next_token_loss(logits: Tensor, labels: Tensor, ignore_index: int = -100) -> Tensor:
    logp = F.log_softmax(logits[:, :-1], dim=-1)  # [B, T-1, V]
    target = labels[:, 1:]
    keep = target != ignore_index
    picked = logp.gather(-1, target.clamp(min=0).masked_fill(~keep, 0).unsqueeze(-1)).squeeze(-1)
    return -(picked * keep).sum() / keep.sum()


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
