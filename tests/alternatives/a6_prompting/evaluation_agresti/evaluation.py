"""An evaluation harness over the ``LanguageModel`` interface: accuracy with a confidence interval, the
in-context learning curve split by retrieval and rule inference, direct against chain-of-thought answers, and
self-consistency against the number of samples.

Every experiment sends all of its prompts to ``model.generate`` in one call (the model batches them), greedy
unless it samples. Pinned conventions:

- A prediction is correct when it equals the target string exactly; None is never correct.
- Wilson score interval at z = 1.96 (Wilson, 1927): centre (p + z²/2n) / (1 + z²/n), half-width
  z·sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n), with p = successes / n; (0.0, 1.0) when n = 0.
- ICL curve: for problem i and shot count k, the exemplars are ``select_random(problem.pool, k, seed + i)``,
  the prompt ``build_prompt(ICL_TEMPLATE, exemplars, problem.query.input)``, one new character, and the
  answer is that character. A query is "retrieval" when its input appears among the exemplars' inputs, else
  "inference". Every accuracy of the curve is the mean over the problems (of that split) at that k.
- Results are plain data: ``Accuracy`` is a named tuple, curves are lists aligned with their ``shots``/``ns``.
- Arithmetic: the prompt is ``build_prompt(QA_TEMPLATE, [], problem.input, cot=...)``; answers go through
  ``extract_answer``. Direct answers get ``DIRECT_TOKENS`` new characters, chains ``COT_TOKENS``.
- Self-consistency: one ``sample_answers(model, prompts, max(ns), temperature, seed, COT_TOKENS)`` call with
  the chain-of-thought prompts; the vote over n uses the first n samples of each problem, and "single" is the
  accuracy of one sampled chain averaged over all max(ns) samples of every problem.
"""

import math
from collections.abc import Callable
from typing import NamedTuple

from prompts import ICL_TEMPLATE, QA_TEMPLATE, build_prompt
from reasoning import extract_answer, majority_vote, sample_answers
from selection import select_random
from tasks import Example, ICLProblem
from tinylm import LanguageModel

DIRECT_TOKENS = 6
COT_TOKENS = 64


class Accuracy(NamedTuple):
    """``correct`` successes out of ``n``, the fraction ``value``, its Wilson interval [``low``, ``high``]."""

    correct: int
    n: int
    value: float
    low: float
    high: float


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (formula in the module docstring)."""
    if not n:
        return (0.0, 1.0)
    z2 = z**2
    n_t = n + z2
    p_t = (successes + z2 / 2) / n_t
    half = z / n_t * math.sqrt(successes * (n - successes) / n + z2 / 4)
    return (max(0.0, p_t - half), min(1.0, p_t + half))
    # END SOLUTION


def accuracy(predictions: list[str | None], targets: list[str]) -> Accuracy:
    """Exact-match accuracy of ``predictions`` against ``targets`` (same length) with its Wilson interval."""
    if len(predictions) != len(targets):
        raise ValueError(f"{len(predictions)} predictions for {len(targets)} targets")
    # BEGIN SOLUTION
    correct = sum(p is not None and p == t for p, t in zip(predictions, targets, strict=True))
    n = len(targets)
    lo, hi = wilson_interval(correct, n)
    return Accuracy(correct, n, correct / n if n else 0.0, lo, hi)
    # END SOLUTION


def evaluate(
    model: LanguageModel,
    prompts: list[str],
    targets: list[str],
    max_new_tokens: int,
    extract: Callable[[str], str | None] = extract_answer,
) -> tuple[Accuracy, list[str | None]]:
    """Greedy answers to ``prompts`` (one ``generate`` call), extracted, scored: (accuracy, predictions)."""
    # BEGIN SOLUTION
    texts = model.generate(prompts, max_new_tokens, temperature=0.0)
    preds = [extract(t) for t in texts]
    return accuracy(preds, targets), preds
    # END SOLUTION


def _first_char(text: str) -> str | None:
    return text[0] if text else None


def icl_curve(
    model: LanguageModel, problems: list[ICLProblem], shots: list[int], seed: int
) -> dict[str, list[Accuracy]]:
    """Accuracy against the number of exemplars, split by query kind.

    Returns:
        {"all": [...], "retrieval": [...], "inference": [...]}, each list aligned with ``shots``. One
        ``generate`` call per k (see the module docstring for the prompts and the split).
    """
    out = {"all": [], "retrieval": [], "inference": []}
    for k in shots:
        sel = [select_random(list(p.pool), k, seed=seed + i) for i, p in enumerate(problems)]
        prompts = [build_prompt(ICL_TEMPLATE, ex, p.query.input) for ex, p in zip(sel, problems, strict=True)]
        texts = model.generate(prompts, 1, temperature=0.0)
        rows = []
        for ex, p, t in zip(sel, problems, texts, strict=True):
            rows.append((p.query.input in {e.input for e in ex}, t[:1] or None, p.query.target))
        out["all"].append(accuracy([r[1] for r in rows], [r[2] for r in rows]))
        out["retrieval"].append(accuracy([r[1] for r in rows if r[0]], [r[2] for r in rows if r[0]]))
        out["inference"].append(accuracy([r[1] for r in rows if not r[0]], [r[2] for r in rows if not r[0]]))
    return out
    # END SOLUTION


def direct_vs_cot(model: LanguageModel, problems: list[Example]) -> dict[str, Accuracy]:
    """Greedy accuracy answering directly and after "Let's think step by step.".

    Returns:
        {"direct": ..., "cot": ...}.
    """
    # BEGIN SOLUTION
    targets = [p.target for p in problems]
    direct = [build_prompt(QA_TEMPLATE, [], p.input) for p in problems]
    cot = [build_prompt(QA_TEMPLATE, [], p.input, cot=True) for p in problems]
    return {
        "direct": evaluate(model, direct, targets, DIRECT_TOKENS)[0],
        "cot": evaluate(model, cot, targets, COT_TOKENS)[0],
    }
    # END SOLUTION


def self_consistency_curve(
    model: LanguageModel, problems: list[Example], ns: list[int], temperature: float, seed: int
) -> dict[str, Accuracy | list[Accuracy]]:
    """Majority votes over sampled chains against one sampled chain, at one temperature.

    Returns:
        {"single": accuracy of one sampled chain (over all samples), "vote": [accuracy of the vote over the
        first n samples, for n in ``ns``]}.
    """
    # BEGIN SOLUTION
    targets = [p.target for p in problems]
    prompts = [build_prompt(QA_TEMPLATE, [], p.input, cot=True) for p in problems]
    n_max = max(ns)
    rows = sample_answers(model, prompts, n_max, temperature, seed, COT_TOKENS)
    single = accuracy([a for r in rows for a in r], [t for t in targets for _ in range(n_max)])
    votes = [accuracy([majority_vote(r[:n]) for r in rows], targets) for n in ns]
    return {"single": single, "vote": votes}
    # END SOLUTION
