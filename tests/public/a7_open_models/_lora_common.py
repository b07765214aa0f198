"""Helpers of the LoRA tests (public and hidden): the models they adapt and peft as the oracle.

Two models, each built twice with the same weights: a trusted copy here and a copy in the submission's
process (by handle), into which the submission injects its LoRA.

- a toy ``nn.Sequential`` of the tests' own (``toy_pair``), whose names test peft's suffix matching:
  ``embed_proj`` (5 -> 7), ``act``, ``block`` (``q_proj`` 7 -> 6, ``qq_proj`` 6 -> 6, ``act``), ``head``
  (6 -> 3);
- a tiny random Hugging Face LLaMA built offline from a config (``llama_pair``): 2 layers, d_model 24,
  3 query heads sharing 1 key/value head (q_proj 24 -> 24, k_proj and v_proj 24 -> 8, o_proj 24 -> 24),
  MLP 24 -> 40 -> 24, vocabulary 37.

peft (``peft.LoraConfig``, ``get_peft_model``, ``PeftModel.from_pretrained``) is the oracle: an adapter the
submission gives must load into peft and give the same logits, and a peft-made adapter must load into the
submission's model. Tensors and the config travel on the wire as plain data; the adapter files are written
here, on the trusted side.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing is ever downloaded: every model is built from a config

import torch  # noqa: E402
from torch import nn  # noqa: E402

from autograder.checks import expect, expect_close  # noqa: E402

LLAMA_CONFIG = dict(
    vocab_size=37,
    hidden_size=24,
    intermediate_size=40,
    num_hidden_layers=2,
    num_attention_heads=3,
    num_key_value_heads=1,
    max_position_embeddings=64,
    tie_word_embeddings=False,
)
# (in, out) of the LLaMA's projections by name
LLAMA_SHAPES = {
    "q_proj": (24, 24),
    "k_proj": (24, 8),
    "v_proj": (24, 8),
    "o_proj": (24, 24),
    "gate_proj": (24, 40),
    "up_proj": (24, 40),
    "down_proj": (40, 24),
}
LOGITS_ATOL = (
    1e-4  # logits of order one after two float32 layers; peft and the submission add in other orders
)

# The toy's layers: name -> (in, out), in forward order; "act" entries are nn.Tanh.
TOY_LAYERS = {"embed_proj": (5, 7), "block.q_proj": (7, 6), "block.qq_proj": (6, 6), "head": (6, 3)}


def _quiet_transformers() -> None:
    import transformers

    transformers.logging.set_verbosity_error()


# ---------------------------------------------------------------------------------------------- models


def _toy_local() -> nn.Sequential:
    block = nn.Sequential()
    block.add_module("q_proj", nn.Linear(7, 6))
    block.add_module("qq_proj", nn.Linear(6, 6))
    block.add_module("act", nn.Tanh())
    toy = nn.Sequential()
    toy.add_module("embed_proj", nn.Linear(5, 7))
    toy.add_module("act", nn.Tanh())
    toy.add_module("block", block)
    toy.add_module("head", nn.Linear(6, 3))
    return toy


def toy_pair(sub, rng: torch.Generator):
    """(trusted toy, the submission's copy by handle) with the same random weights, in eval mode."""
    local = _toy_local()
    with torch.no_grad():
        for p in local.parameters():
            p.copy_(torch.randn(p.shape, generator=rng) * 0.5)
    local.eval()
    block = sub.new("torch.nn.Sequential")
    block.call("add_module", "q_proj", sub.new("torch.nn.Linear", 7, 6))
    block.call("add_module", "qq_proj", sub.new("torch.nn.Linear", 6, 6))
    block.call("add_module", "act", sub.new("torch.nn.Tanh"))
    remote = sub.new("torch.nn.Sequential")
    remote.call("add_module", "embed_proj", sub.new("torch.nn.Linear", 5, 7))
    remote.call("add_module", "act", sub.new("torch.nn.Tanh"))
    remote.call("add_module", "block", block)
    remote.call("add_module", "head", sub.new("torch.nn.Linear", 6, 3))
    remote.call("load_state_dict", {k: v.clone() for k, v in local.state_dict().items()})
    remote.call("eval")
    return local, remote


def llama_pair(sub, seed: int):
    """(trusted tiny random ``LlamaForCausalLM``, the submission's copy by handle), same weights, eval mode.

    Weights are drawn larger than the default init (N(0, 0.3)), so that logits differ clearly by input."""
    from transformers import LlamaConfig, LlamaForCausalLM

    _quiet_transformers()
    torch.manual_seed(seed)
    local = LlamaForCausalLM(LlamaConfig(**LLAMA_CONFIG)).eval()
    with torch.no_grad():
        for p in local.parameters():
            p.normal_(0.0, 0.3)
    remote = sub.new("transformers.LlamaForCausalLM", sub.new("transformers.LlamaConfig", **LLAMA_CONFIG))
    remote.call("load_state_dict", {k: v.clone() for k, v in local.state_dict().items()})
    remote.call("eval")
    return local, remote


def linear_pair(sub, rng: torch.Generator, d_in: int, d_out: int):
    """(trusted ``nn.Linear(d_in, d_out)``, the submission's copy), same random weights."""
    local = nn.Linear(d_in, d_out)
    with torch.no_grad():
        for p in local.parameters():
            p.copy_(torch.randn(p.shape, generator=rng) * 0.5)
    remote = sub.new("torch.nn.Linear", d_in, d_out)
    remote.call("load_state_dict", {k: v.clone() for k, v in local.state_dict().items()})
    return local, remote


def logits(model, input_ids: torch.Tensor) -> torch.Tensor:
    """The logits of a trusted Hugging Face (or peft) model, [B, T, V], without gradients."""
    with torch.no_grad():
        return model(input_ids).logits


def remote_logits(remote, input_ids: torch.Tensor):
    """The logits of the submission's copy of the LLaMA (whatever it made of the model), as sent back."""
    out = remote.call("forward", input_ids, use_cache=False)
    return out.get("logits") if isinstance(out, dict) else getattr(out, "logits", out)


# ------------------------------------------------------------------------------------------ peft oracle


def peft_model(local, target_modules: list[str], r: int, alpha: float, rng: torch.Generator, **options):
    """``peft.get_peft_model`` on a copy of ``local`` with random A and B (B is zero at peft's init, which
    would make every adapter look the same), in eval mode."""
    import peft

    config = peft.LoraConfig(r=r, lora_alpha=alpha, target_modules=target_modules, **options)
    model = peft.get_peft_model(copy.deepcopy(local), config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name:
                p.copy_(torch.randn(p.shape, generator=rng) * 0.3)
    return model.eval()


def peft_adapter(model) -> tuple[dict, dict[str, torch.Tensor]]:
    """(adapter_config as plain JSON data, the state dict under peft's saved names) of a peft model."""
    import peft

    config = json.loads(json.dumps(model.peft_config["default"].to_dict(), default=sorted))
    state = {k: v.detach().clone() for k, v in peft.get_peft_model_state_dict(model).items()}
    return config, state


def expect_plain_adapter(config, state, what: str) -> None:
    """The config is a JSON-able dict and the state a dict of tensors by string keys."""
    expect(isinstance(config, dict), f"{what}: adapter_config should be a dict, got {type(config).__name__}")
    try:
        json.dumps(config)
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"{what}: adapter_config cannot be written as JSON ({exc})") from None
    expect(
        isinstance(state, dict) and all(isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()),
        f"{what}: the adapter state should be a dict of tensors by name",
    )


def load_in_peft(local, config: dict, state: dict[str, torch.Tensor], what: str):
    """Write config and state as peft's two files and load them with ``PeftModel.from_pretrained`` on a copy
    of ``local``; a load that fails or that leaves an adapter tensor unloaded fails the test."""
    import peft
    from safetensors.torch import save_file

    expect_plain_adapter(config, state, what)
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "adapter_config.json"), "w") as f:
            json.dump(config, f)
        save_file(
            {k: v.contiguous() for k, v in state.items()}, os.path.join(folder, "adapter_model.safetensors")
        )
        try:
            model = peft.PeftModel.from_pretrained(copy.deepcopy(local), folder).eval()
        except Exception as exc:  # noqa: BLE001 - peft failing to load is the adapter's fault
            raise AssertionError(
                f"{what}: peft.PeftModel.from_pretrained failed: {type(exc).__name__}: {exc}"
            ) from None
    loaded = set(peft.get_peft_model_state_dict(model))
    expect(
        loaded == set(state),
        f"{what}: peft's model has the adapter tensors {sorted(loaded - set(state))[:3]} that the adapter "
        f"lacks, or the adapter has {sorted(set(state) - loaded)[:3]} that peft does not use",
    )
    return model


def expect_same_logits(got, want: torch.Tensor, what: str) -> None:
    expect_close(got, want, atol=LOGITS_ATOL, what=what)
