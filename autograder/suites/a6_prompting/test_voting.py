"""Problem 4, self-consistency: majority_vote, sample_answers, self_consistency (15 points).

Oracles: votes worked out by hand from the pinned rule (None ignored, most votes, ties to the answer whose
first vote came earliest); the reference ``sample_answers`` and ``self_consistency`` run here with the same
model weights, prompts, temperature and seed (sampling is pinned: one generator seeded once per call, one
``generate`` call on the prompts each repeated n times in a row). The model is a tiny untrained TinyLM whose
samples vary a lot, so that a different seed, generator or batch order changes the samples.
"""

import _oracles as O
import pytest

from autograder.checks import expect

VOTES = [
    (["3", "4", "3"], "3", "most votes"),
    (["4", "3", "3", "4"], "4", "a tie goes to the answer seen first"),
    (["5", None, None, "6", "6"], "6", "None is not an answer"),
    ([None, None], None, "no votes"),
    ([], None, "no votes"),
    (["7"], "7", "one vote"),
    (["1", "2", "3", "2", "1", "3"], "1", "a three-way tie goes to the first seen"),
    ([None, "9", "8", "8", "9"], "9", "a tie goes to the first seen, after a None"),
]
PROMPTS = [
    "Q: 12+34+56\nA: Let's think step by step.",
    "Q: 70+21+13+48\nA: Let's think step by step.",
    "ab,c",
]


@pytest.mark.points(5)
def test_majority_vote(sub):
    """majority_vote: most votes wins, ties go to the first seen, None never counts"""
    for answers, want, rule in VOTES:
        got = sub.call("reasoning.majority_vote", answers)
        expect(got == want, f"majority_vote({answers}) gave {got!r} ({rule})")


@pytest.mark.points(5)
def test_sample_answers_matches_reference(sub, seed):
    """sample_answers gives the reference's samples for the same model, temperature and seed"""
    model = sub.call("tinylm.backend_from_tensors", *O.random_tiny(seed % 97))
    for n, temperature in ((4, 1.0), (3, 0.7)):
        got = sub.call("reasoning.sample_answers", model, PROMPTS, n, temperature, seed, 12)
        want = O.ref_reasoning.sample_answers(O.local_random(seed % 97), PROMPTS, n, temperature, seed, 12)
        expect(
            got == want,
            f"sample_answers(3 prompts, n={n}, temperature={temperature}, seed={seed}) gave other samples "
            f"than the pinned procedure (one torch.Generator().manual_seed(seed), one generate call on the "
            f"prompts each repeated n times in a row); first row: {got[0] if got else got}",
        )


@pytest.mark.points(2)
def test_sampling_follows_the_seed(sub, seed):
    """sample_answers repeats itself for a seed and changes with it"""
    model = sub.call("tinylm.backend_from_tensors", *O.random_tiny(seed % 89))
    a = sub.call("reasoning.sample_answers", model, PROMPTS, 6, 1.0, 11, 12)
    b = sub.call("reasoning.sample_answers", model, PROMPTS, 6, 1.0, 11, 12)
    c = sub.call("reasoning.sample_answers", model, PROMPTS, 6, 1.0, 12, 12)
    expect(a == b, "sample_answers with the same seed gave different samples")
    expect(a != c, "sample_answers with seeds 11 and 12 gave the same 18 samples: is the seed used?")


@pytest.mark.points(3)
def test_self_consistency_matches_reference(sub, seed):
    """self_consistency gives the reference's votes for the same model, temperature and seed"""
    model = sub.call("tinylm.backend_from_tensors", *O.random_tiny(seed % 83))
    got = sub.call("reasoning.self_consistency", model, PROMPTS, 7, 1.0, seed, 12)
    want = O.ref_reasoning.self_consistency(O.local_random(seed % 83), PROMPTS, 7, 1.0, seed, 12)
    expect(got == want, f"self_consistency(3 prompts, n=7, temperature=1.0) voted {got}")
