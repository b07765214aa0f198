"""Problem 1, prompts: known prompts in the two trained formats and a template with an instruction."""

import _common as C
import pytest

from autograder.checks import expect


def _prompt(sub, template, pairs, query, cot=False):
    return sub.call(
        "prompts.build_prompt",
        C.remote_template(sub, template),
        C.remote_examples(sub, pairs),
        query,
        cot=cot,
    )


ICL = dict(example_sep=",")
QA = dict(input_prefix="Q: ", output_prefix="\nA:", target_prefix=" ", example_sep="\n\n")


@pytest.mark.points(4)
def test_format_example(sub):
    """format_example("12+3", "15") in the QA format is "Q: 12+3\\nA: 15\""""
    got = sub.call(
        "prompts.format_example", C.remote_template(sub, QA), C.remote_examples(sub, [("12+3", "15")])[0]
    )
    expect(got == "Q: 12+3\nA: 15", f"format_example gave {got!r}")


@pytest.mark.points(4)
def test_icl_prompt(sub):
    """two exemplars and a query in the icl format: "aB,cD,e\""""
    got = _prompt(sub, ICL, [("a", "B"), ("c", "D")], "e")
    expect(got == "aB,cD,e", f"build_prompt gave {got!r}, expected 'aB,cD,e'")
    got = _prompt(sub, ICL, [], "e")
    expect(got == "e", f"build_prompt with no exemplars gave {got!r}, expected 'e'")


@pytest.mark.points(4)
def test_qa_prompt_and_cot(sub):
    """one exemplar in the QA format, then the zero-shot chain-of-thought prompt"""
    got = _prompt(sub, QA, [("1+2", "3")], "4+5")
    expect(got == "Q: 1+2\nA: 3\n\nQ: 4+5\nA:", f"build_prompt gave {got!r}")
    got = _prompt(sub, QA, [], "4+5", cot=True)
    expect(got == "Q: 4+5\nA: Let's think step by step.", f"build_prompt(cot=True) gave {got!r}")


@pytest.mark.points(3)
def test_instruction(sub):
    """an instruction comes first, followed by example_sep"""
    got = _prompt(sub, dict(QA, instruction="Add the numbers."), [("1+2", "3")], "4+5")
    want = "Add the numbers.\n\nQ: 1+2\nA: 3\n\nQ: 4+5\nA:"
    expect(got == want, f"build_prompt gave {got!r}, expected {want!r}")
