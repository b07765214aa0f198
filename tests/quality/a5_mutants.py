"""Mutants of the a5 reference: realistic student bugs, each a small textual patch of one reference module.

Each entry is ``(id, module, description, old_snippet, new_snippet)``. ``test_a5_quality.py`` applies the
patch to a copy of ``solutions/a5_moe`` (the old snippet must occur exactly once, so a mutant cannot rot
silently when the reference changes) and asserts that the hidden suite takes points off every mutant.
"""

MUTANTS = [
    # ---------------------------------------------------------------- router.py
    (
        "gates_not_renormalised",
        "router.py",
        "gates left as the full softmax over E, not renormalised over the chosen k",
        "gates = top_probs / top_probs.sum(dim=-1, keepdim=True)",
        "gates = top_probs",
    ),
    (
        "topk_random_ties",
        "router.py",
        "top-k on the probabilities with ties broken at random (a tiny random jitter)",
        "probs = torch.softmax(logits, dim=-1)  # [N, E]\n    # a stable",
        "probs = torch.softmax(logits, dim=-1)  # [N, E]\n    probs = probs + 1e-7 * torch.rand_like(probs)\n"
        "    # a stable",
    ),
    (
        "topk_ties_upper_index",
        "router.py",
        "ties broken towards the higher expert index (descending sort of the reversed experts)",
        "top_probs, experts = torch.sort(probs, dim=-1, descending=True, stable=True)",
        "top_probs, experts = torch.sort(probs.flip(-1), dim=-1, descending=True, stable=True)\n"
        "    experts = probs.shape[-1] - 1 - experts",
    ),
    (
        "topk_ascending",
        "router.py",
        "the k smallest probabilities chosen (ascending sort)",
        "top_probs, experts = torch.sort(probs, dim=-1, descending=True, stable=True)",
        "top_probs, experts = torch.sort(probs, dim=-1, descending=False, stable=True)",
    ),
    (
        "switch_gate_renormalised",
        "router.py",
        "Switch gate renormalised to 1 (the top-1 gate becomes constant)",
        "gate, expert = probs.max(dim=-1)  # max",
        "gate, expert = probs.max(dim=-1)\n    gate = gate / gate  # max",
    ),
    (
        "noise_not_softplus",
        "router.py",
        "noise scaled by x @ w_noise without the softplus",
        "logits = logits + noise * F.softplus(x @ w_noise)",
        "logits = logits + noise * (x @ w_noise)",
    ),
    (
        "noise_global_generator",
        "router.py",
        "noise drawn from the global generator instead of the seeded one",
        "noise = torch.randn(logits.shape, generator=generator, dtype=x.dtype)",
        "noise = torch.randn(logits.shape, dtype=x.dtype)",
    ),
    # ---------------------------------------------------------------- moe.py
    (
        "capacity_per_batch",
        "moe.py",
        "capacity computed for the whole batch instead of per expert (no division by E)",
        "return math.ceil(n_tokens * k * capacity_factor / n_experts)",
        "return math.ceil(n_tokens * k * capacity_factor)",
    ),
    (
        "capacity_floor",
        "moe.py",
        "capacity rounded down instead of up",
        "return math.ceil(n_tokens * k * capacity_factor / n_experts)",
        "return int(n_tokens * k * capacity_factor / n_experts)",
    ),
    (
        "capacity_without_k",
        "moe.py",
        "capacity from the tokens only, forgetting that each token makes k assignments",
        "return math.ceil(n_tokens * k * capacity_factor / n_experts)",
        "return math.ceil(n_tokens * capacity_factor / n_experts)",
    ),
    (
        "queue_slot_order",
        "moe.py",
        "queues filled slot by slot (all first choices, then all second choices): other tokens are dropped",
        "flat = expert_index.reshape(-1)  # [N * k], flat id",
        "flat = expert_index.t().reshape(-1)  # [N * k], flat id",
    ),
    (
        "queue_unstable_sort",
        "moe.py",
        "queues filled in reverse token order (the last tokens get the places)",
        "order = torch.argsort(flat, stable=True)",
        "order = torch.argsort(flat * (N * k) + (N * k - 1 - torch.arange(N * k)))",
    ),
    (
        "capacity_off_by_one",
        "moe.py",
        "one assignment too many kept per expert (<= capacity)",
        "kept = queue_positions(expert_index, len(experts)) < capacity  # [N, k]",
        "kept = queue_positions(expert_index, len(experts)) <= capacity  # [N, k]",
    ),
    (
        "gates_not_applied",
        "moe.py",
        "gates not applied on combine",
        "outputs.append(expert(x[flat_token[group]]) * flat_gate[group, None])",
        "outputs.append(expert(x[flat_token[group]]))",
    ),
    (
        "dropped_not_dropped",
        "moe.py",
        "dropped assignments still computed and added (the capacity only reported)",
        "ids = torch.nonzero(kept.reshape(-1)).squeeze(-1)  # [M] kept flat ids",
        "ids = torch.arange(N * k)  # [M] kept flat ids",
    ),
    (
        "dropped_zeroed",
        "moe.py",
        "dropped tokens zeroed instead of passed through the residual",
        "return x + y.view(B, T, C), aux",
        "out = x + y.view(B, T, C)\n        out = out * kept.any(-1).view(B, T, 1)\n        return out, aux",
    ),
    (
        "no_residual",
        "moe.py",
        "the layer returns the expert mixture without the residual",
        "return x + y.view(B, T, C), aux",
        "return y.view(B, T, C), aux",
    ),
    (
        "capacity_per_sequence",
        "moe.py",
        "capacity computed from one sequence's tokens (T) instead of the batch's (B * T)",
        "capacity = expert_capacity(B * T, self.n_experts, self.top_k, self.capacity_factor)",
        "capacity = expert_capacity(T, self.n_experts, self.top_k, self.capacity_factor)",
    ),
    (
        "drop_rate_per_token",
        "moe.py",
        "drop rate counted as kept tokens instead of kept assignments",
        '"drop_rate": 1.0 - float(kept.float().mean()),',
        '"drop_rate": 1.0 - float(kept.any(-1).float().mean()),',
    ),
    (
        "router_transposed_tokens",
        "moe.py",
        "tokens flattened in column-major order (t * B + b)",
        "tokens = x.reshape(B * T, C)  # [N, C], n = b * T + t",
        "tokens = x.transpose(0, 1).reshape(B * T, C)  # [N, C], n = b * T + t",
    ),
    # ---------------------------------------------------------------- losses.py
    (
        "balance_no_n_factor",
        "losses.py",
        "the factor E (number of experts) missing from the balancing loss",
        "return E * torch.sum(f * P)",
        "return torch.sum(f * P)",
    ),
    (
        "balance_f_sums_to_one",
        "losses.py",
        "f normalised by N * k (sums to 1) instead of by N as transformers does",
        "f = counts / N  # [E], sums to k",
        "f = counts / (N * top_k)  # [E], sums to k",
    ),
    (
        "balance_f_from_logits",
        "losses.py",
        "the top-k taken over the logits but P from the logits too (no softmax)",
        "P = probs.mean(dim=0)  # [E], sums to 1\n    return E",
        "P = router_logits.mean(dim=0)  # [E], sums to 1\n    return E",
    ),
    (
        "switch_no_n_factor",
        "losses.py",
        "the factor E missing from Switch's loss (uniform routing gives alpha / E)",
        "return alpha * E * torch.sum(f * P)",
        "return alpha * torch.sum(f * P)",
    ),
    (
        "z_loss_no_square",
        "losses.py",
        "the z-loss without the square",
        "return torch.mean(z**2)",
        "return torch.mean(z)",
    ),
    (
        "z_loss_naive_lse",
        "losses.py",
        "logsumexp computed as log(sum(exp(x))), which overflows for large logits",
        "z = torch.logsumexp(router_logits, dim=-1)  # [N], stable for large logits",
        "z = torch.log(torch.exp(router_logits).sum(dim=-1))  # [N], stable for large logits",
    ),
    (
        "load_per_token",
        "losses.py",
        "expert load divided by N instead of N * k",
        "return counts.float() / expert_index.numel()",
        "return counts.float() / expert_index.shape[0]",
    ),
    # ---------------------------------------------------------------- accounting.py
    (
        "active_counts_one_expert",
        "accounting.py",
        "active parameters counted with one expert instead of k",
        "inactive = cfg.n_layers * (cfg.n_experts - cfg.top_k) * routed_expert",
        "inactive = cfg.n_layers * (cfg.n_experts - 1) * routed_expert",
    ),
    (
        "kv_heads_ignored",
        "accounting.py",
        "k and v projections counted with n_heads instead of n_kv_heads (GQA ignored)",
        "q_out, kv_out = cfg.n_heads * cfg.head_dim, cfg.n_kv_heads * cfg.head_dim\n    attention",
        "q_out, kv_out = cfg.n_heads * cfg.head_dim, cfg.n_heads * cfg.head_dim\n    attention",
    ),
    (
        "tied_counted_twice",
        "accounting.py",
        "a tied embedding counted twice",
        "embeddings = cfg.vocab_size * d * (1 if cfg.tie_embeddings else 2)",
        "embeddings = cfg.vocab_size * d * 2",
    ),
    (
        "router_forgotten",
        "accounting.py",
        "the router's parameters left out",
        "per_layer = 2 * d + attention + d * cfg.n_experts + cfg.n_experts * routed_expert + shared",
        "per_layer = 2 * d + attention + cfg.n_experts * routed_expert + shared",
    ),
    (
        "flops_all_experts",
        "accounting.py",
        "FLOPs counted for all E experts instead of the k active ones",
        "+ cfg.top_k * 3 * d * cfg.d_ff_expert",
        "+ cfg.n_experts * 3 * d * cfg.d_ff_expert",
    ),
    (
        "gates_detached",
        "moe.py",
        "gates detached before combining: the router never learns (its only gradient comes via the gates)",
        "y, kept = dispatch_combine(tokens, expert_index, gates, self.experts, capacity)",
        "y, kept = dispatch_combine(tokens, expert_index, gates.detach(), self.experts, capacity)",
    ),
    (
        "flops_no_head",
        "accounting.py",
        "FLOPs without the output head",
        "return 2 * (cfg.n_layers * per_layer + cfg.vocab_size * d)  # + the output head",
        "return 2 * (cfg.n_layers * per_layer)  # + the output head",
    ),
]

# Survivors of the mutation tool (tests/quality/mutation.py) that do not change behaviour, with the reason.
EQUIVALENT = {
    "router.py top_k_gating | gates = top_probs / top_probs.sum(dim=-1, keepdim=True) | `-1` -> `1`": (
        "top_probs is [N, k]: axis 1 is the last axis"
    ),
    "losses.py load_balancing_loss | counts = torch.zeros(E, dtype=probs.dtype, device=probs.device)"
    ".scatter_add_(0, chosen.reshape(-1), torch.ones(N * top_k, dtype=probs.dtype, device=probs.device)) "
    "| `torch.zeros(E, dtype=probs.dtype, device=probs.device)` -> `torch.zeros(E, dtype=probs.dtype)`": (
        "every test runs on the CPU, the default device"
    ),
    "losses.py expert_load | return counts.float() / expert_index.numel() | `counts.float()` -> `counts`": (
        "an int64 tensor divided by an int is a true division in torch and gives float32 already"
    ),
    "moe.py queue_positions | starts = torch.cumsum(counts, dim=0) - counts | `0` -> `-1`": (
        "counts is one-dimensional: axis 0 is the last axis"
    ),
}
