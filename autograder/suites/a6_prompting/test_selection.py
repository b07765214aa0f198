"""Problem 2, selection: select_random, char_ngrams, similarity, select_nearest (15 points).

Oracles: ``random.Random(seed).sample`` and the reference selectors, run here on the same pools; the
similarity of the handout (Jaccard index of character 1- and 2-gram sets) computed here with Python sets.
Pools hold distinct inputs and targets, so every selected exemplar is identified exactly, and inputs share
many n-grams so that similarities tie often (ties are pinned: lower index ranks first).
"""

import random

import _oracles as O
import pytest

from autograder.checks import expect, expect_scalar


def _pool(r: random.Random, n: int) -> list[tuple[str, str]]:
    seen, pairs = set(), []
    while len(pairs) < n:
        s = "+".join(str(r.randint(10, 30)) for _ in range(r.randint(2, 3)))
        if s not in seen:
            seen.add(s)
            pairs.append((s, f"t{len(pairs)}"))
    return pairs


@pytest.mark.points(5)
def test_select_random(sub, seed):
    """select_random draws with random.Random(seed).sample over the candidate indices, in the order drawn"""
    r = random.Random(seed)
    for n, k, exclude in ((7, 3, None), (9, 5, 4), (6, 6, None), (8, 0, 2), (11, 4, 0)):
        pairs = _pool(r, n)
        s = r.randrange(10**6)
        got = O.pairs_of(
            sub, sub.call("selection.select_random", O.remote_examples(sub, pairs), k, s, exclude)
        )
        want = O.ref_tasks.as_pairs(
            O.ref_selection.select_random([O.ref_tasks.Example(*p) for p in pairs], k, s, exclude)
        )
        expect(
            got == want,
            f"select_random(pool of {n}, k={k}, seed={s}, exclude={exclude}) picked the targets "
            f"{[t for _, t in got]}; the pinned draw (candidates in increasing order without exclude, "
            f"random.Random(seed).sample, that order) picks others",
        )


@pytest.mark.points(2)
def test_select_random_never_takes_the_query(sub, seed):
    """select_random with exclude never returns the excluded example (k = all other candidates)"""
    r = random.Random(seed)
    pairs = _pool(r, 6)
    got = O.pairs_of(sub, sub.call("selection.select_random", O.remote_examples(sub, pairs), 5, 3, 2))
    expect(pairs[2] not in got and len(got) == 5, f"select_random(pool of 6, k=5, exclude=2) returned {got}")


@pytest.mark.points(3)
def test_similarity(sub, seed):
    """char_ngrams and similarity follow the pinned Jaccard index of character 1- and 2-gram sets"""
    r = random.Random(seed)
    cases = [("", ""), ("a", ""), ("aa", "a"), ("12+3", "12+4"), ("abab", "ba")]
    cases += [
        ("+".join(str(r.randint(10, 30)) for _ in range(3)), str(r.randint(100, 999))) for _ in range(4)
    ]
    for a, b in cases:
        ga, gb = (
            set(a) | {a[i : i + 2] for i in range(len(a) - 1)},
            set(b) | {b[i : i + 2] for i in range(len(b) - 1)},
        )
        want = 1.0 if not (ga | gb) else len(ga & gb) / len(ga | gb)
        expect_scalar(
            sub.call("selection.similarity", a, b), want, atol=1e-12, what=f"similarity({a!r}, {b!r})"
        )
        got_set = sub.call("builtins.sorted", sub.call("selection.char_ngrams", a))  # a set stays remote
        expect(set(got_set) == ga and len(got_set) == len(ga), f"char_ngrams({a!r}) gave {got_set}")


@pytest.mark.points(5)
def test_select_nearest(sub, seed):
    """select_nearest takes the k most similar (ties: lower index), most similar last, never exclude"""
    r = random.Random(seed)
    for n, k, exclude in ((8, 3, None), (10, 4, 5), (7, 7, None), (9, 2, 0), (12, 5, 11)):
        pairs = _pool(r, n)
        query = pairs[exclude][0] if exclude is not None else _pool(r, 1)[0][0]
        got = O.pairs_of(
            sub, sub.call("selection.select_nearest", O.remote_examples(sub, pairs), query, k, exclude)
        )
        want = O.ref_tasks.as_pairs(
            O.ref_selection.select_nearest([O.ref_tasks.Example(*p) for p in pairs], query, k, exclude)
        )
        expect(
            got == want,
            f"select_nearest(pool of {n}, query {query!r}, k={k}, exclude={exclude}) gave the targets "
            f"{[t for _, t in got]}; check the ranking (similarity down, index up), the reversed order "
            f"(most similar last) and exclude",
        )
