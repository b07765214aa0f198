"""A ``LanguageModel`` backed by a Hugging Face causal language model saved in a local folder.

With it the same harness runs on any open model you have on disk (``save_pretrained`` folders: config,
weights, tokenizer). Nothing is downloaded: both ``from_pretrained`` calls use ``local_files_only=True``.

Pinned conventions (the graders compare with ``transformers``' own ``generate`` on a tiny random model):

- Prompts are tokenized without special tokens (``add_special_tokens=False``) and padded on the left with the
  tokenizer's pad token (its eos token when it has none), with an attention mask; position ids count real
  tokens only (``attention_mask.cumsum(-1) - 1``, 0 at padding), as ``generate`` does.
- One forward pass over the padded batch, then one token per step with the returned ``cache`` (the key/value
  cache; ``transformers`` 5.x names it ``cache``, 4.x ``past_key_values``).
- The next token is ``argmax`` of the last logits when ``temperature == 0``, else one
  ``torch.multinomial(softmax(logits / temperature), 1, generator=generator)`` over the [B, V] probabilities
  of all rows per step.
- A row ends at its first eos token (not part of the text); decoding stops when every row has ended or after
  ``max_new_tokens``. Texts are decoded with ``skip_special_tokens=True`` and cut before the first ``stop``.
"""

from pathlib import Path

import torch
from tinylm import LanguageModel


class HFBackend(LanguageModel):
    """Batched generation with ``AutoModelForCausalLM`` and ``AutoTokenizer`` loaded from ``path``."""

    def __init__(self, path: str | Path, batch_size: int = 16) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True).eval()
        self.batch_size = batch_size
        self.eos_id = self.tokenizer.eos_token_id
        pad = self.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else self.eos_id

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
        raise NotImplementedError("replace this line with your solution")
