"""Public tests of Problem 2: loading a saved HF checkpoint, one file and sharded."""

import tempfile
from pathlib import Path

import _common as C
import pytest
import torch

from autograder.checks import expect_close


@pytest.mark.parametrize("shards", [False, True], ids=["single", "sharded"])
def test_load_pretrained_matches_hf(sub, rng, shards):
    """load_pretrained of a saved Mistral checkpoint gives HF's logits"""
    hf = C.hf_model(rng, "mistral")
    with tempfile.TemporaryDirectory() as folder:
        inside = sub.send_folder(C.save(hf, Path(folder), shards=shards), "mistral")
    model = sub.new("checkpoints.load_pretrained", inside)
    idx = torch.randint(0, 37, (2, 6), generator=rng)
    what = f"{C.describe(hf)} loaded from its checkpoint: logits for input_ids of shape (2, 6)"
    expect_close(model(idx), C.hf_logits(hf, idx), atol=C.LOGIT_ATOL, rtol=C.LOGIT_RTOL, what=what)
