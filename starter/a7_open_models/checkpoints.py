"""Loading Hugging Face checkpoints into the decoder of ``architectures.py``, and saving them back.

A checkpoint folder holds ``config.json`` and the weights as safetensors: one ``model.safetensors``, or
shards listed by ``model.safetensors.index.json`` (its ``weight_map`` names the shard of every tensor).
Hugging Face names the decoder's parameters ``model.<name>`` and the head ``lm_head.weight``; a tied head
is not stored at all (it *is* the embedding).

Loading is strict: a parameter the checkpoint lacks, a tensor the model has no place for, or a tensor of
the wrong shape raises ``CheckpointError`` naming it; nothing is silently skipped.
"""

import json
import os

import torch
from architectures import Decoder
from safetensors.torch import load_file, save_file
from torch import Tensor

INDEX = "model.safetensors.index.json"
SINGLE = "model.safetensors"


class CheckpointError(ValueError):
    """A checkpoint that does not fit the model; the message names the tensor and what is wrong."""


def read_config(folder: str) -> dict:
    """The parsed ``config.json`` of a checkpoint folder."""
    with open(os.path.join(folder, "config.json"), encoding="utf-8") as handle:
        return json.load(handle)


def read_tensors(folder: str) -> dict[str, Tensor]:
    """Every tensor of the checkpoint under its Hugging Face name, from one file or from the shards of the
    index (each shard read once); raises ``CheckpointError`` when neither exists."""
    raise NotImplementedError("replace this line with your solution")


def hf_to_kit(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    """Hugging Face names to the decoder's: ``model.layers.0.mlp.up_proj.weight`` ->
    ``layers.0.mlp.up_proj.weight``; ``lm_head.weight`` stays as it is."""
    raise NotImplementedError("replace this line with your solution")


def load_into(model: Decoder, state: dict[str, Tensor]) -> None:
    """Copy `state` (the decoder's names) into `model`, strictly.

    A tied ``lm_head.weight`` may be absent (it is the embedding). Raises ``CheckpointError`` for the first
    missing parameter ("missing ..."), unexpected tensor ("unexpected ...") or shape mismatch ("shape of
    ... "), naming it; the model is not changed then."""
    raise NotImplementedError("replace this line with your solution")


def load_pretrained(folder: str) -> Decoder:
    """A ``Decoder`` built from the folder's ``config.json`` with its weights loaded, in eval mode."""
    raise NotImplementedError("replace this line with your solution")


def save_pretrained(model: Decoder, folder: str, config: dict) -> None:
    """Write `config` as ``config.json`` and the weights as one ``model.safetensors`` under Hugging Face
    names (``model.`` prefix; a tied head left out), creating `folder` if needed."""
    raise NotImplementedError("replace this line with your solution")
