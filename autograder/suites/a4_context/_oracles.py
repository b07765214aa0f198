"""Trusted-side oracles of the a4 hidden suite.

The library oracles (tiny random HF ``LlamaForCausalLM`` / ``MistralForCausalLM``, HF's rotary embedding,
``modeling_rope_utils``, ``DynamicCache``) and the loading of their weights into a submission are the public
tests' helpers (``tests/public/a4_context/_common.py``), imported here under a name of their own so that both
suites build and convert models the same way. Test files import this module as ``_oracles``; it never imports
student code.
"""

from __future__ import annotations

import importlib.util
import sys

from autograder.course import kit_root

_PATH = kit_root() / "tests" / "public" / "a4_context" / "_common.py"
_NAME = "llmkit_a4_public_common"
if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(_NAME, _PATH)
    _module = importlib.util.module_from_spec(_spec)
    sys.modules[_NAME] = _module
    _spec.loader.exec_module(_module)
common = sys.modules[_NAME]

# the helpers the test files use, under short names
hf_model = common.hf_model
hf_logits = common.hf_logits
hf_generate = common.hf_generate
hf_cos_sin = common.hf_cos_sin
hf_apply_rope = common.hf_apply_rope
hf_rope_config = common.hf_rope_config
student_decoder = common.student_decoder
describe = common.describe
cached_logits = common.cached_logits
expect_either_layout = common.expect_either_layout
interleaved_of = common.interleaved_of
to_interleaved = common.to_interleaved
perm = common.perm
LOGIT_ATOL, LOGIT_RTOL = common.LOGIT_ATOL, common.LOGIT_RTOL
hf_rotate_half = common.rotate_half
LlamaRotaryEmbedding = common.LlamaRotaryEmbedding
