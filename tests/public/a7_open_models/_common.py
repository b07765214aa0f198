"""Helpers of the a7 public tests (and of the hidden suite): tiny random models of the five families.

Every family is built offline with Hugging Face ``transformers`` (5.x) from a small config (no download),
its weights drawn from the test's seeded generator at a scale where logits are of order one, in eval mode
with eager attention; ``save`` writes it with ``save_pretrained`` (one file, or shards with an index).
Every axis has its own size: V=37, C=24, F=40, H=6, Hkv=2, d=4, 2 layers, so an operation on the wrong
axis cannot pass by accident.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing is ever downloaded: every model is built from a config

import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

from autograder.checks import GradeFailure  # noqa: E402

transformers.logging.set_verbosity_error()

LOGIT_ATOL, LOGIT_RTOL = 1e-4, 1e-4  # float32 logits of order 3; a correct decoder is off by about 1e-6
FAMILIES = ("llama", "mistral", "qwen2", "gemma", "phi3")
_CLASSES = {
    "llama": ("LlamaConfig", "LlamaForCausalLM"),
    "mistral": ("MistralConfig", "MistralForCausalLM"),
    "qwen2": ("Qwen2Config", "Qwen2ForCausalLM"),
    "gemma": ("GemmaConfig", "GemmaForCausalLM"),
    "phi3": ("Phi3Config", "Phi3ForCausalLM"),
}
SIZES = dict(vocab_size=37, hidden_size=24, intermediate_size=40, num_hidden_layers=2, num_attention_heads=6,
             num_key_value_heads=2, head_dim=4, max_position_embeddings=64)  # fmt: skip


def hf_model(rng: torch.Generator, family: str, **overrides):
    """A tiny random HF causal LM of `family` (eager attention, eval mode), its weights from `rng`.

    Mistral gets a sliding window of 3 unless `overrides` say otherwise; Gemma ties its embeddings."""
    config_name, model_name = _CLASSES[family]
    fields = dict(SIZES, rms_norm_eps=1e-6, pad_token_id=0, bos_token_id=None, eos_token_id=None)
    if family == "mistral":
        fields["sliding_window"] = 3
    if family == "gemma":
        fields["hidden_act"] = "gelu_pytorch_tanh"
    fields.update(overrides)
    config = getattr(transformers, config_name)(**fields)
    config._attn_implementation = "eager"
    model = getattr(transformers, model_name)(config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=rng)
            if "norm" in name:  # Gemma stores the scale as an offset from 1
                p.copy_(0.3 * noise if family == "gemma" else 1.0 + 0.2 * noise)
            elif "embed_tokens" in name:
                p.copy_(noise / (math.sqrt(p.shape[1]) if family == "gemma" else 1.0))
            elif name.endswith("bias"):
                p.copy_(0.5 * noise)
            elif name.endswith(("o_proj.weight", "down_proj.weight")):
                p.copy_(2.0 * noise / math.sqrt(p.shape[1]))
            else:
                p.copy_(noise / math.sqrt(p.shape[1]))
    return model.eval()


def describe(hf) -> str:
    c = hf.config
    window = f", sliding window {c.sliding_window}" if getattr(c, "sliding_window", None) else ""
    heads = f"{c.num_attention_heads} heads, {c.num_key_value_heads} KV heads, d={c.head_dim}"
    sizes = f"V={c.vocab_size}, C={c.hidden_size}, {c.num_hidden_layers} layers"
    return f"tiny {c.model_type} ({sizes}, {heads}{window})"


def hf_config(hf) -> dict:
    """The model's ``config.json`` as ``save_pretrained`` writes it."""
    return json.loads(hf.config.to_json_string())


def kit_state_dict(hf) -> dict[str, torch.Tensor]:
    """The HF weights under the decoder's names (no ``model.`` prefix); a tied lm_head is left out."""
    state = {k.removeprefix("model."): v.detach().clone() for k, v in hf.state_dict().items()}
    if hf.config.tie_word_embeddings:
        state.pop("lm_head.weight")
    return state


def student_decoder(sub, hf):
    """The submission's ``architectures.Decoder`` built from the HF config dict and given the HF weights with
    ``load_state_dict(strict=False)``: a tied lm_head must follow the embedding by itself."""
    model = sub.new("architectures.Decoder", hf_config(hf))
    report = model.call("load_state_dict", kit_state_dict(hf), strict=False)
    missing = [k for k in (report[0] if isinstance(report, list) else []) if k != "lm_head.weight"]
    if missing:
        raise GradeFailure(f"{describe(hf)}: your Decoder has no parameters named {missing[:4]}")
    model.call("eval")
    return model


def hf_logits(hf, idx: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return hf(input_ids=idx, use_cache=False).logits


def hf_generate(hf, idx: torch.Tensor, n: int) -> torch.Tensor:
    """HF's greedy generation with its own cache: [B, T0 + n]."""
    with torch.no_grad():
        return hf.generate(idx, attention_mask=torch.ones_like(idx), max_new_tokens=n, min_new_tokens=n,
                           do_sample=False)  # fmt: skip


def save(hf, folder: Path, shards: bool = False) -> Path:
    """``save_pretrained`` into `folder`; with `shards`, small shards and their index file."""
    hf.save_pretrained(folder, max_shard_size="8KB" if shards else "50MB")
    if shards and not (folder / "model.safetensors.index.json").is_file():
        raise RuntimeError("save_pretrained did not shard the model")
    return folder


def checkpoint_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.safetensors"))


def edit_checkpoint(folder: Path, edit) -> None:
    """Apply ``edit(state) -> state`` to the tensors of a single-file checkpoint in place."""
    path = folder / "model.safetensors"
    save_file(edit(load_file(path)), path, metadata={"format": "pt"})
