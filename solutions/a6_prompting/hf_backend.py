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
        # BEGIN SOLUTION
        enc = [self.tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
        B, T = len(enc), max(len(e) for e in enc)
        ids = torch.full((B, T), self.pad_id, dtype=torch.long)
        mask = torch.zeros(B, T, dtype=torch.long)
        for b, e in enumerate(enc):  # left padding
            ids[b, T - len(e) :] = torch.tensor(e, dtype=torch.long)
            mask[b, T - len(e) :] = 1
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True)
        cache, logits = out.cache, out.logits[:, -1, :]
        done = torch.zeros(B, dtype=torch.bool)
        new: list[list[int]] = [[] for _ in range(B)]
        for step in range(max_new_tokens):
            if temperature == 0:
                tok = logits.argmax(dim=-1)
            else:
                probs = torch.softmax(logits.float() / temperature, dim=-1)
                tok = torch.multinomial(probs, 1, generator=generator)[:, 0]
            for b in range(B):
                if not done[b]:
                    if self.eos_id is not None and int(tok[b]) == self.eos_id:
                        done[b] = True
                    else:
                        new[b].append(int(tok[b]))
            if bool(done.all()) or step == max_new_tokens - 1:
                break
            mask = torch.cat((mask, torch.ones(B, 1, dtype=torch.long)), dim=1)
            pos = pos[:, -1:] + 1
            out = self.model(
                input_ids=tok[:, None], attention_mask=mask, position_ids=pos, cache=cache, use_cache=True
            )
            cache, logits = out.cache, out.logits[:, -1, :]
        return [self.tokenizer.decode(row, skip_special_tokens=True) for row in new]
        # END SOLUTION
