"""Problem 4, self-consistency: votes, and sampling that follows its seed (a tiny untrained model)."""

import _common as C
import pytest

from autograder.checks import expect

PROMPTS = ["Q: 11+22+33\nA: Let's think step by step.", "cd,e"]


@pytest.mark.points(8)
def test_majority_vote(sub):
    """majority_vote: most votes, ties to the first seen, None ignored"""
    for answers, want in (
        (["2", "3", "3"], "3"),
        (["3", "2", "2", "3"], "3"),
        ([None, None, "4"], "4"),
        ([None], None),
    ):
        got = sub.call("reasoning.majority_vote", answers)
        expect(got == want, f"majority_vote({answers}) gave {got!r}, expected {want!r}")


@pytest.mark.points(7)
def test_sample_answers_shape_and_seed(sub):
    """sample_answers returns n answers per prompt, the same for the same seed"""
    model = sub.call("tinylm.backend_from_tensors", *C.random_tiny(3))
    a = sub.call("reasoning.sample_answers", model, PROMPTS, 5, 1.0, 0, 10)
    b = sub.call("reasoning.sample_answers", model, PROMPTS, 5, 1.0, 0, 10)
    expect(
        len(a) == 2 and all(len(r) == 5 for r in a),
        f"sample_answers(2 prompts, n=5) returned rows of {[len(r) for r in a]}",
    )
    expect(a == b, "sample_answers with the same seed gave different samples")
    votes = sub.call("reasoning.self_consistency", model, PROMPTS, 5, 1.0, 0, 10)
    expect(
        votes == [sub.call("reasoning.majority_vote", r) for r in a],
        f"self_consistency voted {votes} on the samples {a}",
    )
