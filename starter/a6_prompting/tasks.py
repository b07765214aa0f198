"""The two synthetic task families the shipped models were trained on, and their held-out test problems.

Given whole (nothing to implement here).

In-context learning (model ``icl``): a hidden rule y = a*x + b mod 11 maps the letters ``a..k`` (x = 0..10) to
the letters ``A..K``. The rule is drawn fresh for every problem, so nothing about it is in the weights: the
only way to answer the query better than chance (1/11) is to read the exemplars in the prompt. The prompt
format the model was trained on is ``xy,xy,...,x`` (``ICL_TEMPLATE``); the model answers with one letter.

Chain of thought (model ``arith``): the sum of 3 or 4 numbers from 10..99, asked as ``Q: 12+34+56\\nA:``. The
model was trained on two kinds of answers: a direct one (`` 102``) and, when the prompt ends in
"Let's think step by step.", a worked chain of partial sums (`` 12+34=46,46+56=102. The answer is 102.``).

Held-out: the affine rules with (3a + b) mod 11 == 0 and the sums whose question has a CRC-32 divisible by 5
never occur in training; every test problem made here is held out in that sense.
"""

import random
import zlib
from dataclasses import dataclass

P = 11  # the modulus of the affine rules
X_LETTERS = "abcdefghijk"  # x = 0..10
Y_LETTERS = "ABCDEFGHIJK"  # y = 0..10
COT_TRIGGER = "Let's think step by step."


@dataclass(frozen=True)
class Example:
    """One labelled example: ``input`` is what the prompt shows, ``target`` the answer (as text)."""

    input: str
    target: str


@dataclass(frozen=True)
class ICLProblem:
    """A hidden affine rule, a pool of labelled examples of it to draw exemplars from, and a query."""

    a: int
    b: int
    pool: tuple[Example, ...]
    query: Example


def as_pairs(examples: list[Example]) -> list[tuple[str, str]]:
    """The (input, target) pairs of a list of examples, e.g. to print or compare them."""
    return [(e.input, e.target) for e in examples]


def affine(a: int, b: int, x: int) -> int:
    """y = a*x + b mod 11."""
    return (a * x + b) % P


def affine_example(a: int, b: int, x: int) -> Example:
    """The example of rule (a, b) at x, in letters: x=2 under (a=1, b=3) -> Example("c", "F")."""
    return Example(X_LETTERS[x], Y_LETTERS[affine(a, b, x)])


def rule_is_heldout(a: int, b: int) -> bool:
    """The 10 rules kept out of training (one for every a)."""
    return (3 * a + b) % P == 0


def make_icl_problems(n: int, seed: int, pool_size: int = 16) -> list[ICLProblem]:
    """``n`` held-out problems: a held-out rule, a pool of ``pool_size`` examples (x uniform, with repetition)
    and a query (x uniform, independent of the pool)."""
    rng = random.Random(seed)
    rules = [(a, b) for a in range(1, P) for b in range(P) if rule_is_heldout(a, b)]
    problems = []
    for _ in range(n):
        a, b = rng.choice(rules)
        pool = tuple(affine_example(a, b, rng.randrange(P)) for _ in range(pool_size))
        problems.append(ICLProblem(a, b, pool, affine_example(a, b, rng.randrange(P))))
    return problems


def sum_question(operands: list[int]) -> str:
    """[12, 34, 56] -> "12+34+56"."""
    return "+".join(str(o) for o in operands)


def worked_chain(question: str) -> str:
    """The partial sums, left to right: "12+34+56" -> "12+34=46,46+56=102"."""
    ops = [int(t) for t in question.split("+")]
    steps, acc = [], ops[0]
    for o in ops[1:]:
        steps.append(f"{acc}+{o}={acc + o}")
        acc += o
    return ",".join(steps)


def cot_completion(question: str) -> str:
    """What the model was trained to write after the trigger: " 12+34=46,46+56=102. The answer is 102."."""
    total = sum(int(t) for t in question.split("+"))
    return f" {worked_chain(question)}. The answer is {total}."


def sum_is_heldout(question: str) -> bool:
    """About one question in five is kept out of training."""
    return zlib.crc32(question.encode()) % 5 == 0


def random_sum(rng: random.Random) -> str:
    """A question with 3 or 4 operands from 10..99 (held out or not)."""
    return sum_question([rng.randint(10, 99) for _ in range(rng.choice((3, 4)))])


def make_sum_problems(n: int, seed: int) -> list[Example]:
    """``n`` held-out sums: Example("12+34+56", "102")."""
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        q = random_sum(rng)
        if sum_is_heldout(q):
            out.append(Example(q, str(sum(int(t) for t in q.split("+")))))
    return out
