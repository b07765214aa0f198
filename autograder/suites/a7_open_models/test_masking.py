"""Problem 3 (chat), part 2: token ids and labels for supervised fine-tuning (10 points).

Oracle: the reference ``chat.encode_for_training`` and ``chat.assistant_spans`` run here with the pinned
``ChatTokenizer`` (bytes plus the family's special tokens) on the same random conversations. The tokenizer the
submission uses is its own ``ChatTokenizer``, built in its process; the ids it returns are checked against the
reference tokenizer's encoding of the official string first.
"""

import random

import _chat_oracles as O
import pytest

from autograder.checks import expect


def _labels_message(family, got, want, what):
    if not (isinstance(got, list | tuple) and len(got) == 2):
        return f"encode_for_training({family!r}, {what}) must return (ids, labels), got {type(got).__name__}"
    ids, labels = got
    want_ids, want_labels = want
    if list(ids) != want_ids:
        return (
            f"encode_for_training({family!r}, {what}): ids differ from the tokenizer's encoding of the "
            f"official string without an added BOS ({len(ids)} ids, expected {len(want_ids)})"
        )
    if list(labels) != want_labels:
        bad = [t for t, (a, b) in enumerate(zip(labels, want_labels, strict=False)) if a != b]
        where = bad[0] if bad else min(len(labels), len(want_labels))
        return (
            f"encode_for_training({family!r}, {what}): {len(bad)} labels are wrong (lengths {len(labels)} "
            f"and {len(want_labels)}), the first at token {where}: only assistant spans through the "
            f"end-of-turn token {O.ref_chat.END_OF_TURN[family]!r} keep their ids, unshifted; others -100"
        )
    return None


def _check(sub, family, msgs, what):
    tok = sub.new("chat.ChatTokenizer", family)
    got = sub.call("chat.encode_for_training", family, msgs, tok)
    want = O.ref_chat.encode_for_training(family, msgs, O.ref_chat.ChatTokenizer(family))
    message = _labels_message(family, got, [list(w) for w in want], what)
    expect(message is None, message or "")


@pytest.mark.points(2)
def test_assistant_spans(sub, seed):
    """assistant_spans: the character ranges of the answers through the end-of-turn token"""
    r = random.Random(seed + 10)
    for family in O.FAMILIES:
        msgs = O.conversation(r, 2, True, False)
        got = sub.call("chat.assistant_spans", family, msgs)
        want = [list(s) for s in O.ref_chat.assistant_spans(family, msgs)]
        ok = isinstance(got, list | tuple) and [list(s) for s in got] == want
        expect(ok, f"assistant_spans({family!r}, 2 answered turns with a system message) gave {got}")


@pytest.mark.points(3)
def test_single_turn_labels(sub, seed):
    """one question and its answer: the prompt is -100, the answer and its end-of-turn token labelled"""
    r = random.Random(seed + 11)
    for family in O.FAMILIES:
        _check(sub, family, O.conversation(r, 1, False, False), "one answered turn")


@pytest.mark.points(3)
def test_multi_turn_labels(sub, seed):
    """three answered turns: every answer is labelled, every user turn and separator is -100"""
    r = random.Random(seed + 12)
    for family in O.FAMILIES:
        _check(sub, family, O.conversation(r, 3, False, False), "three answered turns")


@pytest.mark.points(2)
def test_labels_with_system(sub, seed):
    """a system message and two answered turns: the system text is never labelled"""
    r = random.Random(seed + 13)
    for family in O.FAMILIES:
        _check(sub, family, O.conversation(r, 2, True, False), "a system message and two answered turns")
