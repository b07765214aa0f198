"""Alternative: parameter counts written as closed-form polynomials, memory by a lookup of bytes per part."""

from __future__ import annotations


def gpt2_params(config: dict) -> int:
    V, P, d, L = config["vocab_size"], config["n_positions"], config["d_model"], config["n_layers"]
    f = config.get("d_ff", 4 * d) or 4 * d
    # 4d^2 + 4d (attention with biases) + 2df + f + d (MLP) + 4d (two LayerNorms) per block
    per_layer = 4 * d * d + 2 * d * f + f + 9 * d
    return (V + P) * d + L * per_layer + 2 * d + (0 if config.get("tied", True) else V * d)


def llama_params(config: dict) -> int:
    V, d, L, f = config["vocab_size"], config["d_model"], config["n_layers"], config["d_ff"]
    H = config["n_heads"]
    Hk = config.get("n_kv_heads", H) or H
    h = config.get("head_dim", d // H) or d // H
    E = config.get("n_experts", 0) or 0
    experts = max(E, 1)
    per_layer = 2 * d * h * (H + Hk) + 3 * d * f * experts + d * E + 2 * d
    head = V * d if not config.get("tied", False) else 0
    return V * d + head + d + L * per_layer


def moe_active_params(config: dict) -> int:
    if "n_experts" not in config or not config["n_experts"]:
        return llama_params(config)
    dense_like = dict(config)
    dense_like["n_experts"] = config["experts_per_token"]
    # the router still has n_experts outputs: correct for the d * (E - k) difference
    return llama_params(dense_like) + config["n_layers"] * config["d_model"] * (
        config["n_experts"] - config["experts_per_token"]
    )


def non_embedding_params(config: dict) -> int:
    return gpt2_params(config) - (config["vocab_size"] + config["n_positions"]) * config["d_model"]


_PARTS = {"weights": 0, "gradients": 1, "optimizer": 2}
_TABLE = {
    "fp32_adam": [4, 4, 8],
    "mixed_adam": [2, 2, 12],
    "fp32_sgd": [4, 4, 0],
    "fp32_inference": [4, 0, 0],
    "bf16_inference": [2, 0, 0],
}


def memory_bytes(n_params: int, setup: str) -> dict[str, int]:
    try:
        row = _TABLE[setup]
    except KeyError:
        raise ValueError(setup) from None
    out = {name: n_params * row[i] for name, i in _PARTS.items()}
    out["total"] = n_params * sum(row)
    return out


def activation_bytes(config: dict, seq_len: int, batch_size: int) -> int:
    s, b, d, a, L = seq_len, batch_size, config["d_model"], config["n_heads"], config["n_layers"]
    return L * s * b * (34 * d + 5 * a * s)
