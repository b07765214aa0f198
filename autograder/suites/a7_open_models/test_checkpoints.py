"""Problem 2, loading (and saving) Hugging Face checkpoints (20 points).

Oracle: tiny random Hugging Face models of the five families saved with ``save_pretrained`` (one
``model.safetensors``, or 8 KB shards with ``model.safetensors.index.json``), handed to the submission as a
read-only folder. The loaded ``Decoder`` must give HF's logits (float32, 1e-4 absolute plus 1e-4 relative).
Broken checkpoints (a tensor removed, one added, one of the wrong shape) must raise an error whose message
names the tensor. ``save_pretrained`` is collected from the sandbox (JSON and safetensors only) and compared
with HF's own checkpoint: the same names, the same tensors, the same config.
"""

import tempfile
from pathlib import Path

import _oracles as O
import pytest
import torch

from autograder.checks import GradeFailure, expect, expect_close
from autograder.client import CallFailed

C = O.common


def _send(sub, hf, shards=False, edit=None):
    with tempfile.TemporaryDirectory() as folder:
        C.save(hf, Path(folder), shards=shards)
        if edit is not None:
            C.edit_checkpoint(Path(folder), edit)
        return sub.send_folder(Path(folder), f"{hf.config.model_type}-checkpoint")


def _loads_and_matches(sub, rng, family, shards):
    hf = C.hf_model(rng, family)
    model = sub.new("checkpoints.load_pretrained", _send(sub, hf, shards))
    idx = torch.randint(0, 37, (2, 7), generator=rng)
    how = "sharded checkpoint" if shards else "single-file checkpoint"
    what = f"{C.describe(hf)} loaded from a {how}: logits for input_ids of shape (2, 7)"
    expect_close(model(idx), C.hf_logits(hf, idx), atol=C.LOGIT_ATOL, rtol=C.LOGIT_RTOL, what=what)


@pytest.mark.points(2)
@pytest.mark.parametrize("family", ["qwen2", "gemma"])
def test_load_single_file(sub, rng, family):
    """load_pretrained of a single-file checkpoint gives HF's logits"""
    _loads_and_matches(sub, rng, family, shards=False)


@pytest.mark.points(2)
@pytest.mark.parametrize("family", ["llama", "phi3"])
def test_load_sharded(sub, rng, family):
    """load_pretrained of a sharded checkpoint (index file) gives HF's logits"""
    _loads_and_matches(sub, rng, family, shards=True)


def _refused(sub, rng, edit, name, word):
    hf = C.hf_model(rng, "llama")
    folder = _send(sub, hf, edit=edit)
    try:
        sub.call("checkpoints.load_pretrained", folder)
    except CallFailed as exc:
        text = str(exc)
        expect(name in text and word in text.lower(),
               f"loading a checkpoint whose {name} is {word}: the error should name {name} and say "
               f"{word!r}; it said: {text.splitlines()[0][:300]}")  # fmt: skip
        return
    raise GradeFailure(f"loading a checkpoint whose {name} is {word} gave a model instead of an error")


@pytest.mark.points(2)
def test_missing_key_is_named(sub, rng):
    """a checkpoint without one of the model's tensors raises an error naming it as missing"""
    key = "model.layers.1.mlp.up_proj.weight"
    _refused(
        sub, rng, lambda s: {k: v for k, v in s.items() if k != key}, key.removeprefix("model."), "missing"
    )


@pytest.mark.points(2)
def test_unexpected_key_is_named(sub, rng):
    """a checkpoint with a tensor the model has no place for raises an error naming it as unexpected"""
    _refused(sub, rng, lambda s: {**s, "model.layers.0.extra.weight": torch.zeros(3)},
             "layers.0.extra.weight", "unexpected")  # fmt: skip


@pytest.mark.points(2)
def test_shape_mismatch_is_named(sub, rng):
    """a tensor of the wrong shape raises an error naming it and saying 'shape'"""
    key = "model.layers.0.self_attn.k_proj.weight"
    _refused(sub, rng, lambda s: {**s, key: torch.zeros(6, 24)}, key.removeprefix("model."), "shape")


@pytest.mark.points(3)
@pytest.mark.parametrize("family", ["gemma", "phi3"])
def test_save_pretrained_writes_hf_names(sub, rng, family):
    """save_pretrained writes config.json and model.safetensors with HF's names and tensors (tied head out)"""
    hf = C.hf_model(rng, family)
    model = C.student_decoder(sub, hf)
    out = sub.outbox("saved")
    sub.call("checkpoints.save_pretrained", model, out, C.hf_config(hf))
    files = sub.collect(out)
    what = f"{C.describe(hf)} saved with save_pretrained"
    expect(sorted(files) == ["config.json", "model.safetensors"],
           f"{what}: expected config.json and model.safetensors, got {sorted(files)}")  # fmt: skip
    expect(files["config.json"] == C.hf_config(hf), f"{what}: config.json is not the config given")
    want = {
        k: v
        for k, v in hf.state_dict().items()
        if not (hf.config.tie_word_embeddings and k == "lm_head.weight")
    }
    got = files["model.safetensors"]
    extra, missing = sorted(set(got) - set(want)), sorted(set(want) - set(got))
    expect(
        not extra and not missing,
        f"{what}: names differ from HF's (extra {extra[:3]}, missing {missing[:3]})",
    )
    for name, tensor in want.items():
        expect_close(got[name], tensor, atol=0.0, what=f"{what}: tensor {name}")
