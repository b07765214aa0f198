"""The a3 handout states each convention the suites rely on, and what it states is what the kit does.

Each test finds the handout's sentences and then checks them against behaviour: the reference's, the
suites', an alternative's or the engine's. Nothing here grades; the graded side of the same statements is in
`test_a3_quality.py` (the alternatives, the file and notebook evasions of the forbidden-call rule).
"""

from __future__ import annotations

import ast
import fnmatch
import json
import re

import pytest
import torch
from _quality import ROOT, load_module

from autograder.checks import forbidden_names

FOLDER = "a3_attention"
HANDOUT = (ROOT / "assignments" / FOLDER / "README.md").read_text()
COMMON = load_module("llmkit_public_a3_common", ROOT / "tests" / "public" / FOLDER / "_common.py")
SUITES = [ROOT / "autograder" / "suites" / FOLDER, ROOT / "tests" / "public" / FOLDER]


def _flat(text: str) -> str:
    return " ".join(text.split())


def _row(topic: str) -> str:
    """The text of the pinned-conventions table's row on `topic`."""
    match = re.search(rf"^\| {re.escape(topic)} \| (.+) \|$", HANDOUT, flags=re.MULTILINE)
    assert match, f"the handout's conventions table has no row {topic!r}"
    return match.group(1)


def _paragraph(start: str) -> str:
    """The handout's text from `start` to the next heading, on one line."""
    assert start in HANDOUT, f"the handout has no {start!r}"
    return _flat(re.split(r"^#", HANDOUT.split(start, 1)[1], maxsplit=1, flags=re.MULTILINE)[0])


def _reference(module: str):
    return load_module(f"llmkit_handout_a3_{module}", ROOT / "solutions" / FOLDER / f"{module}.py")


def test_seed_and_generator():
    """Randomness: seed 0 is a seed, at most one of seed and generator, the reference raises ValueError on
    both, the global generator is left alone; and no call of the suites passes both."""
    row = _row("Randomness")
    for pinned in (
        "**0 included**",
        "Give at most one of the two",
        "the graders never pass both",
        "the reference raises `ValueError` then",
        "neither read nor changed",
    ):
        assert pinned in row, pinned
    sample_next = _reference("sampling").sample_next
    logits = torch.randn(64, 11, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError):
        sample_next(logits, seed=1, generator=torch.Generator().manual_seed(1))
    draws = []
    for global_seed in (3, 4):
        torch.manual_seed(global_seed)
        state = torch.get_rng_state()
        draws.append(sample_next(logits, seed=0))
        assert torch.equal(torch.get_rng_state(), state), "a seeded draw changed the global generator"
    assert torch.equal(draws[0], draws[1]), "seed=0 did not fix the draw"
    assert not torch.equal(draws[0], sample_next(logits, seed=1)), "another seed gave the same 64 draws"
    for folder in SUITES:
        for path in folder.glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call):
                    names = {k.arg for k in node.keywords}
                    keys = {str(k.value) for k in _dict_keys(node)}
                    assert not {"seed", "generator"} <= names | keys, f"{path.name}:{node.lineno} passes both"


def _dict_keys(call: ast.Call) -> list[ast.Constant]:
    """The constant keys of dict literals passed to `call` (``kwargs={"seed": s}``, as `sub.probe` takes)."""
    found = []
    for value in [*call.args, *(k.value for k in call.keywords)]:
        if isinstance(value, ast.Dict):
            found += [k for k in value.keys if isinstance(k, ast.Constant)]
    return found


def test_fully_masked_query():
    """A query whose every key is masked: unspecified and never graded. The reference gives NaN there (the
    plain formula) and the `finite_mask_fill` alternative, which scores full marks in the quality test,
    gives finite values: the two agree on every real query and differ only on that row."""
    row = _flat(_row("Fully masked query"))
    for pinned in (
        "unspecified",
        "NaN (what the plain formula gives)",
        "never graded",
        "masks whose first token is real",
    ):
        assert pinned in row, pinned
    alternative = ROOT / "tests" / "alternatives" / FOLDER / "finite_mask_fill" / "attention.py"
    ours = _reference("attention").causal_attention
    theirs = load_module("llmkit_handout_a3_finite_mask_fill", alternative).causal_attention
    rng = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 6, 4, generator=rng) for _ in range(3))
    mask = torch.tensor([[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]])  # row 0: query 0 sees only padding
    a, b = ours(q, k, v, attention_mask=mask), theirs(q, k, v, attention_mask=mask)
    fully_masked = torch.zeros(2, 1, 6, 1, dtype=torch.bool)
    fully_masked[0, :, 0] = True
    real = mask.bool()[:, None, :, None].expand_as(a)
    torch.testing.assert_close(a[real], b[real], atol=1e-6, rtol=0)
    assert bool(torch.isnan(a[fully_masked.expand_as(a)]).all())
    assert bool(torch.isfinite(b[fully_masked.expand_as(b)]).all())


def test_forbidden_call_rule():
    """The rule "Not allowed: the library attention": the names it lists are the ones the static check looks
    for; the four forms it names (a name, an attribute, an import, a string) are what that check finds; the
    run-time ways it names are matched by what the worker watches; and only Problems 2 and 3 apply it."""
    rule = _paragraph("**Not allowed: the library attention.**")
    for name in COMMON.FORBIDDEN_IN_ATTENTION:
        family = name.startswith("Transformer") and "`torch.nn.Transformer*`" in rule
        assert re.search(rf"`[\w.]*\b{name}`", rule) or family, name
    for pinned in (
        "**no points for Problems 2 and 3**",
        "as a name, an attribute, an import or a string",
        "every graded code cell of a notebook",
        "`getattr` with a name built at run time",
        "`torch.ops.aten`",
        "a module of `torch.nn`",
    ):
        assert pinned in rule, pinned
    forms = {
        "name": "from torch.nn.functional import scaled_dot_product_attention as f\nf(q, k, v)\n",
        "attribute": "import torch\ntorch.nn.functional.scaled_dot_product_attention(q, k, v)\n",
        "import": "from torch.nn import MultiheadAttention\n",
        "string": 'getattr(F, "scaled_dot_product_attention")(q, k, v)\n',
    }
    for form, source in forms.items():
        assert forbidden_names(source, COMMON.FORBIDDEN_IN_ATTENTION), form
    ran = [
        "scaled_dot_product_attention",
        "aten._scaled_dot_product_flash_attention_for_cpu",
        "module:torch.nn.modules.activation.MultiheadAttention",
        "module:torch.nn.modules.transformer.TransformerDecoderLayer",
    ]
    for event in ran:
        assert any(fnmatch.fnmatchcase(event, p) for p in COMMON.LIBRARY_ATTENTION), event
    hidden = ROOT / "autograder" / "suites" / FOLDER
    applying = {p.name for p in hidden.glob("test_*.py") if "O.own_attention(sub)" in p.read_text()}
    assert applying == {"test_attention.py", "test_mha.py"}, applying


def test_notebook_submissions():
    """Notebook submissions: graded cells and exploration cells, IPython lines, the rule on every graded
    cell; and `explore.ipynb`, which the handout says uses none of the forbidden names, indeed uses none."""
    section = _paragraph("**Notebook submissions.**")
    for pinned in (
        "`llmkit check a3 my_solution.ipynb`",
        "every cell that only defines names",
        "exploration cell, left out when grading",
        "IPython lines (`%magic`, `!shell`) are not run",
        "reads every graded cell",
        "Problems 2 and 3 earn no points",
        "`explore.ipynb` uses none of them",
    ):
        assert pinned in section, pinned
    notebook = json.loads((ROOT / "assignments" / FOLDER / "explore.ipynb").read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            source = "\n".join(
                line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))
            )
            assert not forbidden_names(source, COMMON.FORBIDDEN_IN_ATTENTION), source[:200]
