"""Trusted-side helpers of the a2 hidden suite: synthetic runs from known laws, and the oracles.

The synthetic data, the numpy and torch oracles and the ``torch.optim.LBFGS`` reference fit are the public
tests' ``_common.py`` (it ships to students and holds no answer): both suites draw data and compute expected
values the same way, on different seeds, sizes and laws. Test files import this module as ``_oracles``; it
never imports student code.
"""

from __future__ import annotations

import sys

from autograder.course import kit_root

sys.path.insert(0, str(kit_root() / "tests" / "public" / "a2_scaling_laws"))
from _common import *  # noqa: E402, F403
from _common import EPOCH, F64, PAPER, PAPER_THETA, ROUNDED  # noqa: E402, F401
