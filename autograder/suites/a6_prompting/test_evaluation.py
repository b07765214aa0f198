"""Problem 5, evaluation: wilson_interval, accuracy, evaluate and the three experiments (25 points).

Oracles: ``scipy.stats.binomtest(...).proportion_ci(method="wilson")`` for the interval; hand-counted
accuracies; and the reference harness run here on the shipped models (``icl``, ``arith``) with the same
problems and seeds: with greedy decoding the submission's harness must reproduce the reference's counts
exactly (the issue's end-to-end criterion). Sampling experiments use the same seed on both sides.
"""

import _oracles as O
import pytest
from scipy.stats import binomtest

from autograder.checks import expect, expect_scalar


@pytest.mark.points(4)
def test_wilson_interval(sub):
    """wilson_interval matches scipy's Wilson score interval at 95 %, also at 0 and n successes"""
    for k, n in ((0, 10), (3, 10), (10, 10), (47, 113), (1, 3), (250, 500)):
        lo, hi = sub.call("evaluation.wilson_interval", k, n)
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        # scipy uses the exact normal quantile 1.95996...; the handout pins z = 1.96: 1e-4 covers that
        expect_scalar(lo, ci.low, atol=1e-4, what=f"the lower end of wilson_interval({k}, {n})")
        expect_scalar(hi, ci.high, atol=1e-4, what=f"the upper end of wilson_interval({k}, {n})")
        want = O.ref_evaluation.wilson_interval(k, n)
        expect_scalar(lo, want[0], atol=1e-9, what=f"the lower end of wilson_interval({k}, {n}) at z = 1.96")
        expect_scalar(hi, want[1], atol=1e-9, what=f"the upper end of wilson_interval({k}, {n}) at z = 1.96")
    got = sub.call("evaluation.wilson_interval", 0, 0)
    expect(tuple(got) == (0.0, 1.0), f"wilson_interval(0, 0) gave {got}")


@pytest.mark.points(3)
def test_accuracy(sub):
    """accuracy counts exact matches, never None, and carries the Wilson interval"""
    preds = ["1", None, "3", "40", "5", "6", None]
    targets = ["1", "2", "3", "4", "5", "7", "None"]
    got = sub.call("evaluation.accuracy", preds, targets)
    lo, hi = O.ref_evaluation.wilson_interval(3, 7)
    expect(
        list(got[:2]) == [3, 7], f"accuracy on 7 predictions with 3 exact matches gave (correct, n) {got[:2]}"
    )
    expect_scalar(got[2], 3 / 7, atol=1e-12, what="accuracy(...).value")
    expect_scalar(got[3], lo, atol=1e-9, what="accuracy(...).low")
    expect_scalar(got[4], hi, atol=1e-9, what="accuracy(...).high")


def _same(got, want, what):
    expect(
        list(got[:2]) == [want.correct, want.n],
        f"{what}: {got[0]} correct out of {got[1]}; the reference harness on the same model and problems "
        f"counts differently",
    )


@pytest.mark.points(3)
def test_evaluate(sub, seed):
    """evaluate: greedy answers, extracted, scored; matches the reference on the arith model"""
    problems = O.ref_tasks.make_sum_problems(16, seed % 1000)
    prompts = [O.ref_prompts.build_prompt(O.ref_prompts.QA_TEMPLATE, [], p.input) for p in problems]
    targets = [p.target for p in problems]
    acc, preds = sub.call("evaluation.evaluate", O.remote_model(sub, "arith"), prompts, targets, 6)
    want_acc, want_preds = O.ref_evaluation.evaluate(O.local_model("arith"), prompts, targets, 6)
    expect(preds == want_preds, f"evaluate on 16 direct prompts returned the predictions {preds[:4]}...")
    _same(acc, want_acc, "evaluate on 16 direct prompts")


@pytest.mark.points(7)
def test_icl_curve(sub, seed):
    """icl_curve on the icl model reproduces the reference curve, overall and split (retrieval / inference)"""
    n, shots, s = 60, [0, 1, 4, 8], seed % 1000
    remote = sub.call("tasks.make_icl_problems", n, s)
    got = sub.call("evaluation.icl_curve", O.remote_model(sub, "icl"), remote, shots, s)
    want = O.ref_evaluation.icl_curve(O.local_model("icl"), O.ref_tasks.make_icl_problems(n, s), shots, s)
    expect(isinstance(got, dict) and set(got) == set(want), f"icl_curve returned the keys {list(got)}")
    for split in ("all", "retrieval", "inference"):
        expect(
            len(got[split]) == len(shots), f"icl_curve()[{split!r}] has {len(got[split])} entries for 4 shots"
        )
        for k, g, w in zip(shots, got[split], want[split], strict=True):
            _same(g, w, f"icl_curve on {n} problems, split {split!r}, k={k}")


@pytest.mark.points(5)
def test_direct_vs_cot(sub, seed):
    """direct_vs_cot on the arith model reproduces the reference's direct and chain-of-thought accuracies"""
    problems = O.ref_tasks.make_sum_problems(20, seed % 1000 + 1)
    remote = [sub.new("tasks.Example", p.input, p.target) for p in problems]
    got = sub.call("evaluation.direct_vs_cot", O.remote_model(sub, "arith"), remote)
    want = O.ref_evaluation.direct_vs_cot(O.local_model("arith"), problems)
    for key in ("direct", "cot"):
        _same(got[key], want[key], f"direct_vs_cot on 20 sums, {key!r}")


@pytest.mark.points(3)
def test_self_consistency_curve(sub, seed):
    """self_consistency_curve reproduces the reference's single-chain and vote accuracies (same seed)"""
    problems = O.ref_tasks.make_sum_problems(6, seed % 1000 + 2)
    remote = [sub.new("tasks.Example", p.input, p.target) for p in problems]
    ns, temperature = [1, 3, 5], 1.0
    got = sub.call(
        "evaluation.self_consistency_curve", O.remote_model(sub, "arith"), remote, ns, temperature, seed
    )
    want = O.ref_evaluation.self_consistency_curve(O.local_model("arith"), problems, ns, temperature, seed)
    _same(got["single"], want["single"], "self_consistency_curve 'single' (6 sums x 5 samples)")
    for n, g, w in zip(ns, got["vote"], want["vote"], strict=True):
        _same(g, w, f"self_consistency_curve vote over {n} samples (6 sums)")
