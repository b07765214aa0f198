"""LoRA: fine-tune a frozen model through a low-rank update of some of its linear layers.

A linear layer y = W0 x + b (W0 is [out, in]) gets two small trainable matrices, A [r, in] and B [out, r],
and computes

    y = W0 x + b + scaling * B (A dropout(x)),      scaling = alpha / r   (rsLoRA: alpha / sqrt(r)).

Only A and B train: r * (in + out) numbers instead of in * out. B starts at zero, so the adapted model starts
exactly where the base model is; A starts as ``nn.Linear`` initialises its weights (Kaiming-uniform with
a = sqrt(5)), as peft does. After training, the update can be merged into the weight (W0 + scaling * B A),
which makes the adapter free at inference, and unmerged again.

The adapter is saved the way peft saves it, so that ``peft.PeftModel.from_pretrained`` loads it on the
Hugging Face model: ``adapter_config.json`` and ``adapter_model.safetensors`` with the keys
``base_model.model.<path of the layer>.lora_A.weight`` and ``...lora_B.weight`` (no adapter name in the
keys). A layer at ``<path>`` of the wrapped model keeps its base weights at ``<path>.base_layer.weight`` and
its adapter at ``<path>.lora_A.weight`` / ``<path>.lora_B.weight``, as in peft.

Shapes: in = base.in_features, out = base.out_features, r = rank; x is [..., in], outputs [..., out].
"""

import json
import math
import os

import torch
from safetensors.torch import save_file
from torch import Tensor, nn

PEFT_PREFIX = "base_model.model."  # what peft puts before a layer's path in the saved keys


class LoRALinear(nn.Module):
    """An ``nn.Linear`` with a LoRA update (one adapter).

    Args:
        base: the layer to adapt; it is kept (not copied) as ``self.base_layer`` and frozen.
        r: rank of the update (r >= 1).
        alpha: the LoRA alpha; the update is multiplied by ``alpha / r`` (``alpha / sqrt(r)`` with rsLoRA).
        dropout: dropout probability applied to the input of A only (the base path sees x unchanged).
        use_rslora: rank-stabilised scaling ``alpha / sqrt(r)``.

    Pinned attributes: ``base_layer`` (the ``nn.Linear``), ``lora_A`` (``nn.Linear(in, r, bias=False)``),
    ``lora_B`` (``nn.Linear(r, out, bias=False)``), ``scaling`` (a float), ``r``, ``alpha``, ``use_rslora``,
    ``dropout_p`` and ``merged`` (True while the update is inside ``base_layer.weight``).
    """

    def __init__(
        self, base: nn.Linear, r: int, alpha: float, dropout: float = 0.0, use_rslora: bool = False
    ) -> None:
        super().__init__()
        # BEGIN SOLUTION
        if r < 1:
            raise ValueError(f"LoRA rank r must be at least 1, got {r}")
        self.base_layer = base
        self.r, self.alpha, self.use_rslora, self.dropout_p = r, alpha, use_rslora, dropout
        self.scaling = alpha / math.sqrt(r) if use_rslora else alpha / r
        factory = {"device": base.weight.device, "dtype": base.weight.dtype}
        self.lora_A = nn.Linear(base.in_features, r, bias=False, **factory)  # Kaiming-uniform, a = sqrt(5)
        self.lora_B = nn.Linear(r, base.out_features, bias=False, **factory)
        nn.init.zeros_(self.lora_B.weight)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.merged = False
        for p in self.base_layer.parameters():
            p.requires_grad_(False)
        # END SOLUTION

    def delta_weight(self) -> Tensor:
        """The update ``scaling * B @ A`` that merging adds to the base weight, [out, in]."""
        # BEGIN SOLUTION
        return self.scaling * (self.lora_B.weight @ self.lora_A.weight)
        # END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        """x [..., in] -> [..., out]: the base layer plus the scaled update (inside it once merged)."""
        # BEGIN SOLUTION
        y = self.base_layer(x)
        if self.merged:
            return y
        return y + self.lora_B(self.lora_A(self.dropout(x))) * self.scaling
        # END SOLUTION

    @torch.no_grad()
    def merge(self) -> None:
        """Add the update into ``base_layer.weight`` in place; a second merge changes nothing."""
        # BEGIN SOLUTION
        if not self.merged:
            self.base_layer.weight += self.delta_weight().to(self.base_layer.weight.dtype)
            self.merged = True
        # END SOLUTION

    @torch.no_grad()
    def unmerge(self) -> None:
        """Take the update out of ``base_layer.weight`` again; without a merge it changes nothing."""
        # BEGIN SOLUTION
        if self.merged:
            self.base_layer.weight -= self.delta_weight().to(self.base_layer.weight.dtype)
            self.merged = False
        # END SOLUTION


def matches_target(name: str, target_modules: list[str]) -> bool:
    """peft's matching of a module name against a list of targets: the whole name, or a suffix of it that
    starts after a dot (``"q_proj"`` matches ``"model.layers.0.self_attn.q_proj"`` but not
    ``"model.layers.0.self_attn.qq_proj"``)."""
    # BEGIN SOLUTION
    return any(name == t or name.endswith("." + t) for t in target_modules)
    # END SOLUTION


def inject_lora(
    model: nn.Module,
    target_modules: list[str],
    r: int,
    alpha: float,
    dropout: float = 0.0,
    use_rslora: bool = False,
) -> list[str]:
    """Replace, in place, every ``nn.Linear`` of ``model`` whose name matches ``target_modules`` (see
    ``matches_target``) by a ``LoRALinear`` around it, and freeze every parameter that is not LoRA's.

    Returns the names of the replaced layers, sorted. Raises ``ValueError`` when nothing matches.
    """
    # BEGIN SOLUTION
    names = [
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and name and matches_target(name, target_modules)
    ]
    if not names:
        raise ValueError(f"no nn.Linear of the model matches target_modules={target_modules}")
    for p in model.parameters():
        p.requires_grad_(False)
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        setattr(parent, child, LoRALinear(getattr(parent, child), r, alpha, dropout, use_rslora))
    return sorted(names)
    # END SOLUTION


def lora_layers(model: nn.Module) -> dict[str, LoRALinear]:
    """The LoRA layers of ``model`` by their names (in ``named_modules`` order)."""
    # BEGIN SOLUTION
    return {name: m for name, m in model.named_modules() if isinstance(m, LoRALinear)}
    # END SOLUTION


def count_parameters(model: nn.Module) -> dict[str, int]:
    """``{"trainable": ..., "total": ...}``: numbers of parameters that require grad, and of all parameters
    (each shared tensor counted once)."""
    # BEGIN SOLUTION
    params = list(model.parameters())  # parameters() lists a shared tensor once
    return {
        "trainable": sum(p.numel() for p in params if p.requires_grad),
        "total": sum(p.numel() for p in params),
    }
    # END SOLUTION


def merge_lora(model: nn.Module) -> None:
    """Merge every LoRA layer of ``model`` (see ``LoRALinear.merge``)."""
    # BEGIN SOLUTION
    for layer in lora_layers(model).values():
        layer.merge()
    # END SOLUTION


def unmerge_lora(model: nn.Module) -> None:
    """Unmerge every LoRA layer of ``model`` (see ``LoRALinear.unmerge``)."""
    # BEGIN SOLUTION
    for layer in lora_layers(model).values():
        layer.unmerge()
    # END SOLUTION


def lora_state_dict(model: nn.Module) -> dict[str, Tensor]:
    """The adapter's tensors under peft's saved names: for a layer at ``<path>``,
    ``base_model.model.<path>.lora_A.weight`` [r, in] and ``base_model.model.<path>.lora_B.weight``
    [out, r], detached copies."""
    # BEGIN SOLUTION
    state = {}
    for name, layer in lora_layers(model).items():
        for part in ("lora_A", "lora_B"):
            weight = getattr(layer, part).weight
            state[f"{PEFT_PREFIX}{name}.{part}.weight"] = weight.detach().clone().contiguous()
    return state
    # END SOLUTION


def adapter_config(model: nn.Module) -> dict:
    """The ``adapter_config.json`` content that peft needs to load this adapter: ``peft_type`` "LORA",
    ``r``, ``lora_alpha``, ``lora_dropout``, ``use_rslora``, ``target_modules`` (the sorted full names of
    the LoRA layers), ``bias`` "none", ``fan_in_fan_out`` False, ``task_type`` None,
    ``base_model_name_or_path`` None, ``inference_mode`` True.

    Raises ``ValueError`` when the model has no LoRA layer or its layers differ in r, alpha, dropout or rsLoRA
    (one config describes one setting).
    """
    # BEGIN SOLUTION
    layers = lora_layers(model)
    settings = {(m.r, m.alpha, m.dropout_p, m.use_rslora) for m in layers.values()}
    if len(settings) != 1:
        raise ValueError(f"one adapter config needs one LoRA setting, the model has {len(settings)}")
    ((r, alpha, dropout, use_rslora),) = settings
    return {
        "peft_type": "LORA",
        "r": r,
        "lora_alpha": alpha,
        "lora_dropout": dropout,
        "use_rslora": use_rslora,
        "target_modules": sorted(layers),
        "bias": "none",
        "fan_in_fan_out": False,
        "task_type": None,
        "base_model_name_or_path": None,
        "inference_mode": True,
    }
    # END SOLUTION


def load_adapter(model: nn.Module, config: dict, state: dict[str, Tensor]) -> list[str]:
    """Load a peft adapter into ``model``: inject LoRA as ``config`` says (its ``target_modules``, ``r``,
    ``lora_alpha``, ``lora_dropout``, ``use_rslora``), then copy ``state`` (peft's names, see
    ``lora_state_dict``) into the LoRA layers.

    Returns the names of the LoRA layers. Raises ``KeyError`` naming a missing or unexpected key, and
    ``ValueError`` naming a tensor of the wrong shape.
    """
    # BEGIN SOLUTION
    inject_lora(
        model,
        list(config["target_modules"]),
        int(config["r"]),
        config["lora_alpha"],
        config.get("lora_dropout", 0.0),
        bool(config.get("use_rslora", False)),
    )
    mine = {
        f"{PEFT_PREFIX}{name}.{part}.weight": getattr(layer, part).weight
        for name, layer in lora_layers(model).items()
        for part in ("lora_A", "lora_B")
    }
    for key in sorted(set(mine) - set(state)):
        raise KeyError(f"the adapter has no tensor {key!r}")
    for key in sorted(set(state) - set(mine)):
        raise KeyError(f"the adapter's tensor {key!r} belongs to no LoRA layer of the model")
    with torch.no_grad():
        for key, param in mine.items():
            if tuple(state[key].shape) != tuple(param.shape):
                got, want = tuple(state[key].shape), tuple(param.shape)
                raise ValueError(f"the adapter's {key!r} is {got}, the model needs {want}")
            param.copy_(state[key])
    return sorted(lora_layers(model))
    # END SOLUTION


def save_adapter(model: nn.Module, folder: str) -> None:
    """Write the adapter where peft looks for it: ``folder/adapter_config.json`` (``adapter_config``) and
    ``folder/adapter_model.safetensors`` (``lora_state_dict``). Creates the folder."""
    # BEGIN SOLUTION
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "adapter_config.json"), "w") as f:
        json.dump(adapter_config(model), f, indent=2)
    save_file(lora_state_dict(model), os.path.join(folder, "adapter_model.safetensors"))
    # END SOLUTION
