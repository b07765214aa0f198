"""From next-token logits to text: temperature, top-k and top-p (nucleus) filtering, and the sampling loop.

Generation runs the same forward pass as training, one new token at a time: feed the sequence so far, keep
the logits of the last position, pick a token, append it, repeat.

Filtering order is pinned to the Hugging Face order: temperature, then top-k, then top-p.
"""

import torch
import torch.nn as nn
from torch import Tensor


def filter_logits(
    logits: Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> Tensor:
    """Rescale logits by a temperature and mask out unlikely tokens.

    1. Temperature: divide the logits by ``temperature`` (< 1 sharpens, > 1 flattens the distribution).
    2. Top-k: keep the ``top_k`` largest logits of each row, set the others to ``-inf``.
       ``top_k >= V`` keeps every token. (Ties at the k-th value are not specified.)
    3. Top-p (nucleus): over the tokens still present, take p = softmax of the current logits, sort the tokens
       by decreasing probability and keep the smallest prefix whose total probability is >= ``top_p``;
       set the rest to ``-inf``. The most probable token is always kept; ``top_p = 1`` keeps every token.

    ``None`` switches a filter off. The input is not modified.

    Args:
        logits: [B, V] unnormalised scores.
        temperature: a float > 0.
        top_k: None or an int >= 1.
        top_p: None or a float in (0, 1].

    Returns:
        Filtered logits [B, V]: kept entries equal ``logits / temperature``, removed entries are ``-inf``.

    Raises:
        ValueError: if ``temperature <= 0``, ``top_k < 1`` or ``top_p`` is outside (0, 1].
    """
    # BEGIN SOLUTION
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0 to filter, got {temperature} (use 0 only in sample_next)")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be >= 1 or None, got {top_k}")
    if top_p is not None and not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1] or None, got {top_p}")

    logits = logits / temperature  # [B, V], a new tensor
    V = logits.shape[-1]

    if top_k is not None and top_k < V:
        kth_largest = torch.topk(logits, top_k, dim=-1).values[:, -1:]  # [B, 1]
        logits = logits.masked_fill(logits < kth_largest, float("-inf"))

    if top_p is not None and top_p < 1:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)  # [B, V], [B, V]
        probs = torch.softmax(sorted_logits, dim=-1)  # [B, V], decreasing along each row
        mass_before = probs.cumsum(dim=-1) - probs  # [B, V]: total probability of the more likely tokens
        drop_sorted = mass_before >= top_p  # the prefix before this token already reaches top_p
        drop_sorted[:, 0] = False  # the most probable token always stays
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)  # back to vocabulary order
        logits = logits.masked_fill(drop, float("-inf"))

    return logits
    # END SOLUTION


def sample_next(
    logits: Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Pick one token per row.

    ``temperature == 0`` means greedy decoding: the argmax of each row (filters are irrelevant then).
    Otherwise draw from softmax(filter_logits(logits, temperature, top_k, top_p)).

    Randomness comes only from a ``torch.Generator``: a fresh one seeded with ``seed`` when ``seed`` is given
    (any int, 0 included; same seed, same tokens), else ``generator`` when given (``generate`` passes one so
    that a whole generation is seeded once), else torch's global generator. With a seed or a generator,
    torch's global generator is neither used nor changed.

    Args:
        logits: [B, V] unnormalised scores for the next token.
        temperature: 0 for greedy, otherwise > 0.
        top_k: see ``filter_logits``.
        top_p: see ``filter_logits``.
        seed: optional seed for reproducible sampling.
        generator: optional generator to draw from; give at most one of ``seed`` and ``generator`` (the
            graders never pass both; raising ``ValueError`` then is a good choice).

    Returns:
        LongTensor [B] of token ids.
    """
    # BEGIN SOLUTION
    if temperature == 0:
        return logits.argmax(dim=-1)  # [B]
    if seed is not None:
        if generator is not None:
            raise ValueError("give seed or generator, not both")
        generator = torch.Generator(device=logits.device).manual_seed(seed)
    probs = torch.softmax(filter_logits(logits, temperature, top_k, top_p), dim=-1)  # [B, V]
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)  # [B]
    # END SOLUTION


def generate(
    model: nn.Module,
    idx: Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
) -> Tensor:
    """Extend each sequence of ``idx`` by ``max_new_tokens`` tokens, one forward pass per token.

    Before each forward pass the context is cropped to its last ``model.config.block_size`` tokens, so
    generation can run past the context window (the model then forgets the oldest tokens). Runs under
    ``torch.no_grad()`` and leaves the caller's grad mode as it was. With a ``seed``, one generator is seeded
    once for the whole call, so the same seed reproduces the same continuation, and torch's global generator
    is left alone. The model's train/eval mode is left as it is.

    Args:
        model: a ``GPT`` (anything with ``.config.block_size`` whose forward maps [B, T] ids to [B, T, V]).
        idx: the prompt, LongTensor [B, T] with T >= 1.
        max_new_tokens: how many tokens to append (0 returns the prompt unchanged).
        temperature, top_k, top_p: see ``sample_next``; ``temperature = 0`` is greedy decoding.
        seed: optional seed for the whole generation.

    Returns:
        LongTensor [B, T + max_new_tokens]: the prompt followed by the generated tokens.
    """
    # BEGIN SOLUTION
    block_size = model.config.block_size
    generator = None
    if seed is not None:
        generator = torch.Generator(device=idx.device).manual_seed(seed)
    with torch.no_grad():
        for _ in range(max_new_tokens):
            context = idx[:, -block_size:]  # [B, <= block_size]
            logits = model(context)[:, -1, :]  # [B, V]: scores for the token after the last one
            next_id = sample_next(logits, temperature, top_k, top_p, generator=generator)  # [B]
            idx = torch.cat([idx, next_id[:, None]], dim=1)  # [B, T + 1]
    return idx
    # END SOLUTION
