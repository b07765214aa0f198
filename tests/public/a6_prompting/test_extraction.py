"""Problem 3, extraction: one case per rule of the handout."""

import pytest

from autograder.checks import expect

CASES = [
    ("12+34=46,46+56=102. The answer is 102.", "102", "'the answer is'"),
    ("so it is 72.\n#### 72", "72", "the #### marker"),
    ("The answer is 5. #### 6", "6", "#### before 'the answer is'"),
    ("3 apples and 1,000 pears.", "1000", "the last number, with a thousands separator"),
    ("It went down to -7.", "-7", "a sign, and a sentence period"),
    ("The answer is 2.50", "2.5", "trailing decimal zeros"),
    ("no answer here", None, "no number"),
]


@pytest.mark.points(10)
def test_extract_answer(sub):
    """extract_answer on one text per rule"""
    for text, want, rule in CASES:
        got = sub.call("reasoning.extract_answer", text)
        expect(got == want, f"extract_answer({text!r}) gave {got!r}, expected {want!r} ({rule})")


@pytest.mark.points(10)
def test_normalize_number(sub):
    """normalize_number("+1,000.50") is "1000.5" and "-0" is "0\""""
    for text, want in (("+1,000.50", "1000.5"), ("-0", "0"), ("007", "7")):
        got = sub.call("reasoning.normalize_number", text)
        expect(got == want, f"normalize_number({text!r}) gave {got!r}, expected {want!r}")
