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
    raise NotImplementedError("replace this line with your solution")


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
    raise NotImplementedError("replace this line with your solution")


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
    raise NotImplementedError("replace this line with your solution")
