"""Problem 3, extraction: normalize_number and extract_answer (20 points).

Oracle: answers written here by hand from the rules of the handout (each case names the rule it checks),
and the reference ``extract_answer`` on random chains of thought built from the ``arith`` model's format with
numbers of every shape (signs, thousands separators, decimals, sentence periods).
"""

import random

import _oracles as O
import pytest

from autograder.checks import expect

NORMALIZE = [
    ("42", "42"),
    ("+42", "42"),
    ("-42", "-42"),
    ("1,000", "1000"),
    ("12,345,678", "12345678"),
    ("007", "7"),
    ("0", "0"),
    ("-0", "0"),
    ("2.50", "2.5"),
    ("3.0", "3"),
    ("+1,000.50", "1000.5"),
    ("-0.0", "0"),
    ("0.25", "0.25"),
    ("-1,234.500", "-1234.5"),
]
MARKERS = [
    ("so 12+30=42 #### 42", "42"),
    ("#### 1,250", "1250"),
    ("first #### 3 then #### 4", "4"),
    ("The answer is 17.", "17"),
    ("the answer is: -5", "-5"),
    ("THE ANSWER IS 2,000. Done in 3 steps", "2000"),
    ("The answer is 8. #### 9", "9"),
    ("#### 9 and the answer is 8", "9"),
    ("12+34=46,46+56=102. The answer is 102.", "102"),
    ("The answer is 5 or the answer is 6", "6"),
]
FALLBACK = [
    ("12+34=46,46+56=102.", "102"),
    ("We get 3 apples and 1,000 pears.", "1000"),
    ("It is -7.", "-7"),
    ("1.5 then 2.25.", "2.25"),
    ("total 4,5", "5"),
    ("x = 10, y = 20", "20"),
]
NONE = ["", "no numbers here.", "The answer is unknown.", "####", "A: ."]


def _check(sub, text, want, rule):
    got = sub.call("reasoning.extract_answer", text)
    expect(got == want, f"extract_answer({text!r}) gave {got!r} ({rule})")


@pytest.mark.points(5)
def test_normalize_number(sub):
    """normalize_number drops commas and "+", leading and trailing zeros, and turns -0 into 0"""
    for text, want in NORMALIZE:
        got = sub.call("reasoning.normalize_number", text)
        expect(got == want, f"normalize_number({text!r}) gave {got!r}")


@pytest.mark.points(5)
def test_markers(sub):
    """extract_answer: the number after the last ####, else after the last "the answer is" (any case)"""
    for text, want in MARKERS:
        _check(sub, text, want, "the #### marker first, then the last 'the answer is'")


@pytest.mark.points(4)
def test_last_number_fallback(sub):
    """extract_answer falls back to the last number, read with thousands separators and sentence periods"""
    for text, want in FALLBACK:
        _check(sub, text, want, "no marker: the last number in the text")


@pytest.mark.points(3)
def test_no_answer(sub):
    """extract_answer returns None when the text holds no number"""
    for text in NONE:
        _check(sub, text, None, "no number at all")


@pytest.mark.points(3)
def test_random_chains(sub, seed):
    """extract_answer on random chains in the arith model's format matches the pinned rules"""
    r = random.Random(seed)

    def num():
        v = r.choice([r.randint(0, 99), r.randint(1000, 999999), -r.randint(1, 9999)])
        s = f"{v:,}" if r.random() < 0.5 else str(v)
        return s + (f".{r.randint(0, 99):02d}" if r.random() < 0.2 else "")

    for _ in range(30):
        parts = [f"{num()}+{num()}={num()}" for _ in range(r.randint(1, 3))]
        text = ",".join(parts) + "."
        if r.random() < 0.4:
            text += f" The answer is {num()}."
        if r.random() < 0.2:
            text += f"\n#### {num()}"
        _check(sub, text, O.ref_reasoning.extract_answer(text), "the pinned rules, in order")
