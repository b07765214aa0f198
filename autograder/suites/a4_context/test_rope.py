"""Problem 1, RoPE (20 points).

Oracle: Hugging Face's rotary embedding (``LlamaRotaryEmbedding`` for the cos/sin tables, ``rotate_half`` and
``apply_rotary_pos_emb``), transformers 5.x. The half-split layout is pinned; the interleaved layout of the
RoFormer paper is accepted wherever the two differ only by a permutation of features (see the handout).
Invariants (llm-facts A4, RoFormer arXiv:2104.09864): rotations preserve norms, and the score of a rotated
query
at position m with a rotated key at position n depends on m - n only. Tolerance 1e-5 absolute on values of
order
one (float32).
"""

import _oracles as O
import pytest
import torch

from autograder.checks import GradeFailure, expect_close, expect_equal, expect_tensor

ATOL = 1e-5


@pytest.mark.points(3)
def test_inv_frequencies(sub, rng):
    """inv_frequencies matches HF's default RoPE initialiser (d=12 with base 10000, d=16 with base 500)"""
    for d, base in [(12, 10000.0), (16, 500.0)]:
        emb = O.LlamaRotaryEmbedding(O.hf_rope_config(d, {"rope_type": "default", "rope_theta": base}))
        expect_close(
            sub.call("rope.inv_frequencies", d, base),
            emb.inv_freq.float(),
            atol=1e-7,
            rtol=1e-6,
            what=f"inv_frequencies(head_dim={d}, base={base:g}), shape ({d // 2},)",
        )


@pytest.mark.points(4)
def test_rope_tables(sub, rng):
    """rope_tables gives HF's cos and sin for positions [T] at an offset and for per-row positions [B, T]"""
    d = 10
    inv_freq = 1.0 / (10000.0 ** (torch.arange(0, d, 2).float() / d))
    cases = [torch.arange(7, 12), torch.tensor([[0, 1, 2, 3, 4, 5], [30, 31, 32, 33, 34, 35]])]
    for positions in cases:
        cos_hf, sin_hf = O.hf_cos_sin(d, positions)
        got = sub.call("rope.rope_tables", inv_freq, positions)
        shape = tuple(positions.shape) + (d,)
        what = f"rope_tables(inv_freq of shape ({d // 2},), positions of shape {tuple(positions.shape)})"
        if not (isinstance(got, list) and len(got) == 2):
            expect_tensor(None, shape=shape, what=f"{what}: a (cos, sin) pair")
        O.expect_either_layout(got[0], cos_hf, O.to_interleaved(cos_hf), what=f"{what}[0] (cos)", atol=ATOL)
        O.expect_either_layout(got[1], sin_hf, O.to_interleaved(sin_hf), what=f"{what}[1] (sin)", atol=ATOL)


@pytest.mark.points(1)
def test_rope_tables_attention_factor(sub, rng):
    """rope_tables multiplies cos and sin by attention_factor (1.25 here; positions 3..8, d=8)"""
    d = 8
    inv_freq = 1.0 / (10000.0 ** (torch.arange(0, d, 2).float() / d))
    positions = torch.arange(3, 9)
    cos_hf, sin_hf = O.hf_cos_sin(d, positions)
    got = sub.call("rope.rope_tables", inv_freq, positions, 1.25)
    what = "rope_tables(..., attention_factor=1.25)"
    O.expect_either_layout(
        got[0], 1.25 * cos_hf, O.to_interleaved(1.25 * cos_hf), what=f"{what} cos", atol=ATOL
    )
    O.expect_either_layout(
        got[1], 1.25 * sin_hf, O.to_interleaved(1.25 * sin_hf), what=f"{what} sin", atol=ATOL
    )


@pytest.mark.points(2)
def test_rotate_half(sub, rng):
    """rotate_half matches HF's on x of shape (2, 3, 5, 8)"""
    x = torch.randn(2, 3, 5, 8, generator=rng)
    rotate = O.hf_rotate_half
    O.expect_either_layout(
        sub.call("rope.rotate_half", x),
        rotate(x),
        O.interleaved_of(rotate, x),
        what="rotate_half(x), x of shape (2, 3, 5, 8)",
        atol=1e-7,
    )


@pytest.mark.points(5)
def test_apply_rope_matches_hf(sub, rng):
    """apply_rope with the submission's own tables matches HF's apply_rotary_pos_emb and leaves x unchanged
    (B=2, H=3, T=5, d=8; positions 4..8, then per-row positions [B, T])"""
    d = 8
    x = torch.randn(2, 3, 5, d, generator=rng)
    inv = sub.call("rope.inv_frequencies", d, 10000.0)
    for positions in [torch.arange(4, 9), torch.tensor([[0, 1, 2, 3, 4], [11, 12, 13, 14, 15]])]:
        cos, sin = sub.call("rope.rope_tables", inv, positions)
        cos_hf, sin_hf = O.hf_cos_sin(d, positions)
        rotate = lambda t, c=cos_hf, s=sin_hf: O.hf_apply_rope(t, c, s)  # noqa: E731
        r = sub.probe("rope.apply_rope", x, cos, sin, observe=["inputs_after"])
        expect_equal(
            r["inputs_after"]["args"][0], x, what="x after apply_rope(x, cos, sin) (must not change)"
        )
        O.expect_either_layout(
            r["value"],
            rotate(x),
            O.interleaved_of(rotate, x),
            what=f"apply_rope(x of shape (2, 3, 5, 8), cos, sin), positions {tuple(positions.shape)}",
            atol=ATOL,
        )


def _rotated(sub, x: torch.Tensor, positions: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    d = x.shape[-1]
    cos, sin = sub.call("rope.rope_tables", sub.call("rope.inv_frequencies", d, base), positions)
    return expect_tensor(sub.call("rope.apply_rope", x, cos, sin), shape=x.shape, what="apply_rope output")


@pytest.mark.points(2)
def test_rope_preserves_norms(sub, rng):
    """every rotated head vector keeps its norm (B=2, H=3, T=7, d=12, positions 0..6 and 100..106)"""
    x = torch.randn(2, 3, 7, 12, generator=rng)
    for start in (0, 100):
        y = _rotated(sub, x, torch.arange(start, start + 7))
        expect_close(
            y.norm(dim=-1),
            x.norm(dim=-1),
            atol=1e-5,
            rtol=1e-5,
            what=f"norms of rotated vectors at positions {start}..{start + 6} (shape (2, 3, 7, 12))",
        )


@pytest.mark.points(3)
@pytest.mark.visibility("after_due_date")
def test_rope_scores_depend_on_distance_only(sub, rng):
    """q_m . k_n after rotation is the same for (m, n) and (m + s, n + s), s = 17, 250 (d=16, base 500)"""
    d = 16
    q = torch.randn(1, 1, 6, d, generator=rng)
    k = torch.randn(1, 1, 6, d, generator=rng)
    m = torch.tensor([0, 3, 5, 9, 12, 20])
    n = torch.tensor([2, 3, 1, 15, 4, 0])
    base_scores = (_rotated(sub, q, m, 500.0) * _rotated(sub, k, n, 500.0)).sum(-1)  # [1, 1, 6]
    for s in (17, 250):
        shifted = (_rotated(sub, q, m + s, 500.0) * _rotated(sub, k, n + s, 500.0)).sum(-1)
        expect_close(
            shifted,
            base_scores,
            atol=1e-4,
            rtol=1e-4,
            what=f"scores of rotated query/key pairs after shifting both positions by {s} (6 pairs, d=16)",
        )
    # and they must actually depend on the distance: RoPE is not the identity
    moved = (_rotated(sub, q, m, 500.0) * _rotated(sub, k, n + 1, 500.0)).sum(-1)
    expect_tensor(moved, shape=base_scores.shape, what="scores")
    if bool(torch.allclose(moved, base_scores, atol=1e-3)):
        raise GradeFailure("scores did not change when the key moved by one position: no rotation?")
