"""Problem 5, evaluation: the Wilson interval against scipy, and the ICL curve on the shipped icl model."""

import _common as C
import pytest
from scipy.stats import binomtest

from autograder.checks import expect, expect_scalar


@pytest.mark.points(8)
def test_wilson_interval(sub):
    """wilson_interval(7, 20) matches scipy's Wilson interval (z = 1.96 against the exact quantile: 1e-4)"""
    lo, hi = sub.call("evaluation.wilson_interval", 7, 20)
    ci = binomtest(7, 20).proportion_ci(method="wilson")
    expect_scalar(lo, ci.low, atol=1e-4, what="wilson_interval(7, 20)[0]")
    expect_scalar(hi, ci.high, atol=1e-4, what="wilson_interval(7, 20)[1]")


@pytest.mark.points(7)
def test_accuracy(sub):
    """accuracy(["1", None, "3"], ["1", "2", "4"]) counts 1 of 3"""
    got = sub.call("evaluation.accuracy", ["1", None, "3"], ["1", "2", "4"])
    expect(list(got[:2]) == [1, 3], f"accuracy gave (correct, n) = {got[:2]}, expected (1, 3)")


@pytest.mark.points(10)
def test_icl_curve_on_the_icl_model(sub):
    """icl_curve on 50 problems: splits add up, in problems and in correct answers; no retrieval at k=0"""
    problems = sub.call("tasks.make_icl_problems", 50, 7)
    curve = sub.call("evaluation.icl_curve", C.remote_model(sub, "icl"), problems, [0, 8], 3)
    for i, k in enumerate((0, 8)):
        (c_all, n_all), (c_ret, n_ret), (c_inf, n_inf) = (
            tuple(curve[s][i][:2]) for s in ("all", "retrieval", "inference")
        )
        expect(n_all == 50 and n_ret + n_inf == 50, f"at k={k}: {n_all} problems, split {n_ret} + {n_inf}")
        expect(c_ret + c_inf == c_all, f"at k={k}: {c_all} correct in all, {c_ret} + {c_inf} in the splits")
    expect(curve["retrieval"][0][1] == 0, "at k=0 no query can appear among the exemplars")
