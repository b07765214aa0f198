"""Problem 1, prompts: format_example and build_prompt (15 points).

Oracle: the reference ``build_prompt`` run here on the same templates and examples (the layout is pinned in
the handout), then the shipped ``icl`` model, which scores the submission's prompts against the reference's.
Templates use a different, non-empty string for every separator, so that a part in the wrong place or missing
shows up; inputs and targets are random strings from the models' vocabulary.
"""

import random

import _oracles as O
import pytest

from autograder.checks import expect

TEMPLATES = [
    dict(
        instruction="Add.", input_prefix="In: ", output_prefix=" Out:", target_prefix=" ", example_sep=" | "
    ),
    dict(instruction="", input_prefix="<", output_prefix=">", target_prefix="", example_sep=";"),
    dict(
        instruction="Map each letter.", input_prefix="", output_prefix="=", target_prefix="", example_sep="\n"
    ),
    dict(instruction="", input_prefix="", output_prefix="", target_prefix="", example_sep=","),
]


def _word(r: random.Random) -> str:
    return "".join(r.choice("abcdefgh0123456789+") for _ in range(r.randint(1, 6)))


def _show(s: str) -> str:
    return repr(s) if len(s) < 160 else repr(s[:160]) + "..."


def _check(sub, r, template, k, cot, label):
    pairs = [(_word(r), _word(r)) for _ in range(k)]
    query = _word(r)
    got = sub.call(
        "prompts.build_prompt",
        O.remote_template(sub, template),
        O.remote_examples(sub, pairs),
        query,
        cot=cot,
    )
    want = O.ref_prompts.build_prompt(
        O.ref_prompts.PromptTemplate(**template), [O.ref_tasks.Example(*p) for p in pairs], query, cot=cot
    )
    expect(
        got == want,
        f"build_prompt with {label}, k={k}, cot={cot} gave {_show(got)}; check the pinned layout "
        f"(instruction and example_sep first, every exemplar followed by example_sep, then prefix + query + "
        f"output_prefix)",
    )


@pytest.mark.points(3)
def test_format_example(sub, seed):
    """format_example joins input_prefix, input, output_prefix, target_prefix and target"""
    r = random.Random(seed)
    for template in TEMPLATES:
        pair = (_word(r), _word(r))
        got = sub.call(
            "prompts.format_example", O.remote_template(sub, template), O.remote_examples(sub, [pair])[0]
        )
        want = O.ref_prompts.format_example(
            O.ref_prompts.PromptTemplate(**template), O.ref_tasks.Example(*pair)
        )
        expect(got == want, f"format_example with the template {template} gave {_show(got)}")


@pytest.mark.points(3)
def test_build_prompt_zero_shot(sub, seed):
    """build_prompt with no exemplars: [instruction + sep] + prefix + query + output_prefix"""
    r = random.Random(seed)
    for template in TEMPLATES:
        _check(sub, r, template, 0, False, f"the template {template}")


@pytest.mark.points(4)
def test_build_prompt_few_shot(sub, seed):
    """build_prompt with 1, 3 and 5 exemplars, in the order given, each followed by example_sep"""
    r = random.Random(seed)
    for template in TEMPLATES:
        for k in (1, 3, 5):
            _check(sub, r, template, k, False, f"the template {template}")


@pytest.mark.points(2)
def test_build_prompt_cot(sub, seed):
    """build_prompt(cot=True) appends a space and "Let's think step by step." after the query"""
    r = random.Random(seed)
    for template in (TEMPLATES[0], TEMPLATES[1]):
        for k in (0, 2):
            _check(sub, r, template, k, True, f"the template {template}")


@pytest.mark.points(3)
def test_prompts_on_the_icl_model(sub, seed):
    """the submission's prompts with ICL_TEMPLATE give the reference's accuracy on the shipped icl model"""
    problems = O.ref_tasks.make_icl_problems(40, seed=seed % 1000)
    remote = sub.call("tasks.make_icl_problems", 40, seed % 1000)
    template = sub.new("prompts.PromptTemplate", example_sep=",")
    pools = [h.getattr("pool") for h in remote]
    shots = (2, 6)
    prompts = [
        sub.call("prompts.build_prompt", template, pool[:k], prob.query.input)
        for k in shots
        for pool, prob in zip(pools, problems, strict=True)
    ]
    want = [
        O.ref_prompts.build_prompt(O.ref_prompts.ICL_TEMPLATE, list(p.pool[:k]), p.query.input)
        for k in shots
        for p in problems
    ]
    model = O.local_model("icl")
    targets = [p.query.target for _ in shots for p in problems]
    got = O.ref_evaluation.evaluate(model, prompts, targets, 1, extract=O.first_char)[0]
    ref = O.ref_evaluation.evaluate(model, want, targets, 1, extract=O.first_char)[0]
    expect(
        got.correct == ref.correct,
        f"on 80 few-shot prompts (k = 2 and 6) the icl model answered {got.correct} correctly from your "
        f"prompts; the pinned format gives a different number (separators, order, or the query part differ)",
    )
