"""A small character-level decoder-only language model, and batched text generation with it.

Given whole (nothing to implement here). The architecture is the one of assignments 3 and 4: token embedding,
``n_layers`` pre-norm blocks (``x = x + attn(ln_1(x))``, ``x = x + mlp(ln_2(x))``) whose attention rotates
queries and keys with RoPE (no position table), a final LayerNorm, and an output head tied to the embedding.

The kit trains two of these with ``train_models.py`` and ships them in ``models/`` beside this file:

- ``icl``: sequences of pairs ``xy,`` where y = a*x + b mod 11 with a and b fresh for every sequence, so the
  rule exists only in the prompt (in-context learning).
- ``arith``: sums of 3 or 4 two-digit numbers, answered directly (``Q: 12+34+56\\nA: 102``) or after a worked
  chain when the prompt ends in "Let's think step by step." (chain of thought).

Text is read one character at a time; ``VOCAB`` lists every character the models know. Batched generation pads
prompts on the left and masks the padding, so prompts of different lengths share one forward pass. Because
RoPE only sees distances between positions, left padding changes nothing for the real tokens: a prompt gives
the same continuation alone or in a batch (up to float rounding).

Shapes: B = batch, T = sequence length, C = d_model, H = heads, d = C / H, V = vocabulary size.
"""

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

# Every character the models can read or write; id = position in this string. Id 0 ("\n") ends an answer.
VOCAB = "\n !#'+,-.:=?" + "0123456789" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + "abcdefghijklmnopqrstuvwxyz"
STOI = {ch: i for i, ch in enumerate(VOCAB)}


def encode(text: str) -> list[int]:
    """Character ids of ``text``; raises ValueError on a character outside ``VOCAB``."""
    try:
        return [STOI[ch] for ch in text]
    except KeyError as err:
        raise ValueError(f"character {err.args[0]!r} is not in the model's vocabulary") from None


def decode(ids: list[int]) -> str:
    """The text of a list of character ids."""
    return "".join(VOCAB[i] for i in ids)


@dataclass
class TinyConfig:
    """Hyperparameters of a TinyLM.

    Attributes:
        d_model: width C of the residual stream.
        n_layers: number of decoder blocks.
        n_heads: attention heads per block (divides d_model).
        max_len: longest sequence (prompt plus generated text) the model is meant for.
        rope_base: the RoPE base (10000 as in RoFormer).
    """

    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    max_len: int = 128
    rope_base: float = 10000.0


def rope_tables(positions: Tensor, head_dim: int, base: float) -> tuple[Tensor, Tensor]:
    """Cosines and sines of the RoPE angles: positions [B, T] (integers) -> two tensors [B, 1, T, d / 2]."""
    inv_freq = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)  # [d / 2]
    angles = positions.float()[:, None, :, None] * inv_freq  # [B, 1, T, d / 2]
    return angles.cos(), angles.sin()


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate each (even, odd) feature pair of x [B, H, T, d] by its angle (interleaved RoFormer layout)."""
    x1, x2 = x[..., 0::2], x[..., 1::2]  # [B, H, T, d / 2]
    out = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)  # [B, H, T, d / 2, 2]
    return out.flatten(-2)


class Attention(nn.Module):
    """Multi-head causal self-attention with RoPE and an optional key/value cache."""

    def __init__(self, cfg: TinyConfig) -> None:
        super().__init__()
        self.n_heads = cfg.n_heads
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)

    def forward(
        self, x: Tensor, cos: Tensor, sin: Tensor, mask: Tensor, cache: tuple[Tensor, Tensor] | None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """x [B, T, C]; mask [B, 1, T, S] (True = may attend) over the S = cached + T keys -> [B, T, C]."""
        B, T, C = x.shape
        q, k, v = (
            self.qkv(x).view(B, T, 3, self.n_heads, C // self.n_heads).permute(2, 0, 3, 1, 4)
        )  # [B, H, T, d]
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if cache is not None:
            k = torch.cat((cache[0], k), dim=2)  # [B, H, S, d]
            v = torch.cat((cache[1], v), dim=2)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # [B, H, T, d]
        return self.proj(y.transpose(1, 2).reshape(B, T, C)), (k, v)


class Block(nn.Module):
    """One pre-norm decoder block."""

    def __init__(self, cfg: TinyConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.d_model)
        self.attn = Attention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.d_model)
        self.fc = nn.Linear(cfg.d_model, 4 * cfg.d_model)
        self.out = nn.Linear(4 * cfg.d_model, cfg.d_model)

    def forward(self, x, cos, sin, mask, cache):
        h, cache = self.attn(self.ln_1(x), cos, sin, mask, cache)
        x = x + h
        x = x + self.out(F.gelu(self.fc(self.ln_2(x)), approximate="tanh"))
        return x, cache


class TinyLM(nn.Module):
    """The decoder-only model: ids [B, T] -> logits [B, T, V] for the next character."""

    def __init__(self, cfg: TinyConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(len(VOCAB), cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.apply(self._init)
        for name, p in self.named_parameters():  # GPT-2: shrink the residual projections with depth
            if name.endswith("proj.weight") or name.endswith("out.weight"):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * cfg.n_layers))

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(
        self,
        ids: Tensor,
        pad_mask: Tensor | None = None,
        cache: list | None = None,
        start: Tensor | None = None,
    ) -> tuple[Tensor, list]:
        """Logits for the next character at every position.

        Args:
            ids: character ids [B, T].
            pad_mask: [B, S] booleans over every key so far (cached ones first, then these T), True = real
                token. None means no padding.
            cache: per-block (keys, values) from earlier calls, or None for a fresh sequence.
            start: [B] position of the first new token of each row (RoPE positions are start + 0..T-1).

        Returns:
            logits [B, T, V] and the updated cache.
        """
        B, T = ids.shape
        past = 0 if cache is None else cache[0][0].shape[2]
        S = past + T
        pos = (
            torch.arange(T)[None, :] + (torch.zeros(B, dtype=torch.long) if start is None else start)[:, None]
        )
        cos, sin = rope_tables(pos, self.cfg.d_model // self.cfg.n_heads, self.cfg.rope_base)
        causal = torch.ones(T, S, dtype=torch.bool).tril(diagonal=past)  # query t sees keys <= past + t
        mask = causal[None, None].expand(B, 1, T, S)
        if pad_mask is not None:
            mask = mask & pad_mask[:, None, None, :]
            if (
                past == 0
            ):  # a padded query with no visible key would give NaN: let it see itself (output unused)
                mask = mask | torch.eye(T, dtype=torch.bool)[None, None]
        x = self.wte(ids)
        new_cache = []
        for i, block in enumerate(self.blocks):
            x, c = block(x, cos, sin, mask, None if cache is None else cache[i])
            new_cache.append(c)
        logits = self.ln_f(x) @ self.wte.weight.T  # tied output head: [B, T, V]
        return logits, new_cache


class LanguageModel:
    """The model interface the evaluation harness talks to: text in, text out, in batches.

    Implementations: ``TinyLMBackend`` here (the shipped models) and your Hugging Face backend.
    """

    def generate(
        self,
        prompts: list[str],
        max_new_tokens: int,
        temperature: float = 0.0,
        generator: torch.Generator | None = None,
        stop: str | None = "\n",
    ) -> list[str]:
        """One continuation per prompt (without the prompt), cut before the first ``stop`` string."""
        raise NotImplementedError


class TinyLMBackend(LanguageModel):
    """Batched generation with a TinyLM and a key/value cache.

    Decoding is greedy when ``temperature == 0`` (ties go to the lowest id, as ``argmax`` does) and otherwise
    samples from softmax(logits / temperature) with ``torch.multinomial(probs, 1, generator=generator)``, one
    draw per row per step in row order, every row drawing at every step (also rows already stopped). So the
    same prompts, temperature and generator state give the same texts.
    """

    def __init__(self, model: TinyLM, batch_size: int = 256) -> None:
        self.model = model.eval()
        self.batch_size = batch_size

    @torch.no_grad()
    def generate(self, prompts, max_new_tokens, temperature=0.0, generator=None, stop="\n"):
        out: list[str] = []
        for i in range(0, len(prompts), self.batch_size):
            out += self._generate_batch(
                prompts[i : i + self.batch_size], max_new_tokens, temperature, generator
            )
        if stop is not None:
            out = [t.split(stop, 1)[0] for t in out]
        return out

    def _generate_batch(self, prompts, max_new_tokens, temperature, generator) -> list[str]:
        if not prompts:
            return []
        enc = [encode(p) for p in prompts]
        if min(len(e) for e in enc) == 0:
            raise ValueError("every prompt needs at least one character")
        T = max(len(e) for e in enc)
        B = len(enc)
        ids = torch.zeros(B, T, dtype=torch.long)
        pad = torch.zeros(B, T, dtype=torch.bool)
        for b, e in enumerate(enc):  # left padding: the last prompt character of every row is at T - 1
            ids[b, T - len(e) :] = torch.tensor(e)
            pad[b, T - len(e) :] = True
        start = (
            torch.tensor([len(e) for e in enc]) - T
        )  # RoPE position of column 0, so each prompt starts at 0
        logits, cache = self.model(ids, pad_mask=pad, start=start)
        nxt_pos = start + T
        new = []
        done = torch.zeros(B, dtype=torch.bool)
        for step in range(max_new_tokens):
            last = logits[:, -1, :]  # [B, V]
            if temperature == 0:
                tok = last.argmax(dim=-1)
            else:
                probs = torch.softmax(last / temperature, dim=-1)
                tok = torch.multinomial(probs, 1, generator=generator)[:, 0]
            new.append(tok)
            done |= tok == 0
            if bool(done.all()) or step == max_new_tokens - 1:
                break
            pad = torch.cat((pad, torch.ones(B, 1, dtype=torch.bool)), dim=1)
            logits, cache = self.model(tok[:, None], pad_mask=pad, cache=cache, start=nxt_pos)
            nxt_pos = nxt_pos + 1
        gen = torch.stack(new, dim=1).tolist() if new else [[] for _ in range(B)]
        return [decode(row) for row in gen]


def models_dir() -> Path:
    """The folder of the shipped checkpoints: ``models/`` beside this file (workspace, notebook, grading),
    or the kit's ``assignments/a6_prompting/models`` when this file is in the kit's solutions or starter."""
    here = Path(__file__).resolve().parent
    for cand in (here / "models", here.parent.parent / "assignments" / "a6_prompting" / "models"):
        if cand.is_dir():
            return cand
    raise FileNotFoundError(
        f"no models/ folder beside {here.name}/ (run train_models.py or llmkit start again)"
    )


def save_model(model: TinyLM, path: Path, meta: dict | None = None) -> None:
    """Write ``path`` (.safetensors) with the config and ``meta`` in the header."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    header = {"config": json.dumps(asdict(model.cfg)), "meta": json.dumps(meta or {})}
    save_file(tensors, str(path), metadata=header)


def load_model(name: str, directory: Path | None = None) -> TinyLM:
    """Load a shipped model by name ("icl" or "arith") from ``models_dir()`` (or ``directory``)."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = (directory or models_dir()) / f"{name}.safetensors"
    with safe_open(str(path), framework="pt") as f:
        cfg = TinyConfig(**json.loads(f.metadata()["config"]))
    model = TinyLM(cfg)
    model.load_state_dict(load_file(str(path)))
    return model.eval()


def load_backend(name: str, directory: str | Path | None = None) -> TinyLMBackend:
    """A ready-to-use ``LanguageModel`` for a shipped model."""
    return TinyLMBackend(load_model(name, None if directory is None else Path(directory)))


def backend_from_tensors(config: dict, tensors: dict[str, Tensor]) -> TinyLMBackend:
    """A ``LanguageModel`` from a config (the fields of ``TinyConfig``) and a state dict (how tests hand over
    a model as plain data)."""
    model = TinyLM(TinyConfig(**config))
    model.load_state_dict(tensors)
    return TinyLMBackend(model.eval())
