"""Reading the answer out of free text, and self-consistency: a majority vote over sampled chains.

A chain of thought ends in an answer somewhere in free text, so grading it needs a pinned extraction rule.
Self-consistency (Wang et al., 2023) samples several chains at a temperature > 0 and returns the most common
extracted answer: different wrong chains rarely agree on the same wrong number, correct ones do.

Pinned conventions:

- A number is an optional sign, then digits, optionally with thousands separators (``1,000`` or
  ``12,345,678``: groups of exactly three digits after the first group of one to three), then optionally a
  decimal point followed by digits. A period not followed by a digit (the end of a sentence) is not part of
  the number.
- Normalised form: commas and a leading "+" dropped, leading zeros of the integer part dropped (``007`` ->
  ``7``), trailing zeros of the decimal part dropped and then the point if nothing is left (``2.50`` ->
  ``2.5``, ``3.0`` -> ``3``), and ``-0`` -> ``0``.
- ``extract_answer`` looks, in this order, for: the number after the last ``####`` (GSM8K's marker); else the
  number after the last "the answer is" (any capitalisation, optional ":"); else the last number in the text;
  else None.
- ``majority_vote`` ignores None votes; ties go to the answer whose first vote came earliest; no votes ->
  None.
- Sampling: one ``torch.Generator`` seeded with ``seed`` for the whole call, and one ``model.generate`` call
  on the list in which each prompt is repeated n times in a row (prompt 0 n times, then prompt 1 n times,
  ...).
"""

import re
from collections.abc import Callable

import torch
from tinylm import LanguageModel

NUMBER = r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"


def normalize_number(text: str) -> str:
    """The normalised form of one number matched by ``NUMBER``: "+1,000.50" -> "1000.5"."""
    from decimal import Decimal

    d = Decimal(text.replace(",", ""))
    if d == 0:
        return "0"
    out = format(d.normalize(), "f")
    return out
    # END SOLUTION


def extract_answer(text: str) -> str | None:
    """The normalised final answer in ``text``, or None (see the module docstring for the rules)."""
    found = None
    for m in re.finditer(r"####\s*(" + NUMBER + ")", text):
        found = m.group(1)
    if found is None:
        lowered = text.lower()
        for m in re.finditer(r"the answer is:?\s*(" + NUMBER + ")", lowered):
            found = m.group(1)
    if found is None:
        allnums = re.findall(NUMBER, text)
        found = allnums[-1] if allnums else None
    return None if found is None else normalize_number(found)
    # END SOLUTION


def majority_vote(answers: list[str | None]) -> str | None:
    """The most common answer that is not None; ties go to the one seen first; None if there is none."""
    from collections import Counter

    votes = [x for x in answers if x is not None]
    if not votes:
        return None
    c = Counter(votes)
    top = max(c.values())
    return min((votes.index(x), x) for x, n in c.items() if n == top)[1]
    # END SOLUTION


def sample_answers(
    model: LanguageModel,
    prompts: list[str],
    n: int,
    temperature: float,
    seed: int,
    max_new_tokens: int,
    extract: Callable[[str], str | None] = extract_answer,
) -> list[list[str | None]]:
    """n sampled completions per prompt, extracted: result[i][j] is the answer of sample j of prompt i.

    One ``torch.Generator().manual_seed(seed)`` and one ``model.generate`` call (see the module docstring).
    """
    # BEGIN SOLUTION
    gen = torch.Generator().manual_seed(seed)
    batch = [p for p in prompts for _ in range(n)]  # prompt-major: p0 x n, p1 x n, ...
    texts = model.generate(batch, max_new_tokens, temperature=temperature, generator=gen)
    answers = [extract(t) for t in texts]
    return [answers[i * n : (i + 1) * n] for i in range(len(prompts))]
    # END SOLUTION


def self_consistency(
    model: LanguageModel,
    prompts: list[str],
    n: int,
    temperature: float,
    seed: int,
    max_new_tokens: int,
    extract: Callable[[str], str | None] = extract_answer,
) -> list[str | None]:
    """The majority vote over ``sample_answers(...)`` of every prompt."""
    # BEGIN SOLUTION
    rows = sample_answers(model, prompts, n, temperature, seed, max_new_tokens, extract)
    return [majority_vote(r) for r in rows]
    # END SOLUTION
