"""Mutants of the a3 reference: realistic student bugs, each a small textual patch of one reference module.

Each entry is ``(id, module, description, old_snippet, new_snippet)``. ``test_a3_quality.py`` applies the
patch to a copy of ``solutions/a3_attention`` (the old snippet must occur exactly once, so a mutant cannot rot
silently when the reference changes) and asserts that the hidden suite takes points off every mutant.
"""

_TOP_K = """\
    if top_k is not None and top_k < V:
        kth_largest = torch.topk(logits, top_k, dim=-1).values[:, -1:]  # [B, 1]
        logits = logits.masked_fill(logits < kth_largest, float("-inf"))
"""
_TOP_P = """\
    if top_p is not None and top_p < 1:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)  # [B, V], [B, V]
        probs = torch.softmax(sorted_logits, dim=-1)  # [B, V], decreasing along each row
        mass_before = probs.cumsum(dim=-1) - probs  # [B, V]: total probability of the more likely tokens
        drop_sorted = mass_before >= top_p  # the prefix before this token already reaches top_p
        drop_sorted[:, 0] = False  # the most probable token always stays
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)  # back to vocabulary order
        logits = logits.masked_fill(drop, float("-inf"))
"""

MUTANTS = [
    # ---------------------------------------------------------------- attention.py: softmax
    (
        "softmax_no_max",
        "attention.py",
        "softmax without subtracting the maximum (overflows on x + 1000)",
        "e = torch.exp(x - x_max)",
        "e = torch.exp(x)",
    ),
    (
        "softmax_global_max",
        "attention.py",
        "softmax subtracts the maximum of the whole tensor",
        "x_max = x.amax(dim=dim, keepdim=True)",
        "x_max = x.max()",
    ),
    (
        "softmax_sum_last_axis",
        "attention.py",
        "softmax always normalises along the last axis, ignoring dim",
        "return e / e.sum(dim=dim, keepdim=True)",
        "return e / e.sum(dim=-1, keepdim=True)",
    ),
    # ---------------------------------------------------------------- attention.py: causal_attention
    (
        "mask_triu",
        "attention.py",
        "causal mask flipped: triu instead of tril (queries read the future)",
        "dtype=torch.bool, device=q.device).tril()",
        "dtype=torch.bool, device=q.device).triu()",
    ),
    (
        "mask_strict",
        "attention.py",
        "causal mask excludes the diagonal: a position cannot read itself",
        "dtype=torch.bool, device=q.device).tril()",
        "dtype=torch.bool, device=q.device).tril(-1)",
    ),
    (
        "no_scale",
        "attention.py",
        "scores not divided by sqrt(d)",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(d)",
        "scores = q @ k.transpose(-2, -1)",
    ),
    (
        "scale_by_d",
        "attention.py",
        "scores divided by d instead of sqrt(d)",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(d)",
        "scores = q @ k.transpose(-2, -1) / d",
    ),
    (
        "scale_by_sqrt_T",
        "attention.py",
        "scores divided by sqrt(T) (sequence length) instead of sqrt(d)",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(d)",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(T)",
    ),
    (
        "softmax_over_queries",
        "attention.py",
        "attention weights normalised over the query axis (dim=-2)",
        "weights = softmax(scores, dim=-1)",
        "weights = softmax(scores, dim=-2)",
    ),
    (
        "attention_calls_sdpa",
        "attention.py",
        "causal_attention calls the library's SDPA (not allowed)",
        "return weights @ v  # [..., T, d]",
        "return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=keep)",
    ),
    (
        "padding_ignored",
        "attention.py",
        "causal_attention ignores the padding mask",
        "keep = keep & key_is_real  # [B, ..., T, T]",
        "keep = keep  # [B, ..., T, T]",
    ),
    (
        "padding_replaces_causal",
        "attention.py",
        "with a padding mask, the causal mask is dropped",
        "keep = keep & key_is_real  # [B, ..., T, T]",
        "keep = key_is_real  # [B, ..., 1, T]",
    ),
    (
        "padding_on_queries",
        "attention.py",
        "padding mask applied to query rows instead of key columns",
        "key_is_real = attention_mask.to(torch.bool).view(B, *([1] * (q.dim() - 2)), T)",
        "key_is_real = attention_mask.to(torch.bool).view(B, *([1] * (q.dim() - 3)), T, 1)",
    ),
    (
        "padding_mask_4d_only",
        "attention.py",
        "padding mask reshaped for [B, H, T, T] scores only (fails for 3-D or 5-D inputs)",
        "key_is_real = attention_mask.to(torch.bool).view(B, *([1] * (q.dim() - 2)), T)",
        "key_is_real = attention_mask.to(torch.bool).view(B, 1, 1, T)",
    ),
    (
        "cached_mask_256",
        "attention.py",
        "causal mask cut from a fixed 256 x 256 table (sequences longer than 256 break)",
        "keep = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()",
        "keep = torch.ones(256, 256, dtype=torch.bool, device=q.device).tril()[:T, :T]",
    ),
    # ---------------------------------------------------------------- attention.py: MultiHeadAttention
    (
        "heads_wrong_reshape",
        "attention.py",
        "heads split by view(B, H, T, hd) without a transpose",
        "q = q.view(B, T, H, hd).transpose(1, 2)  # [B, H, T, hd]\n"
        "        k = k.view(B, T, H, hd).transpose(1, 2)  # [B, H, T, hd]\n"
        "        v = v.view(B, T, H, hd).transpose(1, 2)  # [B, H, T, hd]",
        "q = q.view(B, H, T, hd)\n        k = k.view(B, H, T, hd)\n        v = v.view(B, H, T, hd)",
    ),
    (
        "heads_merge_no_transpose",
        "attention.py",
        "heads merged by reshape(B, T, C) without transposing back",
        "y = y.transpose(1, 2).reshape(B, T, C)",
        "y = y.reshape(B, T, C)",
    ),
    (
        "qkv_order",
        "attention.py",
        "the fused projection read as [k | q | v] instead of [q | k | v]",
        "q, k, v = self.qkv(x).split(C, dim=-1)",
        "k, q, v = self.qkv(x).split(C, dim=-1)",
    ),
    (
        "mha_drops_mask",
        "attention.py",
        "MultiHeadAttention does not pass attention_mask on",
        "y = causal_attention(q, k, v, attention_mask)",
        "y = causal_attention(q, k, v)",
    ),
    # ---------------------------------------------------------------- model.py: MLP and Block
    (
        "exact_gelu",
        "model.py",
        "exact (erf) GELU instead of GPT-2's tanh approximation",
        'h = F.gelu(self.fc(x), approximate="tanh")',
        "h = F.gelu(self.fc(x))",
    ),
    (
        "post_norm",
        "model.py",
        "post-norm block: LayerNorm after each residual addition",
        "x = x + self.attn(self.ln_1(x), attention_mask)  # [B, T, C]\n"
        "        x = x + self.mlp(self.ln_2(x))  # [B, T, C]",
        "x = self.ln_1(x + self.attn(x, attention_mask))\n        x = self.ln_2(x + self.mlp(x))",
    ),
    (
        "no_residual_mlp",
        "model.py",
        "the MLP sublayer has no residual connection",
        "x = x + self.mlp(self.ln_2(x))  # [B, T, C]",
        "x = self.mlp(self.ln_2(x))  # [B, T, C]",
    ),
    (
        "ln_default_eps",
        "model.py",
        "Block's first LayerNorm ignores config.layer_norm_eps",
        "self.ln_1 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)",
        "self.ln_1 = nn.LayerNorm(config.d_model)",
    ),
    (
        "ln_2_default_eps",
        "model.py",
        "Block's second LayerNorm ignores config.layer_norm_eps",
        "self.ln_2 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)",
        "self.ln_2 = nn.LayerNorm(config.d_model)",
    ),
    (
        "block_reuses_ln_1",
        "model.py",
        "the MLP sublayer reads ln_1 instead of ln_2",
        "x = x + self.mlp(self.ln_2(x))",
        "x = x + self.mlp(self.ln_1(x))",
    ),
    (
        "block_drops_mask",
        "model.py",
        "Block does not pass attention_mask to its attention",
        "x = x + self.attn(self.ln_1(x), attention_mask)",
        "x = x + self.attn(self.ln_1(x))",
    ),
    # ---------------------------------------------------------------- model.py: GPT
    (
        "untied_lm_head",
        "model.py",
        "lm_head not tied to wte (a separate output matrix)",
        "self.lm_head.weight = self.wte.weight  # tied",
        "pass  # tied",
    ),
    (
        "tie_by_copy",
        "model.py",
        "lm_head gets a copy of wte's values instead of sharing the Parameter",
        "self.lm_head.weight = self.wte.weight  # tied",
        "self.lm_head.weight.data = self.wte.weight.data.clone()  # tied",
    ),
    (
        "no_init_weights",
        "model.py",
        "GPT skips self.apply(self._init_weights): PyTorch's default init, N(0, 1) embeddings",
        "self.apply(self._init_weights)\n        # END SOLUTION",
        "pass\n        # END SOLUTION",
    ),
    (
        "ln_f_default_eps",
        "model.py",
        "the final LayerNorm ln_f ignores config.layer_norm_eps",
        "self.ln_f = nn.LayerNorm(C, eps=config.layer_norm_eps)",
        "self.ln_f = nn.LayerNorm(C)",
    ),
    (
        "gpt_always_raises",
        "model.py",
        "GPT.forward raises ValueError on every input (earns nothing, not even the too-long-input test)",
        "if T > self.config.block_size:",
        "if True:",
    ),
    (
        "no_positions",
        "model.py",
        "position embeddings not added",
        "x = self.wte(idx) + self.wpe(pos)",
        "x = self.wte(idx)",
    ),
    (
        "positions_off_by_one",
        "model.py",
        "positions counted from 1 instead of 0",
        "pos = torch.arange(T, device=idx.device)",
        "pos = torch.arange(1, T + 1, device=idx.device)",
    ),
    (
        "positions_from_token_ids",
        "model.py",
        "position embeddings looked up with the token ids",
        "x = self.wte(idx) + self.wpe(pos)",
        "x = self.wte(idx) + self.wpe(idx)",
    ),
    (
        "no_final_norm",
        "model.py",
        "the final LayerNorm ln_f is skipped",
        "x = self.ln_f(x)  # [B, T, C]",
        "pass",
    ),
    (
        "gpt_drops_mask",
        "model.py",
        "GPT does not pass attention_mask to its blocks",
        "x = block(x, attention_mask)  # [B, T, C]",
        "x = block(x)  # [B, T, C]",
    ),
    (
        "no_length_check",
        "model.py",
        "GPT does not raise ValueError when T > block_size",
        'raise ValueError(f"sequence length {T} exceeds block_size {self.config.block_size}")',
        "pass",
    ),
    # ---------------------------------------------------------------- model.py: next_token_loss
    (
        "loss_no_shift",
        "model.py",
        "loss compares position t with label t (no shift)",
        "pred = logits[:, :-1, :].reshape(-1, V)",
        "pred = logits[:, 1:, :].reshape(-1, V)",
    ),
    (
        "loss_shift_backwards",
        "model.py",
        "loss shifted the wrong way (logits 1.., labels ..T-2)",
        "pred = logits[:, :-1, :].reshape(-1, V)  # [B*(T-1), V]: positions 0..T-2 predict ...\n"
        "    target = labels[:, 1:].reshape(-1)",
        "pred = logits[:, 1:, :].reshape(-1, V)\n    target = labels[:, :-1].reshape(-1)",
    ),
    (
        "loss_double_shift",
        "model.py",
        "labels shifted twice (logits t scored against label t + 2)",
        "pred = logits[:, :-1, :].reshape(-1, V)  # [B*(T-1), V]: positions 0..T-2 predict ...\n"
        "    target = labels[:, 1:].reshape(-1)",
        "pred = logits[:, :-2, :].reshape(-1, V)\n    target = labels[:, 2:].reshape(-1)",
    ),
    (
        "loss_mean_over_all",
        "model.py",
        "loss averaged over all positions, ignored ones included",
        "return F.cross_entropy(pred, target, ignore_index=ignore_index)",
        'return F.cross_entropy(pred, target, ignore_index=ignore_index, reduction="sum") / target.numel()',
    ),
    (
        "loss_hardcoded_ignore",
        "model.py",
        "loss ignores its ignore_index argument (always -100)",
        "return F.cross_entropy(pred, target, ignore_index=ignore_index)",
        "return F.cross_entropy(pred, target, ignore_index=-100)",
    ),
    (
        "loss_log_of_softmax",
        "model.py",
        "loss as log(softmax(x)) (overflows to inf for large logits)",
        "return F.cross_entropy(pred, target, ignore_index=ignore_index)",
        "keep = target != ignore_index\n"
        "    logp = torch.log(torch.exp(pred) / torch.exp(pred).sum(-1, keepdim=True))\n"
        "    return -logp[keep].gather(1, target[keep][:, None]).mean()",
    ),
    # ---------------------------------------------------------------- sampling.py
    (
        "top_k_drops_kth",
        "sampling.py",
        "top-k keeps only k - 1 tokens (<= instead of <)",
        "logits.masked_fill(logits < kth_largest",
        "logits.masked_fill(logits <= kth_largest",
    ),
    (
        "top_p_one_too_few",
        "sampling.py",
        "top-p drops the token that crosses top_p (keeps one token too few)",
        "mass_before = probs.cumsum(dim=-1) - probs",
        "mass_before = probs.cumsum(dim=-1)",
    ),
    (
        "top_p_before_top_k",
        "sampling.py",
        "top-p applied before top-k (the two filter blocks swapped)",
        _TOP_K + "\n" + _TOP_P,
        _TOP_P + "\n" + _TOP_K,
    ),
    (
        "temperature_after_filter",
        "sampling.py",
        "temperature applied after filtering",
        "probs = torch.softmax(filter_logits(logits, temperature, top_k, top_p), dim=-1)",
        "probs = torch.softmax(filter_logits(logits, 1.0, top_k, top_p) / temperature, dim=-1)",
    ),
    (
        "temperature_ignored",
        "sampling.py",
        "sample_next ignores the temperature when sampling",
        "probs = torch.softmax(filter_logits(logits, temperature, top_k, top_p), dim=-1)",
        "probs = torch.softmax(filter_logits(logits, 1.0, top_k, top_p), dim=-1)",
    ),
    (
        "argmax_when_sampling",
        "sampling.py",
        "sample_next takes the argmax even when temperature > 0",
        "return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)",
        "return probs.argmax(dim=-1)",
    ),
    (
        "generator_ignored",
        "sampling.py",
        "sample_next ignores its seed/generator (torch's global generator)",
        "return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)",
        "return torch.multinomial(probs, num_samples=1).squeeze(-1)",
    ),
    (
        "sample_squeeze_all",
        "sampling.py",
        "sample_next squeezes every axis: a batch of one gives a 0-d tensor instead of shape [1]",
        "return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)",
        "return torch.multinomial(probs, num_samples=1, generator=generator).squeeze()",
    ),
    (
        "generate_reseeds_each_step",
        "sampling.py",
        "generate re-seeds a generator at every step",
        "next_id = sample_next(logits, temperature, top_k, top_p, generator=generator)",
        "next_id = sample_next(logits, temperature, top_k, top_p, seed=seed)",
    ),
    (
        "generate_no_crop",
        "sampling.py",
        "generate does not crop the context to block_size",
        "context = idx[:, -block_size:]",
        "context = idx",
    ),
    (
        "generate_crop_oldest",
        "sampling.py",
        "generate keeps the first block_size tokens instead of the last",
        "context = idx[:, -block_size:]",
        "context = idx[:, :block_size]",
    ),
    (
        "generate_crop_off_by_one",
        "sampling.py",
        "generate crops the context to block_size - 1 tokens",
        "context = idx[:, -block_size:]",
        "context = idx[:, -(block_size - 1):]",
    ),
    (
        "generate_first_position",
        "sampling.py",
        "generate reads the first position's logits",
        "logits = model(context)[:, -1, :]",
        "logits = model(context)[:, 0, :]",
    ),
    # ---------------------------------------------------------------- seen only by the worker-side probes
    (
        "softmax_in_place",
        "attention.py",
        "softmax subtracts the maximum in place, changing the caller's tensor",
        "e = torch.exp(x - x_max)",
        "x -= x_max  # in place\n    e = torch.exp(x)",
    ),
    (
        "attention_weights_detached",
        "attention.py",
        "causal_attention detaches the attention weights: no gradient reaches q and k",
        "weights = softmax(scores, dim=-1)",
        "weights = softmax(scores, dim=-1).detach()",
    ),
    (
        "mask_on_cpu",
        "attention.py",
        "causal_attention builds its causal mask on the default device, not the inputs'",
        "torch.ones(T, T, dtype=torch.bool, device=q.device)",
        "torch.ones(T, T, dtype=torch.bool)",
    ),
    (
        "positions_no_grad",
        "model.py",
        "GPT looks up its position embeddings under torch.no_grad(): wpe never learns",
        "x = self.wte(idx) + self.wpe(pos)",
        "with torch.no_grad():\n            pos_emb = self.wpe(pos)\n        x = self.wte(idx) + pos_emb",
    ),
    (
        "positions_on_cpu",
        "model.py",
        "GPT makes its position ids on the default device, not idx's",
        "pos = torch.arange(T, device=idx.device)",
        "pos = torch.arange(T)",
    ),
    (
        "filter_in_place",
        "sampling.py",
        "filter_logits divides the caller's logits in place",
        "logits = logits / temperature  # [B, V], a new tensor",
        "logits = logits.div_(temperature)  # [B, V]",
    ),
    (
        "generate_with_grad",
        "sampling.py",
        "generate runs the model with gradients enabled (no torch.no_grad())",
        "    with torch.no_grad():\n",
        "    if True:\n",
    ),
    (
        "generate_grad_off_for_good",
        "sampling.py",
        "generate switches gradients off and never restores the caller's grad mode",
        "    with torch.no_grad():\n",
        "    torch.set_grad_enabled(False)\n    if True:\n",
    ),
    (
        "generate_sets_eval",
        "sampling.py",
        "generate puts the model in eval mode and leaves it there",
        "    block_size = model.config.block_size\n",
        "    model.eval()\n    block_size = model.config.block_size\n",
    ),
    (
        "seed_zero_ignored",
        "sampling.py",
        "sample_next treats seed=0 as no seed (torch's global generator)",
        "    if seed is not None:\n        if generator is not None:",
        "    if seed:\n        if generator is not None:",
    ),
    (
        "seed_fixed",
        "sampling.py",
        "sample_next seeds its generator with a constant: draws do not change with the seed",
        "generator = torch.Generator(device=logits.device).manual_seed(seed)",
        "generator = torch.Generator(device=logits.device).manual_seed(1234)",
    ),
    (
        "sample_next_reseeds_global",
        "sampling.py",
        "sample_next seeds and draws from torch's global generator instead of a generator of its own",
        "generator = torch.Generator(device=logits.device).manual_seed(seed)",
        "generator = torch.manual_seed(seed)",
    ),
    (
        "generate_reseeds_global",
        "sampling.py",
        "generate seeds and draws from torch's global generator instead of a generator of its own",
        "generator = torch.Generator(device=idx.device).manual_seed(seed)",
        "generator = torch.manual_seed(seed)",
    ),
    (
        "generate_seed_fixed",
        "sampling.py",
        "generate seeds its generator with a constant: continuations do not change with the seed",
        "generator = torch.Generator(device=idx.device).manual_seed(seed)",
        "generator = torch.Generator(device=idx.device).manual_seed(1234)",
    ),
]

# Submissions that evade the forbidden-call rule (the handout, section 3): the reference with patches in one
# or more modules, ``(id, description, [(module, old, new), ...])``. Each must lose every point of Problems 2
# and 3 (test_attention.py, test_mha.py) and keep all the others.
_SDPA_RETURN = "    return weights @ v  # [..., T, d]\n"
EVASIONS = [
    (
        "sdpa_by_built_name",
        "causal_attention calls the library attention through getattr with a name built at run time",
        [
            (
                "attention.py",
                _SDPA_RETURN,
                '    fused = getattr(torch.nn.functional, "scaled_dot_" + "product_attention")\n'
                "    return fused(q, k, v, attn_mask=keep)\n",
            )
        ],
    ),
    (
        "sdpa_in_helper_module",
        "causal_attention calls a helper defined in sampling.py that calls the library attention",
        [
            ("attention.py", "import math\n", "import math\n\nfrom sampling import _fused_attention\n"),
            ("attention.py", _SDPA_RETURN, "    return _fused_attention(q, k, v, keep)\n"),
            (
                "sampling.py",
                "import torch.nn as nn\n",
                "import torch.nn as nn\nimport torch.nn.functional as F\n\n\n"
                "def _fused_attention(q, k, v, keep):\n"
                "    return F.scaled_dot_product_attention(q, k, v, attn_mask=keep)\n",
            ),
        ],
    ),
]

# Notebook submissions (the handout, section 6): the kit's template notebook filled in with the reference,
# patched as the evasion named (or not at all), plus extra code cells a student might add,
# ``(id, description, evasion id or None, [extra cell source, ...])``. Each must lose every point of
# Problems 2 and 3 and keep all the others, as a file submission does.
NOTEBOOK_EVASIONS = [
    (
        "notebook_library_helper",
        "a notebook with one more cell of definitions: a helper that compares with the library attention, "
        "never called by the graded code (the rule reads every graded cell)",
        None,
        [
            "import torch.nn.functional as F\n\n\ndef compare_with_library(q, k, v):\n"
            "    return F.scaled_dot_product_attention(q, k, v, is_causal=True)\n"
        ],
    ),
    (
        "notebook_sdpa_by_built_name",
        "a notebook whose causal_attention calls the library attention through getattr with a built name",
        "sdpa_by_built_name",
        [],
    ),
]
# A notebook that keeps the comparison in an exploration cell (one that runs code, not only definitions):
# such a cell is left out when grading (the handout, section 6), so the notebook scores full marks.
NOTEBOOK_EXPLORATION_CELL = (
    "import torch\nimport torch.nn.functional as F\n\nq = k = v = torch.randn(1, 2, 5, 4)\n"
    "library = F.scaled_dot_product_attention(q, k, v, is_causal=True)\n"
    "print((causal_attention(q, k, v) - library).abs().max())\n"
)

# Mutants of the mutation tool (tests/quality/mutation.py) that no test can kill, because they behave exactly
# as the reference on every input the handout allows; keyed by the tool's description of the mutant.
_LOGITS_2D = "filter_logits and sample_next take logits of shape [B, V] (pinned), so dim 1 is dim -1"
_SEED_AND_GENERATOR = (
    "the handout leaves seed and generator given together unspecified (the graders never pass both), so "
    "raising ValueError then is a choice, not a requirement"
)
_CPU_GENERATOR = (
    "grading runs on the CPU, where a generator made without a device is the one of the inputs' device (and "
    "nothing can be drawn on the meta device, so no probe can tell them apart)"
)
EQUIVALENT = {
    "sampling.py filter_logits | V = logits.shape[-1] | `-1` -> `1`": _LOGITS_2D,
    "sampling.py filter_logits | kth_largest = torch.topk(logits, top_k, dim=-1).values[:, -1:] | "
    "`-1` -> `1`": _LOGITS_2D,
    "sampling.py filter_logits | kth_largest = torch.topk(logits, top_k, dim=-1).values[:, -1:] | "
    "`torch.topk(logits, top_k, dim=-1)` -> `torch.topk(logits, top_k)`": "torch.topk's default dim is -1",
    "sampling.py filter_logits | sorted_logits, order = torch.sort(logits, dim=-1, descending=True) | "
    "`-1` -> `1`": _LOGITS_2D,
    "sampling.py filter_logits | sorted_logits, order = torch.sort(logits, dim=-1, descending=True) | "
    "`torch.sort(logits, dim=-1, descending=True)` -> `torch.sort(logits, descending=True)`": (
        "torch.sort's default dim is -1"
    ),
    "sampling.py filter_logits | probs = torch.softmax(sorted_logits, dim=-1) | `-1` -> `1`": _LOGITS_2D,
    "sampling.py filter_logits | mass_before = probs.cumsum(dim=-1) - probs | `-1` -> `1`": _LOGITS_2D,
    "sampling.py sample_next | probs = torch.softmax(filter_logits(logits, temperature, top_k, top_p), "
    "dim=-1) | `-1` -> `1`": _LOGITS_2D,
    "sampling.py sample_next | return logits.argmax(dim=-1) | `-1` -> `1`": _LOGITS_2D,
    "sampling.py sample_next | return torch.multinomial(probs, num_samples=1, generator=generator)"
    ".squeeze(-1) | `-1` -> `1`": (
        "multinomial with num_samples=1 returns [B, 1]: squeezing axis 1 is squeezing axis -1"
    ),
    "sampling.py filter_logits | if top_k is not None and top_k < V: | `top_k < V` -> `top_k <= V`": (
        "with top_k == V the k-th largest logit is the row's minimum, and no logit is below it: nothing is "
        "removed, as when the block is skipped"
    ),
    "sampling.py filter_logits | drop_sorted[:, 0] = False | statement replaced by `pass`": (
        "the mass before the first sorted token is cumsum - p = p - p = 0 exactly, and top_p > 0 is enforced "
        "by the ValueError above, so the first token is never dropped anyway"
    ),
    "sampling.py sample_next | if generator is not None: | statement replaced by `pass`": _SEED_AND_GENERATOR,
    "sampling.py sample_next | raise ValueError('give seed or generator, not both') | statement replaced by "
    "`pass`": _SEED_AND_GENERATOR,
    "sampling.py sample_next | generator = torch.Generator(device=logits.device).manual_seed(seed) | "
    "`torch.Generator(device=logits.device)` -> `torch.Generator()`": _CPU_GENERATOR,
    "sampling.py generate | generator = torch.Generator(device=idx.device).manual_seed(seed) | "
    "`torch.Generator(device=idx.device)` -> `torch.Generator()`": _CPU_GENERATOR,
    "sampling.py filter_logits | drop_sorted = mass_before >= top_p | `mass_before >= top_p` -> "
    "`mass_before > top_p`": (
        "the two differ only for a token whose mass before it equals top_p exactly, a tie that float32 "
        "rounding of the softmax and the cumulative sum decides either way (Hugging Face's top-p rounds it "
        "differently again); the handout leaves such ties unspecified and the tests keep every cumulative "
        "probability 1e-3 away from top_p"
    ),
    "sampling.py filter_logits | drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted) | "
    "`-1` -> `1`": _LOGITS_2D,
    "attention.py causal_attention | weights = softmax(scores, dim=-1) | `softmax(scores, dim=-1)` -> "
    "`softmax(scores)`": "softmax's default dim is -1 (its signature is given: softmax(x, dim=-1))",
    "sampling.py filter_logits | drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted) | "
    "`torch.zeros_like(drop_sorted)` -> `drop_sorted`": (
        "order is a permutation of each row, so scatter overwrites every entry: the tensor it starts from "
        "does not matter"
    ),
}
