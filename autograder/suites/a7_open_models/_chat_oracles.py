"""Trusted-side oracles of the a7 chat problem: the reference ``chat`` module, run here on the same messages.

The reference (``solutions/a7_open_models/chat.py``) is imported under a name of its own that no other part of
the trusted process uses; it never enters the submission's process. Its formats were checked against
``mistral-common``'s official Mistral encoding, ``fschat``'s conversation templates and the model cards
(``tests/quality/test_a7_chat_oracles.py``). Conversations are random: contents mix letters, digits,
punctuation, inner spaces and newlines and non-ASCII characters, never with whitespace at either end (some
official templates strip it).
"""

from __future__ import annotations

import importlib.util
import random
import sys

from autograder.course import kit_root

_PATH = kit_root() / "solutions" / "a7_open_models" / "chat.py"
_spec = importlib.util.spec_from_file_location("llmkit_a7_reference_chat", _PATH)
ref_chat = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = ref_chat
_spec.loader.exec_module(ref_chat)

FAMILIES = ref_chat.FAMILIES
_CHARS = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789.,?!:'()é中"


def content(r: random.Random) -> str:
    """A message text: 1-4 words with inner spaces or a newline, no whitespace at either end."""
    words = ["".join(r.choice(_CHARS) for _ in range(r.randint(1, 7))) for _ in range(r.randint(1, 4))]
    out = words[0]
    for w in words[1:]:
        out += r.choice([" ", " ", "\n"]) + w
    return out


def conversation(r: random.Random, turns: int, system: bool, end_with_user: bool) -> list[dict]:
    """``turns`` user messages, each answered except the last one when ``end_with_user``."""
    msgs = [{"role": "system", "content": content(r)}] if system else []
    for t in range(turns):
        msgs.append({"role": "user", "content": content(r)})
        if t < turns - 1 or not end_with_user:
            msgs.append({"role": "assistant", "content": content(r)})
    return msgs


def show(s: str) -> str:
    return repr(s) if len(s) < 300 else repr(s[:300]) + "..."


def first_difference(got: str, want: str) -> str:
    """Where two renderings part, for a failure message that does not print the whole expected string."""
    if not isinstance(got, str):
        return f"expected a str, got {type(got).__name__}"
    i = next((k for k, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), min(len(got), len(want)))
    return (
        f"the strings differ from character {i} on (lengths {len(got)} and {len(want)}): yours has "
        f"{got[max(0, i - 30) : i + 30]!r} there, the official format {want[max(0, i - 30) : i + 30]!r}"
    )
