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
]
