"""Trusted-side oracles of the a6 hidden suite.

- The reference modules (``solutions/a6_prompting``), run here on the same inputs and the same model weights
  as the submission; they never enter the submission's process. Imported under their own module names, which
  no other part of the trusted process uses.
- The plumbing helpers of the public tests (``tests/public/a6_prompting/_common.py``): shipped models and test
  objects handed over as plain data, and the tiny Hugging Face model of the backend tests.
"""

from __future__ import annotations

import sys

from autograder.course import kit_root

_REF = kit_root() / "solutions" / "a6_prompting"
sys.path.insert(0, str(kit_root() / "tests" / "public" / "a6_prompting"))
sys.path.insert(0, str(_REF))

import evaluation as ref_evaluation  # noqa: E402, F401 - the reference, trusted side only
import hf_backend as ref_hf_backend  # noqa: E402, F401
import prompts as ref_prompts  # noqa: E402, F401
import reasoning as ref_reasoning  # noqa: E402, F401
import selection as ref_selection  # noqa: E402, F401
import tasks as ref_tasks  # noqa: E402, F401
import tinylm as ref_tinylm  # noqa: E402
from _common import (  # noqa: E402, F401 - part of this module's interface
    checkpoint,
    eos_matters,
    hf_reference_texts,
    pairs_of,
    random_tiny,
    remote_examples,
    remote_model,
    remote_template,
    tiny_hf,
    tiny_hf_local,
)

for _name in ("evaluation", "hf_backend", "prompts", "reasoning", "selection", "tasks", "tinylm"):
    if not str(getattr(sys.modules[_name], "__file__", "")).startswith(str(_REF)):
        raise ImportError(f"the trusted-side module {_name!r} is not the reference")


def local_model(name: str):
    """The reference ``TinyLMBackend`` of a shipped model, in this process."""
    config, tensors = checkpoint(name)
    return ref_tinylm.backend_from_tensors(config, tensors)


def first_char(text: str) -> str | None:
    """The answer of the icl model: the first generated character."""
    return text[:1] or None


def local_random(seed: int):
    """The reference ``TinyLMBackend`` of ``random_tiny(seed)``, in this process."""
    return ref_tinylm.backend_from_tensors(*random_tiny(seed))
