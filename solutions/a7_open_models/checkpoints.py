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
    # BEGIN SOLUTION
    index = os.path.join(folder, INDEX)
    if os.path.isfile(index):
        with open(index, encoding="utf-8") as handle:
            weight_map = json.load(handle)["weight_map"]
        tensors: dict[str, Tensor] = {}
        for shard in sorted(set(weight_map.values())):
            tensors.update(load_file(os.path.join(folder, shard)))
        return tensors
    single = os.path.join(folder, SINGLE)
    if os.path.isfile(single):
        return load_file(single)
    raise CheckpointError(f"no {SINGLE} and no {INDEX} in the checkpoint folder")
    # END SOLUTION


def hf_to_kit(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    """Hugging Face names to the decoder's: ``model.layers.0.mlp.up_proj.weight`` ->
    ``layers.0.mlp.up_proj.weight``; ``lm_head.weight`` stays as it is."""
    # BEGIN SOLUTION
    return {name.removeprefix("model."): t for name, t in tensors.items()}
    # END SOLUTION


def load_into(model: Decoder, state: dict[str, Tensor]) -> None:
    """Copy `state` (the decoder's names) into `model`, strictly.

    A tied ``lm_head.weight`` may be absent (it is the embedding). Raises ``CheckpointError`` for the first
    missing parameter ("missing ..."), unexpected tensor ("unexpected ...") or shape mismatch ("shape of
    ... "), naming it; the model is not changed then."""
    # BEGIN SOLUTION
    own = model.state_dict()
    tied = model.config.tie_word_embeddings
    for name in own:
        if name not in state and not (tied and name == "lm_head.weight"):
            raise CheckpointError(f"missing {name}: the checkpoint has no tensor for this parameter")
    for name, tensor in state.items():
        if name not in own:
            raise CheckpointError(f"unexpected {name}: the model has no parameter of that name")
        if tuple(tensor.shape) != tuple(own[name].shape):
            want, got = tuple(own[name].shape), tuple(tensor.shape)
            raise CheckpointError(f"shape of {name}: the model expects {want}, the checkpoint has {got}")
    with torch.no_grad():
        for name, tensor in state.items():
            own[name].copy_(tensor.to(own[name].dtype))
    # END SOLUTION


def load_pretrained(folder: str) -> Decoder:
    """A ``Decoder`` built from the folder's ``config.json`` with its weights loaded, in eval mode."""
    # BEGIN SOLUTION
    model = Decoder(read_config(folder))
    load_into(model, hf_to_kit(read_tensors(folder)))
    return model.eval()
    # END SOLUTION


def save_pretrained(model: Decoder, folder: str, config: dict) -> None:
    """Write `config` as ``config.json`` and the weights as one ``model.safetensors`` under Hugging Face
    names (``model.`` prefix; a tied head left out), creating `folder` if needed."""
    # BEGIN SOLUTION
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=2)
    state = {}
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight":
            if model.config.tie_word_embeddings:
                continue
            state[name] = tensor.contiguous()
        else:
            state[f"model.{name}"] = tensor.contiguous()
    save_file(state, os.path.join(folder, SINGLE), metadata={"format": "pt"})
    # END SOLUTION
