"""Helpers of the a6 tests: handing the shipped models and test objects to your code, and a tiny HF model.

Like every test, the test files reach your code only through the ``sub`` fixture, and only plain data crosses
to your process: the shipped checkpoints are read here and sent as a config and a state dict
(``tinylm.backend_from_tensors``), examples and templates are built in your process by the given classes
(``tasks.Example``, ``prompts.PromptTemplate``) and travel as handles. The tiny Hugging Face model of the
backend tests is built in your process from a config (random weights, no download), saved with
``save_pretrained`` into your process's own folder, and its weights are copied back here so that
``transformers``' own ``generate`` can serve as the oracle. The hidden suite uses these same helpers.
"""

from __future__ import annotations

import json
import os
from functools import cache

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing is ever downloaded: every model is built from a config

import torch  # noqa: E402

from autograder.course import kit_root  # noqa: E402

MODELS = kit_root() / "assignments" / "a6_prompting" / "models"


@cache
def checkpoint(name: str) -> tuple[dict, dict[str, torch.Tensor]]:
    """(config fields, state dict) of a shipped model ("icl" or "arith")."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = MODELS / f"{name}.safetensors"
    with safe_open(str(path), framework="pt") as f:
        config = json.loads(f.metadata()["config"])
    return config, load_file(str(path))


def remote_model(sub, name: str):
    """A handle to a ``tinylm.TinyLMBackend`` of the shipped model ``name`` in the submission's process."""
    config, tensors = checkpoint(name)
    return sub.call("tinylm.backend_from_tensors", config, tensors)


def remote_examples(sub, pairs: list[tuple[str, str]]) -> list:
    """Handles to ``tasks.Example(input, target)`` objects, one per pair."""
    return [sub.new("tasks.Example", i, t) for i, t in pairs]


def remote_template(sub, fields: dict):
    """A handle to ``prompts.PromptTemplate(**fields)``."""
    return sub.new("prompts.PromptTemplate", **fields)


def pairs_of(sub, examples) -> list[tuple[str, str]]:
    """The (input, target) pairs of a list of example handles, read in the submission's process."""
    return [tuple(p) for p in sub.call("tasks.as_pairs", examples)]


HF_CONFIG = dict(
    vocab_size=384,  # ByT5's byte vocabulary: 3 special tokens, 256 bytes, 125 extra ids
    hidden_size=24,
    intermediate_size=40,
    num_hidden_layers=2,
    num_attention_heads=3,
    num_key_value_heads=1,
    max_position_embeddings=96,
    pad_token_id=0,
    eos_token_id=1,
    bos_token_id=None,
    tie_word_embeddings=False,
)


def tiny_hf(sub, seed: int, folder: str = "tiny_hf", eos_bias: float = 0.0):
    """Build a tiny random Llama and a byte tokenizer in the submission's process and save them in ``folder``
    (relative: the process's own directory). Returns (the trusted copy of the model, its tokenizer).

    ``eos_bias`` is added to the output bias of the eos token in both copies (so that rows end early)."""
    from transformers import ByT5Tokenizer

    local = tiny_hf_local(seed, eos_bias)
    cfg = sub.new("transformers.LlamaConfig", **HF_CONFIG)
    remote = sub.new("transformers.LlamaForCausalLM", cfg)
    remote.call("load_state_dict", {k: v.clone() for k, v in local.state_dict().items()})
    remote.call("save_pretrained", folder)
    sub.new("transformers.ByT5Tokenizer").call("save_pretrained", folder)
    return local, ByT5Tokenizer()


def tiny_hf_local(seed: int, eos_bias: float = 0.0):
    """The trusted copy of ``tiny_hf``'s model, built in this process only."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    local = LlamaForCausalLM(LlamaConfig(**HF_CONFIG)).eval()
    with torch.no_grad():
        for p in local.parameters():  # larger weights than the default init, so that logits differ clearly
            p.normal_(0.0, 0.3)
        local.lm_head.weight[1] += eos_bias / 3.0
    return local


def eos_matters(model, tokenizer, prompts: list[str], max_new_tokens: int) -> bool:
    """Whether greedy decoding that ends rows at eos gives other texts than decoding that runs on past it
    (dropping the eos tokens): after eos a random model may write only more eos or special tokens, which
    decoding hides, and then a generator that never stops at eos cannot be told apart."""
    with torch.no_grad():
        for prompt in prompts:
            ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
            for _ in range(max_new_tokens):
                nxt = model(input_ids=ids).logits[:, -1].argmax(-1, keepdim=True)
                ids = torch.cat((ids, nxt), dim=1)
            row = ids[0, -max_new_tokens:].tolist()
            ended = row[: row.index(1)] if 1 in row else row
            ran_on = [t for t in row if t != 1]
            skip = dict(skip_special_tokens=True)
            if tokenizer.decode(ended, **skip) != tokenizer.decode(ran_on, **skip):
                return True
    return False


def hf_reference_texts(model, tokenizer, prompts: list[str], max_new_tokens: int) -> list[str]:
    """``transformers``' greedy ``generate`` on the left-padded batch, decoded the pinned way (no stop)."""
    enc = tokenizer(prompts, add_special_tokens=False, padding=True, return_tensors="pt", padding_side="left")
    with torch.no_grad():
        out = model.generate(
            **enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=0, eos_token_id=1
        )
    new = out[:, enc["input_ids"].shape[1] :]
    texts = []
    for row in new.tolist():
        row = row[: row.index(1)] if 1 in row else row  # a row ends at its first eos
        texts.append(tokenizer.decode(row, skip_special_tokens=True))
    return texts


def random_tiny(seed: int) -> tuple[dict, dict[str, torch.Tensor]]:
    """(config, state dict) of a tiny untrained TinyLM with weights large enough that sampling varies: it
    writes random characters, digits among them, which is all the sampling tests need."""
    config = dict(d_model=24, n_layers=1, n_heads=2, max_len=96, rope_base=10000.0)
    g = torch.Generator().manual_seed(seed)
    shapes = {
        "wte.weight": (74, 24),
        "blocks.0.ln_1.weight": (24,),
        "blocks.0.ln_1.bias": (24,),
        "blocks.0.attn.qkv.weight": (72, 24),
        "blocks.0.attn.qkv.bias": (72,),
        "blocks.0.attn.proj.weight": (24, 24),
        "blocks.0.attn.proj.bias": (24,),
        "blocks.0.ln_2.weight": (24,),
        "blocks.0.ln_2.bias": (24,),
        "blocks.0.fc.weight": (96, 24),
        "blocks.0.fc.bias": (96,),
        "blocks.0.out.weight": (24, 96),
        "blocks.0.out.bias": (24,),
        "ln_f.weight": (24,),
        "ln_f.bias": (24,),
    }
    tensors = {k: 0.5 * torch.randn(s, generator=g) for k, s in shapes.items()}
    for k in tensors:
        if k.endswith("ln_1.weight") or k.endswith("ln_2.weight") or k == "ln_f.weight":
            tensors[k] = tensors[k] + 1.0
    return config, tensors
