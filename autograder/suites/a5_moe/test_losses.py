"""Task 4, losses (15 points).

Oracles: ``transformers``' ``load_balancing_loss_func`` (Mixtral; Σf = k, uniform routing gives k); Switch's
loss α·E·Σ f_i P_i by its formula (Fedus et al. 2021, eq. 4; uniform routing gives α); ST-MoE's z-loss
(Zoph et al. 2022, eq. 5) with ``torch.logsumexp``; gradients through a worker-side probe, compared with
autograd on the oracle. Facts: llm-facts.md A5. Tolerance 1e-5 relative on losses of order one.
"""

import _oracles as O  # the suite's own helpers (its folder is on sys.path while it runs)
import pytest
import torch

from autograder.checks import expect, expect_close, expect_scalar


@pytest.mark.points(4)
def test_load_balancing_matches_hf(sub, rng):
    """load_balancing_loss equals transformers' load_balancing_loss_func (N=13, E=5, k=2; N=7, E=6, k=3)"""
    for N, E, k in [(13, 5, 2), (7, 6, 3)]:
        logits = 2.0 * torch.randn(N, E, generator=rng)
        expect_scalar(
            sub.call("losses.load_balancing_loss", logits, k),
            float(O.hf_balancing_loss(logits, E, k)),
            atol=1e-6,
            rtol=1e-5,
            what=f"load_balancing_loss(logits, {k}), logits of shape ({N}, {E})",
        )


@pytest.mark.points(1)
@pytest.mark.visibility("after_due_date")
def test_load_balancing_float64(sub, rng):
    """load_balancing_loss on float64 logits (N=9, E=5, k=2): a float64 loss equal to transformers'"""
    logits = 2.0 * torch.randn(9, 5, generator=rng, dtype=torch.float64)
    got = sub.call("losses.load_balancing_loss", logits, 2)
    expect(
        type(got) is torch.Tensor and got.dtype == torch.float64,
        "load_balancing_loss(float64 logits, 2): expected a float64 tensor",
    )
    expect_scalar(
        got,
        float(O.hf_balancing_loss(logits, 5, 2)),
        atol=1e-6,
        what="load_balancing_loss(float64 logits, 2)",
    )


@pytest.mark.points(1)
def test_load_balancing_uniform_is_k(sub):
    """uniform routing (all logits equal) gives exactly k (N=8, E=4, k=2; N=6, E=8, k=3)"""
    for N, E, k in [(8, 4, 2), (6, 8, 3)]:
        expect_scalar(
            sub.call("losses.load_balancing_loss", torch.zeros(N, E), k),
            float(k),
            atol=1e-5,
            what=f"load_balancing_loss(zeros({N}, {E}), {k}) (uniform routing)",
        )


@pytest.mark.points(3)
def test_switch_balancing_loss(sub, rng):
    """Switch's loss: the formula (N=11, E=5), alpha at uniform routing, about alpha * E when one wins"""
    logits = 2.0 * torch.randn(11, 5, generator=rng)
    for alpha in (1e-2, 0.5):
        expect_scalar(
            sub.call("losses.switch_balancing_loss", logits, alpha=alpha),
            O.switch_loss(logits, alpha),
            atol=1e-7,
            rtol=1e-5,
            what=f"switch_balancing_loss(logits, alpha={alpha}), logits of shape (11, 5)",
        )
    expect_scalar(
        sub.call("losses.switch_balancing_loss", torch.zeros(9, 6)),
        1e-2,
        atol=1e-8,
        what="switch_balancing_loss(zeros(9, 6)) (uniform routing, default alpha 1e-2)",
    )
    collapsed = torch.zeros(10, 4)
    collapsed[:, 2] = 30.0
    expect_scalar(
        sub.call("losses.switch_balancing_loss", collapsed, alpha=1.0),
        O.switch_loss(collapsed, 1.0),
        atol=1e-5,
        what="switch_balancing_loss(logits, alpha=1) when every token goes to expert 2 (value about E = 4)",
    )


@pytest.mark.points(3)
def test_router_z_loss(sub, rng):
    """z-loss = mean of logsumexp^2 (N=9, E=5), also for logits in the thousands"""
    logits = 3.0 * torch.randn(9, 5, generator=rng)
    expect_scalar(
        sub.call("losses.router_z_loss", logits),
        float((torch.logsumexp(logits.double(), -1) ** 2).mean()),
        atol=1e-6,
        rtol=1e-5,
        what="router_z_loss(logits), logits of shape (9, 5)",
    )
    big = logits + 2000.0
    expect_scalar(
        sub.call("losses.router_z_loss", big),
        float((torch.logsumexp(big.double(), -1) ** 2).mean()),
        atol=0.0,
        rtol=1e-5,
        what="router_z_loss(logits + 2000) (finite and accurate: never exp of a large logit)",
    )


@pytest.mark.points(2)
@pytest.mark.visibility("after_due_date")
def test_loss_gradients(sub, rng):
    """gradients of the balancing loss (through P only) and of the z-loss reach the logits (N=7, E=4, k=2)"""
    logits = torch.randn(7, 4, generator=rng)
    for target, args, oracle in [
        ("losses.load_balancing_loss", (2,), lambda z: O.hf_balancing_loss(z, 4, 2)),
        ("losses.router_z_loss", (), lambda z: (torch.logsumexp(z, -1) ** 2).mean()),
    ]:
        r = sub.probe(target, logits, *args, observe=["grads"], grad_inputs=[0])
        grads = r["grads"]
        expect(grads["error"] is None, f"{target}(logits): backward failed: {grads['error']}")
        z = logits.clone().requires_grad_(True)
        (want,) = torch.autograd.grad(oracle(z), z)
        expect_close(grads["inputs"].get("0"), want, atol=1e-6, what=f"d {target}(logits) / d logits, (7, 4)")


@pytest.mark.points(1)
def test_expert_load_and_imbalance(sub, rng):
    """expert_load: shares of the N * k assignments; load_imbalance = max share * E (N=10, E=6, k=2)"""
    idx = O.random_assignments(rng, 10, 6, 2, skew=2.0)
    want = torch.bincount(idx.reshape(-1), minlength=6).float() / 20
    expect_close(sub.call("losses.expert_load", idx, 6), want, atol=1e-7, what="expert_load(expert_index, 6)")
    expect_scalar(
        sub.call("losses.load_imbalance", idx, 6),
        float(want.max() * 6),
        atol=1e-6,
        what="load_imbalance(expert_index, 6)",
    )
