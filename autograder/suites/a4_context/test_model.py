"""Problem 4, the cached RoPE decoder and generation (25 points).

Oracles, in order: tiny random Hugging Face ``LlamaForCausalLM`` and ``MistralForCausalLM`` (transformers 5.x,
eager attention, eval mode, no download) whose weights are loaded into the submission's ``Decoder`` under the
same names (rows of q_proj and k_proj permuted to Meta's order when the submission's RoPE is interleaved,
which
changes no score); their full forward pass and their own cached greedy ``generate``; then two of the
submission's own paths (cached against uncached generation). llm-facts A4 ("Incremental decoding"): prefill
plus single steps equals a full forward within 1e-7 to 4e-7 in HF. Tolerance on logits of order 3 (float32):
1e-4 absolute plus 1e-4 relative; generated tokens must be equal.

The cache is driven through handles: ``model.call("new_cache")`` builds it in the worker and every forward
call passes the handle.
"""

import _oracles as O
import pytest
import torch

from autograder.checks import GradeFailure, expect, expect_close, expect_equal
from autograder.client import CallFailed

ATOL, RTOL = O.LOGIT_ATOL, O.LOGIT_RTOL


def _check_logits(got, hf, idx, what):
    expect_close(got, O.hf_logits(hf, idx), atol=ATOL, rtol=RTOL, what=what)


@pytest.mark.points(3)
def test_decoder_matches_hf_llama(sub, rng):
    """Decoder forward logits match HF Llama with GQA (V=37, d_model=24, 2 layers, 6 heads, 2 KV heads;
    B=2, T=9)"""
    hf = O.hf_model(rng, "llama")
    model = O.student_decoder(sub, hf, O.describe(hf))
    idx = torch.randint(0, 37, (2, 9), generator=rng)
    _check_logits(model(idx), hf, idx, f"{O.describe(hf)} logits for idx of shape (2, 9), no cache")


@pytest.mark.points(4)
def test_cached_decoding_matches_full_forward(sub, rng):
    """prefill of 5 then 6 one-token steps with the cache give HF's full-forward logits at every position
    (Llama, 3 query heads per KV head; B=2)"""
    hf = O.hf_model(rng, "llama", d_model=36, n_heads=6, n_kv_heads=2, n_layers=3)
    what = O.describe(hf)
    model = O.student_decoder(sub, hf, what)
    idx = torch.randint(0, 37, (2, 11), generator=rng)
    want = O.hf_logits(hf, idx)
    parts = O.cached_logits(model, idx, [5] + [1] * 6)
    expect_close(parts[0], want[:, :5], atol=ATOL, rtol=RTOL, what=f"{what}: prefill logits (positions 0..4)")
    for step, got in enumerate(parts[1:]):
        pos = 5 + step
        expect_close(
            got,
            want[:, pos : pos + 1],
            atol=ATOL,
            rtol=RTOL,
            what=f"{what}: logits of decode step {step + 1} (token at position {pos}, one token per call)",
        )


@pytest.mark.points(3)
def test_chunked_prefill(sub, rng):
    """a prompt fed in chunks of 3, 4 and 2, then two single steps, gives the one-shot logits (Llama, MQA:
    1 KV head; B=3)"""
    hf = O.hf_model(rng, "llama", n_heads=4, n_kv_heads=1, d_model=16)
    what = O.describe(hf)
    model = O.student_decoder(sub, hf, what)
    idx = torch.randint(0, 37, (3, 11), generator=rng)
    want = O.hf_logits(hf, idx)
    start = 0
    for size, got in zip([3, 4, 2, 1, 1], O.cached_logits(model, idx, [3, 4, 2, 1, 1]), strict=True):
        expect_close(
            got,
            want[:, start : start + size],
            atol=ATOL,
            rtol=RTOL,
            what=f"{what}: logits of the chunk at positions {start}..{start + size - 1}",
        )
        start += size


@pytest.mark.points(4)
def test_mistral_sliding_window(sub, rng):
    """Mistral with sliding_window=4 on 10 tokens: full forward, and prefill of 3 plus one-token steps with
    the rolling buffer, match HF (B=2)"""
    hf = O.hf_model(rng, "mistral", sliding_window=4)
    what = O.describe(hf)
    model = O.student_decoder(sub, hf, what)
    idx = torch.randint(0, 37, (2, 10), generator=rng)
    want = O.hf_logits(hf, idx)
    expect_close(model(idx), want, atol=ATOL, rtol=RTOL, what=f"{what}: logits, no cache, T=10 > window")
    cache = model.call("new_cache")
    expect_close(model(idx[:, :3], cache), want[:, :3], atol=ATOL, rtol=RTOL, what=f"{what}: prefill of 3")
    for pos in range(3, 10):
        expect_close(
            model(idx[:, pos : pos + 1], cache),
            want[:, pos : pos + 1],
            atol=ATOL,
            rtol=RTOL,
            what=f"{what}: decode step at position {pos} with the sliding-window cache",
        )


@pytest.mark.points(2)
@pytest.mark.visibility("after_due_date")
def test_mistral_chunked_prefill_past_window(sub, rng):
    """Mistral with sliding_window=3: chunks of 5 and 4 (longer than the window), then steps (B=2)"""
    hf = O.hf_model(rng, "mistral", sliding_window=3, n_layers=3)
    what = O.describe(hf)
    model = O.student_decoder(sub, hf, what)
    idx = torch.randint(0, 37, (2, 11), generator=rng)
    want = O.hf_logits(hf, idx)
    start = 0
    for size, got in zip([5, 4, 1, 1], O.cached_logits(model, idx, [5, 4, 1, 1]), strict=True):
        expect_close(
            got,
            want[:, start : start + size],
            atol=ATOL,
            rtol=RTOL,
            what=f"{what}: chunk at positions {start}..{start + size - 1}",
        )
        start += size


@pytest.mark.points(3)
def test_generate_matches_hf(sub, rng):
    """greedy generate with the cache equals HF's generate token for token (Llama, 12 new tokens; Mistral
    with sliding_window=4, 10 new tokens)"""
    for family, extra, n in [("llama", {}, 12), ("mistral", {"sliding_window": 4}, 10)]:
        hf = O.hf_model(rng, family, **extra)
        what = O.describe(hf)
        model = O.student_decoder(sub, hf, what)
        idx = torch.randint(0, 37, (2, 4), generator=rng)
        got = sub.call("model.generate", model, idx, n)
        expect_equal(got, O.hf_generate(hf, idx, n), what=f"generate({what}, prompt of shape (2, 4), {n})")


@pytest.mark.points(2)
def test_generate_without_cache_agrees(sub, rng):
    """generate(use_cache=False) gives the same tokens as with the cache (Llama, prompt (3, 5), 9 tokens)"""
    hf = O.hf_model(rng, "llama", n_kv_heads=3)
    what = O.describe(hf)
    model = O.student_decoder(sub, hf, what)
    idx = torch.randint(0, 37, (3, 5), generator=rng)
    want = O.hf_generate(hf, idx, 9)
    expect_equal(
        sub.call("model.generate", model, idx, 9, use_cache=False),
        want,
        what=f"generate({what}, prompt (3, 5), 9, use_cache=False)",
    )
    expect_equal(
        sub.call("model.generate", model, idx, 9, use_cache=True),
        want,
        what=f"generate({what}, prompt (3, 5), 9, use_cache=True)",
    )
    one = sub.call("model.generate", model, idx, 1)
    expect_equal(one, want[:, :6], what=f"generate({what}, prompt (3, 5), 1)")


@pytest.mark.points(1)
def test_start_pos_mismatch_raises(sub, rng):
    """forward(idx, cache, start_pos) raises ValueError when start_pos differs from the tokens the cache
    has seen, and accepts the right one"""
    hf = O.hf_model(rng, "llama")
    model = O.student_decoder(sub, hf, O.describe(hf))
    idx = torch.randint(0, 37, (2, 6), generator=rng)
    cache = model.call("new_cache")
    model(idx[:, :4], cache, 0)
    try:
        model(idx[:, 4:5], cache, 0)
    except CallFailed as exc:
        first = (str(exc).splitlines() or [""])[0]
        if exc.kind != "exception" or ": ValueError:" not in first:
            raise GradeFailure(
                f"a start_pos mismatch must raise ValueError; it raised: {str(exc)[:300]}"
            ) from None
    else:
        raise GradeFailure(
            "forward(chunk, cache, start_pos=0) after 4 cached tokens returned normally; "
            "it must raise ValueError"
        )
    got = model(idx[:, 4:6], cache, 4)
    expect_close(
        got,
        O.hf_logits(hf, idx)[:, 4:6],
        atol=ATOL,
        rtol=RTOL,
        what="logits of positions 4..5 with start_pos=4 after the rejected call (the cache must be "
        "unchanged by a rejected call)",
    )


@pytest.mark.points(1)
@pytest.mark.visibility("after_due_date")
def test_scaled_rope_models(sub, rng):
    """Llama with YaRN (factor 4, original context 16) and with llama3 scaling: logits match HF on T=20"""
    for rp in [
        {"rope_type": "yarn", "rope_theta": 1000.0, "factor": 4.0, "original_max_position_embeddings": 16},
        {
            "rope_type": "llama3",
            "rope_theta": 1000.0,
            "factor": 8.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 16,
        },
        {"rope_type": "linear", "rope_theta": 1000.0, "factor": 2.0},
    ]:
        hf = O.hf_model(rng, "llama", d_model=32, n_heads=4, n_kv_heads=2, rope_parameters=rp)
        what = O.describe(hf)
        model = O.student_decoder(sub, hf, what)
        idx = torch.randint(0, 37, (2, 20), generator=rng)
        want = O.hf_logits(hf, idx)
        parts = O.cached_logits(model, idx, [12, 1, 7])
        expect_close(
            torch.cat(parts, dim=1),
            want,
            atol=ATOL,
            rtol=RTOL,
            what=f"{what}: logits with the cache (chunks 12, 1, 7)",
        )


@pytest.mark.points(1)
def test_gradients_match_hf(sub, rng):
    """the forward pass is differentiable: gradients of a random projection of the logits with respect to
    every parameter match HF Llama's (GQA, B=2, T=6; probe in the worker)"""
    hf = O.hf_model(rng, "llama", n_layers=1)
    what = O.describe(hf)
    layout = O.common.rope_layout(sub)
    model = O.student_decoder(sub, hf, what, layout)
    idx = torch.randint(0, 37, (2, 6), generator=rng)
    upstream = torch.randn(2, 6, 37, generator=rng)
    model.call("zero_grad")
    r = model.probe("forward", idx, observe=["grads"], upstream=upstream)
    grads = r["grads"]
    if grads["error"] is not None:
        raise GradeFailure(f"{what}: backward through forward(idx) failed: {grads['error'][:300]}")
    hf.zero_grad()
    (hf(input_ids=idx, use_cache=False).logits * upstream).sum().backward()
    want = {k.removeprefix("model."): p.grad for k, p in hf.named_parameters()}
    if layout == "interleaved":  # the same rows permutation as the weights
        want = {k: v.detach() for k, v in O.common.kit_state_dict_like(hf, want).items()}
    got = grads["params"]["self"]
    # (not embed_tokens: HF's has padding_idx=pad_token_id, whose row gets no gradient)
    for name in (
        "layers.0.self_attn.q_proj.weight",
        "layers.0.self_attn.k_proj.weight",
        "layers.0.self_attn.v_proj.weight",
        "layers.0.input_layernorm.weight",
    ):
        if got.get(name) is None:
            raise GradeFailure(f"{what}: no gradient reached {name}")
        expect_close(got[name], want[name], atol=1e-4, rtol=1e-3, what=f"{what}: gradient of {name}")


@pytest.mark.points(1)
def test_generate_modes(sub, rng):
    """generate runs the model without gradients and leaves its train/eval mode as it was (probe)"""
    hf = O.hf_model(rng, "llama")
    model = O.student_decoder(sub, hf, O.describe(hf))
    idx = torch.randint(0, 37, (2, 3), generator=rng)
    r = sub.probe(
        "model.generate",
        model,
        idx,
        4,
        observe=["modules", "training", "grad_mode"],
        grad_enabled=True,
        train=False,
    )
    with_grad = sorted({m["type"] for m in r["modules"] if m["grad_enabled"]})
    if with_grad:
        raise GradeFailure(
            f"generate ran these modules with gradients enabled: {with_grad[:4]} (use torch.no_grad)"
        )
    expect(r["grad_mode"]["after"] is True, "generate must leave gradients enabled as they were")
    expect(r["training"]["args.0"][""] is False, "generate changed the model's eval mode")
