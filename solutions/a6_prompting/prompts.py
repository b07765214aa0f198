"""Few-shot prompts from a pinned template, and the zero-shot chain-of-thought cue.

A prompt is plain text: an optional instruction, k solved exemplars, and the query left open for the model to
complete. A language model only ever saw text in the format it was trained on, so a prompt that differs by one
separator from that format can lose most of its accuracy: the template is part of the model's "interface".

    prompt = [instruction + example_sep]                    (only when the instruction is not empty)
             + example_1 + example_sep + ... + example_k + example_sep   (nothing when k = 0)
             + input_prefix + query + output_prefix
             [+ " " + COT_TRIGGER]                           (zero-shot chain of thought)

    example_i = input_prefix + input_i + output_prefix + target_prefix + target_i

The two shipped models were trained on ``ICL_TEMPLATE`` (``aB,cD,e`` asks for the image of ``e``) and
``QA_TEMPLATE`` (``Q: 12+34+56\\nA:``, answered `` 102``, or worked after the trigger).
"""

from dataclasses import dataclass

from tasks import COT_TRIGGER, Example

__all__ = ["COT_TRIGGER", "ICL_TEMPLATE", "QA_TEMPLATE", "PromptTemplate", "build_prompt", "format_example"]


@dataclass(frozen=True)
class PromptTemplate:
    """The separators of a prompt format (see the module docstring for where each one goes)."""

    instruction: str = ""
    input_prefix: str = ""
    output_prefix: str = ""
    target_prefix: str = ""
    example_sep: str = "\n"


ICL_TEMPLATE = PromptTemplate(example_sep=",")
QA_TEMPLATE = PromptTemplate(input_prefix="Q: ", output_prefix="\nA:", target_prefix=" ", example_sep="\n\n")


def format_example(template: PromptTemplate, example: Example) -> str:
    """One solved exemplar: input_prefix + input + output_prefix + target_prefix + target."""
    # BEGIN SOLUTION
    t = template
    return f"{t.input_prefix}{example.input}{t.output_prefix}{t.target_prefix}{example.target}"
    # END SOLUTION


def build_prompt(template: PromptTemplate, exemplars: list[Example], query: str, cot: bool = False) -> str:
    """The prompt for ``query`` after ``exemplars`` (in the order given), as pinned in the module docstring.

    Args:
        template: the separators.
        exemplars: the k solved examples, shown first to last; k may be 0.
        query: the input of the question to answer (not an Example: its answer is unknown).
        cot: append a space and ``COT_TRIGGER`` ("Let's think step by step.") after the query.

    Returns:
        The prompt text. For ``ICL_TEMPLATE`` with exemplars (a, B), (c, D) and query "e": "aB,cD,e".
    """
    # BEGIN SOLUTION
    parts = []
    if template.instruction:
        parts.append(template.instruction + template.example_sep)
    for ex in exemplars:
        parts.append(format_example(template, ex) + template.example_sep)
    parts.append(f"{template.input_prefix}{query}{template.output_prefix}")
    if cot:
        parts.append(" " + COT_TRIGGER)
    return "".join(parts)
    # END SOLUTION
