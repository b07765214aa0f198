"""Problem 3 (chat), part 1: rendering conversations in each family's official format (15 points).

Oracle: the reference ``chat.render`` run here on the same random conversations (its formats are checked
against mistral-common, fschat and the model cards by the kit's own tests). Every family is tried in every
test, so a test names the family and where the strings part.
"""

import random

import _chat_oracles as O
import pytest

from autograder.checks import expect


def _check(sub, family, msgs, agp, what):
    got = sub.call("chat.render", family, msgs, add_generation_prompt=agp)
    want = O.ref_chat.render(family, msgs, add_generation_prompt=agp)
    expect(
        got == want,
        f"render({family!r}, {what}, add_generation_prompt={agp}): {O.first_difference(got, want)}",
    )


@pytest.mark.points(3)
def test_single_turn_with_generation_prompt(sub, seed):
    """one user message, add_generation_prompt=True: the prompt ends with the text opening the answer"""
    r = random.Random(seed)
    for family in O.FAMILIES:
        _check(sub, family, O.conversation(r, 1, False, True), True, "one user message")


@pytest.mark.points(3)
def test_without_generation_prompt(sub, seed):
    """a conversation ending with the user's message and add_generation_prompt=False"""
    r = random.Random(seed + 1)
    for family in O.FAMILIES:
        _check(sub, family, O.conversation(r, 2, False, True), False, "two user turns")


@pytest.mark.points(3)
def test_multi_turn(sub, seed):
    """three turns, ending with the user (generation prompt) and ending with the assistant (training)"""
    r = random.Random(seed + 2)
    for family in O.FAMILIES:
        _check(sub, family, O.conversation(r, 3, False, True), True, "three turns ending with the user")
        _check(sub, family, O.conversation(r, 3, False, False), False, "three answered turns")


@pytest.mark.points(3)
def test_system_message(sub, seed):
    """a system message placed as each family does (llama2 <<SYS>> block, mistral and gemma prefix, ...)"""
    r = random.Random(seed + 3)
    for family in O.FAMILIES:
        for turns in (1, 3):
            _check(
                sub, family, O.conversation(r, turns, True, True), True, f"a system message, {turns} turns"
            )
        _check(sub, family, O.conversation(r, 2, True, False), False, "a system message, 2 answered turns")


@pytest.mark.points(3)
def test_jinja_template(sub, seed):
    """jinja_template(family) rendered by apply_chat_template gives the official string"""
    r = random.Random(seed + 4)
    for family in O.FAMILIES:
        for msgs, agp in [
            (O.conversation(r, 2, True, True), True),
            (O.conversation(r, 2, False, False), False),
            (O.conversation(r, 1, False, True), True),
        ]:
            got = sub.call("chat.render_jinja", family, msgs, add_generation_prompt=agp)
            want = O.ref_chat.render(family, msgs, add_generation_prompt=agp)
            expect(
                got == want,
                f"jinja_template({family!r}) through apply_chat_template, {len(msgs)} messages, "
                f"add_generation_prompt={agp}: {O.first_difference(got, want)}",
            )
