"""Task 4, Block and MLP (10 points).

Expected values: stored in a3_snapshot.pt, computed with a Hugging Face GPT-2 block (eager attention, no
dropout) for random weights. Tolerance 1e-5 absolute plus 1e-5 relative (float32).
"""

import _common as C  # the suite's own helpers (its folder is on sys.path while it runs)
import pytest

from autograder.checks import expect_close


@pytest.mark.points(6)
def test_block_matches_snapshot(sub):
    """Block (d_model=15, n_heads=5) matches a Hugging Face GPT-2 block (B=3, T=5)"""
    snap = C.SNAPSHOT["block"]
    config = sub.call("model.GPTConfig", vocab_size=3, block_size=16, d_model=15, n_layers=1, n_heads=5)
    block = sub.call("model.Block", config)
    C.load_weights(block, snap["weights"], "Block(d_model=15, n_heads=5)")
    block.call("eval")
    expect_close(
        block(snap["x"]),
        snap["out"],
        atol=1e-5,
        rtol=1e-5,
        what="Block(x), x of shape (3, 5, 15), d_model=15, n_heads=5",
    )


@pytest.mark.points(4)
def test_mlp_matches_snapshot(sub):
    """MLP(15): Linear -> GELU (tanh approximation) -> Linear (B=2, T=4)"""
    snap = C.SNAPSHOT["mlp"]
    mlp = sub.call("model.MLP", 15)
    C.load_weights(mlp, snap["weights"], "MLP(15)")
    expect_close(
        mlp(snap["x"]),
        snap["out"],
        atol=1e-5,
        rtol=1e-5,
        what="MLP(15)(x), x of shape (2, 4, 15) (GPT-2 uses the tanh approximation of GELU)",
    )
