"""Trusted-side oracles of the a7 hidden suite: the public tests' model builders (tiny random Hugging Face
models of the five families, saved with ``save_pretrained``), imported under a name of their own so that
both build and save models the same way. Test files import this module as ``_oracles``; it never imports
student code."""

from __future__ import annotations

import importlib.util
import sys

from autograder.course import kit_root

_PATH = kit_root() / "tests" / "public" / "a7_open_models" / "_common.py"
_NAME = "llmkit_a7_public_common"
if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(_NAME, _PATH)
    _module = importlib.util.module_from_spec(_spec)
    sys.modules[_NAME] = _module
    _spec.loader.exec_module(_module)
common = sys.modules[_NAME]
