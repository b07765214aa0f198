"""Task 2, causal_attention (20 points).

Oracle: ``F.scaled_dot_product_attention`` (``is_causal=True``; with a padding mask, a boolean ``attn_mask``
combining the causal mask and the real keys). Invariant: causality. Tolerance: 1e-5 absolute on outputs of
order one in float32 (observed error of a correct implementation: about 3e-7).
"""

import _oracles as O  # the suite's own helpers (its folder is on sys.path while it runs)
import pytest
import torch

from autograder.checks import expect, expect_close, expect_probe_grads, expect_tensor

ATOL = 1e-5


@pytest.fixture(autouse=True)
def _own_attention(sub):
    """Every test of this problem requires that no module of the submission names the library attention, and
    that it does not run during the test's calls (the handout's rule)."""
    with O.own_attention(sub):
        yield


def _qkv(rng, *shape, scale=1.0):
    return tuple(scale * torch.randn(*shape, generator=rng) for _ in range(3))


@pytest.mark.points(2)
def test_causal_attention_matches_sdpa(sub, rng):
    """causal_attention matches scaled_dot_product_attention (B=2, H=3, T=5, d=4)"""
    q, k, v = _qkv(rng, 2, 3, 5, 4)
    got = sub.call("attention.causal_attention", q, k, v)
    expect_close(
        got, O.sdpa(q, k, v), atol=ATOL, what="causal_attention(q, k, v), q/k/v of shape (2, 3, 5, 4)"
    )


@pytest.mark.points(2)
def test_causal_attention_other_shapes(sub, rng):
    """causal_attention works for any leading axes: shapes (3, 7, 6), (1, 4, 9, 8), (2, 1, 3, 2, 5)"""
    for shape in [(3, 7, 6), (1, 4, 9, 8), (2, 1, 3, 2, 5)]:
        q, k, v = _qkv(rng, *shape)
        got = sub.call("attention.causal_attention", q, k, v)
        expect_close(
            got, O.sdpa(q, k, v), atol=ATOL, what=f"causal_attention(q, k, v), q/k/v of shape {shape}"
        )


@pytest.mark.points(2)
def test_causal_attention_is_causal(sub, rng):
    """changing keys and values at later positions leaves earlier outputs unchanged (B=2, H=3, T=7, d=4)"""
    q, k, v = _qkv(rng, 2, 3, 7, 4)
    base = sub.call("attention.causal_attention", q, k, v)
    expect_close(base, O.sdpa(q, k, v), atol=ATOL, what="causal_attention(q, k, v), shape (2, 3, 7, 4)")
    for cut in (2, 4):  # positions > cut change
        k2, v2 = k.clone(), v.clone()
        k2[..., cut + 1 :, :] += 3.0 * torch.randn(k2[..., cut + 1 :, :].shape, generator=rng)
        v2[..., cut + 1 :, :] += 3.0 * torch.randn(v2[..., cut + 1 :, :].shape, generator=rng)
        got = sub.call("attention.causal_attention", q, k2, v2)
        got = expect_tensor(got, shape=base.shape, dtype=torch.float32, what="causal_attention(q, k, v)")
        expect_close(
            got[..., : cut + 1, :],
            base[..., : cut + 1, :],
            atol=1e-6,
            what=f"outputs at positions 0..{cut} after the keys and values of positions "
            f"{cut + 1}..6 changed (they must not move: position t may only look at "
            f"positions <= t)",
        )


@pytest.mark.points(2)
def test_causal_attention_padding_mask(sub, rng):
    """a [B, T] padding mask removes padded keys (left padding, int64 mask; B=2, H=3, T=6, d=4)"""
    q, k, v = _qkv(rng, 2, 3, 6, 4)
    mask = torch.tensor([[0, 0, 1, 1, 1, 1], [0, 1, 1, 1, 1, 1]])
    got = sub.call("attention.causal_attention", q, k, v, attention_mask=mask)
    real = mask.bool()[:, None, :, None]  # outputs at padded query positions are not graded
    expect_close(
        got,
        O.sdpa(q, k, v, mask),
        atol=ATOL,
        mask=real,
        what="causal_attention(q, k, v, attention_mask) at real query positions, q/k/v of shape "
        "(2, 3, 6, 4), rows of the mask [0,0,1,1,1,1] and [0,1,1,1,1,1]",
    )


@pytest.mark.points(2)
def test_causal_attention_padding_mask_other_ranks(sub, rng):
    """a [B, T] padding mask with q/k/v of 3 and 5 axes: shapes (3, 6, 4) and (2, 2, 3, 5, 4)"""
    for shape in [(3, 6, 4), (2, 2, 3, 5, 4)]:
        B, T = shape[0], shape[-2]
        q, k, v = _qkv(rng, *shape)
        mask = O.mask_with_holes(rng, B, T, first_real=False)
        real = mask.bool().view(B, *([1] * (len(shape) - 3)), T, 1)
        got = sub.call("attention.causal_attention", q, k, v, attention_mask=mask)
        expect_close(
            got,
            O.sdpa(q, k, v, mask),
            atol=ATOL,
            mask=real,
            what=f"causal_attention(q, k, v, attention_mask) at real query positions, q/k/v of shape "
            f"{shape} (the ({B}, {T}) mask broadcasts over the {len(shape) - 3} axes between B and T)",
        )


@pytest.mark.points(1)
def test_causal_attention_long_sequence(sub, rng):
    """causal_attention on a sequence of 300 positions, a batch of one (1, 2, 300, 3): no fixed-size mask"""
    q, k, v = _qkv(rng, 1, 2, 300, 3)
    got = sub.call("attention.causal_attention", q, k, v)
    expect_close(
        got,
        O.sdpa(q, k, v),
        atol=ATOL,
        what="causal_attention(q, k, v), q/k/v of shape (1, 2, 300, 3) (build the mask from T, not a "
        "precomputed table of fixed size)",
    )


@pytest.mark.points(2)
@pytest.mark.visibility("after_due_date")
def test_causal_attention_mask_with_holes(sub, rng):
    """a boolean padding mask with holes in the middle of rows (B=3, H=2, T=7, d=5)"""
    q, k, v = _qkv(rng, 3, 2, 7, 5)
    mask = O.mask_with_holes(rng, 3, 7, first_real=False).bool()
    got = sub.call("attention.causal_attention", q, k, v, attention_mask=mask)
    expect_close(
        got,
        O.sdpa(q, k, v, mask),
        atol=ATOL,
        mask=mask[:, None, :, None],
        what="causal_attention(q, k, v, attention_mask) at real query positions, q/k/v of shape "
        "(3, 2, 7, 5), a bool mask with padding inside the rows",
    )


@pytest.mark.points(2)
@pytest.mark.visibility("after_due_date")
def test_causal_attention_large_scores(sub, rng):
    """causal_attention stays finite and accurate when scores reach the hundreds (B=2, H=3, T=5, d=4)"""
    q, k, v = _qkv(rng, 2, 3, 5, 4)
    q = 30.0 * q
    got = sub.call("attention.causal_attention", q, k, v)
    expect_close(
        got,
        O.sdpa(q, k, v),
        atol=1e-4,
        what="causal_attention(30 * q, k, v), shape (2, 3, 5, 4), scores of a few hundred "
        "(tolerance 1e-4: float32 rounds scores of that size to about 3e-5)",
    )


@pytest.mark.points(2)
def test_causal_attention_float64(sub, rng):
    """causal_attention keeps float64 in float64 (a float64 test, tolerance 1e-12; B=2, H=3, T=6, d=8)"""
    q, k, v = (t.double() for t in _qkv(rng, 2, 3, 6, 8))
    got = sub.call("attention.causal_attention", q, k, v)
    expect_close(
        got, O.sdpa(q, k, v), atol=1e-12, what="causal_attention(q, k, v), float64, shape (2, 3, 6, 8)"
    )


@pytest.mark.points(2)
def test_causal_attention_gradients_and_inputs_unchanged(sub, rng):
    """gradients w.r.t. q, k and v match those through SDPA, and q, k, v are left unchanged (B=2, H=3, T=6,
    d=4, with a padding mask)"""
    q, k, v = _qkv(rng, 2, 3, 6, 4)
    mask = torch.tensor([[1, 1, 0, 1, 1, 1], [1, 1, 1, 1, 1, 1]])
    upstream = torch.randn(2, 3, 6, 4, generator=rng) * mask.bool()[:, None, :, None]  # real queries only
    what = "causal_attention(q, k, v, attention_mask), shape (2, 3, 6, 4)"
    r = sub.probe(
        "attention.causal_attention", q, k, v, kwargs={"attention_mask": mask}, observe=["inputs_after"]
    )
    for i, name in enumerate("qkv"):
        O.expect_unchanged(r["inputs_after"]["args"][i], (q, k, v)[i], what=f"{name} after {what}")
    r = sub.probe(
        "attention.causal_attention",
        q,
        k,
        v,
        kwargs={"attention_mask": mask},
        observe=["grads"],
        grad_inputs=[0, 1, 2],
        upstream=upstream,
    )
    leaves = [t.clone().requires_grad_(True) for t in (q, k, v)]
    (O.sdpa(*leaves, mask) * upstream).sum().backward()
    grads = r["grads"]
    expect(grads["error"] is None, f"backpropagating through {what} failed: {grads['error']}")
    expect_probe_grads(
        {name: grads["inputs"][str(i)] for i, name in enumerate("qkv")},
        {name: leaf.grad for name, leaf in zip("qkv", leaves, strict=True)},
        what=f"d sum(g * {what}) / d(q, k, v)",
    )


@pytest.mark.points(1)
def test_causal_attention_on_the_meta_device(sub, rng):
    """causal_attention makes its masks on the inputs' device: a call with q, k, v and the mask on the meta
    device (B=2, H=3, T=5, d=4)"""
    q, k, v = _qkv(rng, 2, 3, 5, 4)
    mask = torch.tensor([[1, 1, 1, 1, 0], [1, 0, 1, 1, 1]])
    expect_close(  # the meta call earns nothing unless the ordinary one is right
        sub.call("attention.causal_attention", q, k, v, attention_mask=mask),
        O.sdpa(q, k, v, mask),
        atol=ATOL,
        mask=mask.bool()[:, None, :, None],
        what="causal_attention(q, k, v, attention_mask) at real query positions, shape (2, 3, 5, 4)",
    )
    O.expect_runs_on_meta(
        lambda: sub.probe(
            "attention.causal_attention",
            q,
            k,
            v,
            kwargs={"attention_mask": mask},
            device="meta",
            observe=["devices"],
        ),
        (2, 3, 5, 4),
        what="causal_attention(q, k, v, attention_mask) of shape (2, 3, 5, 4) on the meta device",
    )
