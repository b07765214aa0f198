"""How much memory a context costs: the arithmetic of the KV cache.

Every token leaves, in every layer, one key and one value vector per KV head:
bytes = 2 (K and V) * n_layers * n_kv_heads * head_dim * bytes_per_element per token and sequence.
Llama-2-7B in fp16 (32 layers, 32 KV heads of 128) keeps 524,288 bytes = 0.5 MiB per token, 2 GiB for a
4096-token context; grouped-query attention divides that by n_heads / n_kv_heads, and a sliding window caps
the number of tokens held.

All results are exact integers (bytes) or plain floats; nothing here needs torch.
"""


def kv_bytes_per_token(n_layers: int, n_kv_heads: int, head_dim: int, bytes_per_element: int = 2) -> int:
    """Bytes of cache one token adds to one sequence:
    2 * n_layers * n_kv_heads * head_dim * bytes_per_element."""
    raise NotImplementedError("replace this line with your solution")


def kv_cache_bytes(
    n_layers: int,
    n_kv_heads: int,
    head_dim: int,
    seq_len: int,
    batch_size: int = 1,
    bytes_per_element: int = 2,
    sliding_window: int | None = None,
) -> int:
    """Bytes of the cache of ``batch_size`` sequences of ``seq_len`` tokens.

    With a sliding window W the cache holds min(seq_len, W) tokens per sequence (Mistral's rolling buffer of W
    slots, the paper's accounting).
    """
    raise NotImplementedError("replace this line with your solution")


def gqa_saving(n_heads: int, n_kv_heads: int) -> float:
    """How many times smaller the cache is with n_kv_heads KV heads than with one per query head (n_heads);
    n_kv_heads = 1 is multi-query attention."""
    raise NotImplementedError("replace this line with your solution")


def crossover_context(
    n_params: int,
    n_layers: int,
    n_kv_heads: int,
    head_dim: int,
    batch_size: int = 1,
    bytes_per_element: int = 2,
) -> int:
    """The shortest context (tokens per sequence) at which the cache of ``batch_size`` sequences takes more
    bytes than the weights (n_params parameters stored with the same bytes_per_element): the smallest integer
    L with kv_cache_bytes(L) > n_params * bytes_per_element."""
    raise NotImplementedError("replace this line with your solution")
