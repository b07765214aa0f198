"""Task 7, sampling: filter_logits, sample_next, generate (15 points).

Oracles: the filtering pinned in the handout (temperature, then top-k, then top-p over the renormalised
remaining tokens, keeping the smallest prefix whose mass reaches top_p), decided in float64 on inputs chosen
so that no token sits within 1e-3 of a top-p boundary or ties at the k-th value; the exact argmax for greedy
decoding; a Hugging Face GPT-2 (see test_gpt.py) for ``generate``, whose every greedy token must be an argmax
of the oracle's logits on the submission's own prefix (a tie margin of 1e-4 on logits of order 10).
Sampling is checked for reproducibility, support and frequencies (5 standard errors per token: a correct
sampler fails with a probability below 1e-4, and a submission's draws are fixed by its seed).
"""

import _oracles as O  # the suite's own helpers (its folder is on sys.path while it runs)
import pytest
import torch

from autograder.checks import GradeFailure, expect, expect_close, expect_equal, expect_tensor
from autograder.client import CallFailed

ATOL = 1e-6
P_CANDIDATES = [0.7, 0.8, 0.6, 0.75, 0.85, 0.65, 0.9, 0.55, 0.5, 0.72, 0.78, 0.82, 0.68, 0.62]
TIE_MARGIN = 1e-4
SMALL = dict(vocab_size=37, block_size=11, d_model=24, n_layers=2, n_heads=3)
SMALL_TEXT = "V=37, block_size=11, d_model=24, n_layers=2, n_heads=3"


def _logits(rng, B, V, scale=2.0):
    """Random logits without near-ties (ties at the k-th value are not specified by the handout)."""
    while True:
        x = scale * torch.randn(B, V, generator=rng)
        gaps = torch.sort(x, dim=-1).values.diff(dim=-1)
        if bool(gaps.min() > 1e-3):
            return x


def _case(rng, B, V, temperature, top_k, distinguish=False):
    """(logits, top_p, expected filtered logits, kept set) for a robust top_p; with ``distinguish``, also such
    that applying top-p before top-k, or the temperature after filtering, would keep different tokens."""
    for _ in range(100):
        logits = _logits(rng, B, V)
        for p in P_CANDIDATES:
            keep = O.kept_sets(logits, temperature, top_k, p)
            if keep is None:
                continue
            if distinguish:
                top_p_first = O.kept_sets(logits, temperature, None, p)
                top_k_only = O.kept_sets(logits, temperature, top_k, None)
                late_temperature = O.kept_sets(logits, 1.0, top_k, p)
                if top_p_first is None or late_temperature is None:
                    continue
                if torch.equal(top_p_first & top_k_only, keep) or torch.equal(late_temperature, keep):
                    continue
            return logits, p, (logits / temperature).masked_fill(~keep, float("-inf")), keep
    raise RuntimeError("no robust sampling case found")  # the suite's own design error


def _check_filter(sub, logits, temperature, top_k, top_p, expected, label):
    got = sub.call("sampling.filter_logits", logits, temperature=temperature, top_k=top_k, top_p=top_p)
    expect_close(
        got,
        expected,
        atol=ATOL,
        what=f"filter_logits(logits of shape {tuple(logits.shape)}, {label}): kept entries must "
        f"equal logits / temperature and removed ones -inf",
    )


@pytest.mark.points(2)
def test_filter_temperature_and_top_k(sub, rng):
    """filter_logits: temperature divides, top-k keeps the k largest; bad arguments raise (B=3, V=37)"""
    logits = _logits(rng, 3, 37)
    _check_filter(sub, logits, 0.7, None, None, logits / 0.7, "temperature=0.7")
    for temperature, k in [(1.0, 5), (1.6, 1), (0.5, 37), (1.0, 50)]:
        keep = O.kept_sets(logits, temperature, k, None)
        expected = (logits / temperature).masked_fill(~keep, float("-inf"))
        _check_filter(sub, logits, temperature, k, None, expected, f"temperature={temperature}, top_k={k}")
    # the error paths, checked after the normal path above (a function that always raises earns nothing)
    for bad in (
        dict(temperature=0.0),
        dict(temperature=-1.0),
        dict(top_k=0),
        dict(top_p=0.0),
        dict(top_p=1.5),
    ):
        call = "filter_logits(logits, " + ", ".join(f"{k}={v}" for k, v in bad.items()) + ")"
        try:
            sub.call("sampling.filter_logits", logits, **bad)
        except CallFailed as exc:
            first_line = (str(exc).splitlines() or [""])[0]  # "<call>: <ExceptionType>: <message>"
            if exc.kind == "exception" and ": ValueError:" in first_line:
                continue
            raise GradeFailure(f"{call} must raise ValueError; it raised: {str(exc)[:300]}") from None
        raise GradeFailure(f"{call} must raise ValueError; it returned")


@pytest.mark.points(2)
def test_filter_top_p(sub, rng):
    """filter_logits: top-p keeps the smallest most-probable prefix whose mass reaches top_p (B=4, V=37)"""
    logits, p, expected, _ = _case(rng, 4, 37, 1.0, None)
    _check_filter(sub, logits, 1.0, None, p, expected, f"top_p={p}")
    logits, p, expected, _ = _case(rng, 4, 37, 1.0, None)
    _check_filter(sub, logits, 1.0, None, p, expected, f"top_p={p} (another draw)")
    _check_filter(sub, logits, 1.0, None, 1.0, logits, "top_p=1.0 (keeps every token)")
    peaked = logits.clone()
    peaked[:, 3] += 40.0  # one token holds nearly all the mass: it alone is kept, even for top_p = 0.05
    expected = torch.full_like(peaked, float("-inf"))
    expected[:, 3] = peaked[:, 3]
    _check_filter(sub, peaked, 1.0, None, 0.05, expected, "top_p=0.05 with one dominant token")
    # the other tokens' probabilities (about 1e-17) vanish in a float32 cumulative sum: top_p = 1 keeps them
    _check_filter(
        sub, peaked, 1.0, None, 1.0, peaked, "top_p=1.0 with one dominant token (keeps every token)"
    )


@pytest.mark.points(1)
def test_filter_order(sub, rng):
    """filter_logits applies temperature, then top-k, then top-p on the renormalised rest (B=4, V=37)"""
    for temperature, k in [(0.6, 8), (1.8, 10)]:
        logits, p, expected, _ = _case(rng, 4, 37, temperature, k, distinguish=True)
        _check_filter(
            sub, logits, temperature, k, p, expected, f"temperature={temperature}, top_k={k}, top_p={p}"
        )


@pytest.mark.points(1)
def test_sample_next_greedy(sub, rng):
    """sample_next with temperature 0 returns the argmax of each row (B=5, V=37)"""
    logits = _logits(rng, 5, 37)
    got = sub.call("sampling.sample_next", logits, temperature=0.0)
    expect_equal(got, logits.argmax(dim=-1), what="sample_next(logits of shape (5, 37), temperature=0)")
    got = sub.call("sampling.sample_next", logits, temperature=0.0, top_k=3, top_p=0.5, seed=1)
    expect_equal(got, logits.argmax(dim=-1), what="sample_next(logits, temperature=0, top_k=3, top_p=0.5)")


@pytest.mark.points(1)
def test_sample_next_seeded_and_in_support(sub, rng, seed):
    """sample_next: the same seed (or equally seeded generators) gives the same tokens, all in the filter"""
    base, p, _, _ = _case(rng, 4, 37, 0.9, 7, distinguish=True)
    logits = base.repeat(6, 1)  # 24 rows
    keep = O.kept_sets(logits, 0.9, 7, p)
    kwargs = dict(temperature=0.9, top_k=7, top_p=p)
    first = O.token_ids(
        sub.call("sampling.sample_next", logits, seed=seed, **kwargs),
        (24,),
        37,
        f"sample_next(logits of shape (24, 37), temperature=0.9, top_k=7, top_p={p}, seed=...)",
    )
    again = sub.call("sampling.sample_next", logits, seed=seed, **kwargs)
    expect_equal(again, first, what="sample_next called twice with the same seed")
    inside = keep.gather(1, first[:, None]).squeeze(1)
    expect(
        bool(inside.all()),
        f"sample_next drew {int((~inside).sum())} of 24 tokens that the filter "
        f"removes (temperature=0.9, top_k=7, top_p={p})",
    )
    g1 = sub.new("torch.Generator").call("manual_seed", seed + 1)
    g2 = sub.new("torch.Generator").call("manual_seed", seed + 1)
    one = O.token_ids(
        sub.call("sampling.sample_next", logits, generator=g1, **kwargs),
        (24,),
        37,
        "sample_next(..., generator=g)",
    )
    two = sub.call("sampling.sample_next", logits, generator=g2, **kwargs)
    expect_equal(two, one, what="sample_next with two generators seeded alike")
    single = O.token_ids(  # a batch of one stays a batch: shape (1,), not a 0-d tensor
        sub.call("sampling.sample_next", logits[:1], seed=seed, **kwargs),
        (1,),
        37,
        f"sample_next(logits of shape (1, 37), temperature=0.9, top_k=7, top_p={p}, seed=...)",
    )
    expect(bool(keep[0, single[0]]), "sample_next on one row drew a token that the filter removes")


@pytest.mark.points(1)
def test_sample_next_frequencies(sub, rng, seed):
    """sample_next draws from softmax(filter_logits(...)): 4000 draws per row (2 rows, V=37)"""
    n = 4000
    base, p, expected, _ = _case(rng, 2, 37, 1.3, 12, distinguish=True)
    probs = torch.softmax(expected.double(), dim=-1)  # [2, V]
    logits = base.repeat(n, 1)  # rows alternate: 0, 1, 0, 1, ...
    got = O.token_ids(
        sub.call("sampling.sample_next", logits, temperature=1.3, top_k=12, top_p=p, seed=seed),
        (2 * n,),
        37,
        "sample_next(logits of shape (8000, 37), temperature=1.3, top_k=12, ...)",
    )
    for row in range(2):
        counts = torch.bincount(got[row::2], minlength=37).double()
        freq = counts / n
        outside = int(counts[probs[row] == 0].sum())
        expect(outside == 0, f"row {row}: {outside} of {n} draws are tokens the filter removes")
        se = torch.sqrt(probs[row] * (1 - probs[row]) / n)
        off = (freq - probs[row]).abs() > 5 * se + 0.5 / n
        if bool(off.any()):
            worst = int(((freq - probs[row]).abs() / (se + 1e-12)).argmax())
            raise GradeFailure(
                f"row {row}: the frequencies of {int(off.sum())} tokens are more than 5 standard errors away "
                f"from softmax(filter_logits(logits, temperature=1.3, top_k=12, top_p={p})) over {n} draws "
                f"(the worst, token {worst}, drawn {int(counts[worst])} times, expected about "
                f"{float(probs[row, worst]) * n:.0f})"
            )


def _check_greedy_steps(hf, out, prompt_len, block_size, what):
    """Each generated token is an argmax (within TIE_MARGIN) of the oracle's logits on the actual prefix."""
    for t in range(prompt_len, out.shape[1]):
        context = out[:, :t][:, -block_size:]
        logits = O.hf_logits(hf, context)[:, -1]  # [B, V]
        chosen = logits.gather(1, out[:, t : t + 1]).squeeze(1)
        bad = chosen < logits.max(dim=-1).values - TIE_MARGIN
        if bool(bad.any()):
            raise GradeFailure(
                f"{what}: the token generated at position {t} is not the argmax of the "
                f"next-token logits for its prefix (of length {context.shape[1]}) in "
                f"{int(bad.sum())} of {out.shape[0]} rows"
            )


@pytest.mark.points(1)
def test_generate_greedy(sub, rng):
    """generate with temperature 0 appends, one step at a time, the argmax of the model (B=2 and B=1)"""
    hf = O.hf_gpt(rng, **SMALL)
    model = O.student_gpt(sub, hf, f"GPT({SMALL_TEXT})")
    prompt = torch.randint(0, 37, (2, 3), generator=rng)
    what = "generate(model, prompt of shape (2, 3), max_new_tokens=5, temperature=0)"
    out = O.token_ids(
        sub.call("sampling.generate", model, prompt, max_new_tokens=5, temperature=0.0), (2, 8), 37, what
    )
    expect_equal(out[:, :3], prompt, what=f"{what}: the first 3 tokens (the prompt, unchanged)")
    _check_greedy_steps(hf, out, 3, 11, what)
    same = sub.call("sampling.generate", model, prompt, max_new_tokens=0, temperature=0.0)
    expect_equal(same, prompt, what="generate(model, prompt, max_new_tokens=0): the prompt itself")
    what = "generate(model, prompt of shape (1, 4), max_new_tokens=3, temperature=0) (a batch of one)"
    solo = torch.randint(0, 37, (1, 4), generator=rng)
    one = O.token_ids(
        sub.call("sampling.generate", model, solo, max_new_tokens=3, temperature=0.0), (1, 7), 37, what
    )
    expect_equal(one[:, :4], solo, what=f"{what}: the prompt")
    _check_greedy_steps(hf, one, 4, 11, what)


def _discriminating_case(rng, config, B, T):
    """(HF model, prompt [B, T > block_size]) such that in every row the next greedy token changes when the
    context is cropped wrongly (to its first block_size tokens, or to one token too few), so that the first
    generated token already tells a correct crop from those."""
    block_size = config["block_size"]
    for _ in range(10):
        hf = O.hf_gpt(rng, **config)
        prompts = torch.randint(0, 37, (256, T), generator=rng)
        right = O.hf_logits(hf, prompts[:, -block_size:])[:, -1]
        best = right.max(dim=-1).values
        ok = torch.ones(len(prompts), dtype=torch.bool)
        for wrong in (prompts[:, :block_size], prompts[:, -(block_size - 1) :]):
            token = O.hf_logits(hf, wrong)[:, -1].argmax(dim=-1, keepdim=True)
            ok &= right.gather(1, token).squeeze(1) < best - 10 * TIE_MARGIN
        if int(ok.sum()) >= B:
            return hf, prompts[ok][:B]
    raise RuntimeError("no discriminating prompt found")  # the suite's own design error


@pytest.mark.points(1)
def test_generate_crops_context(sub, rng):
    """generate runs past block_size by cropping the context to its last block_size tokens (block_size=6)"""
    hf, long_prompt = _discriminating_case(rng, dict(SMALL, block_size=6), 3, 8)
    model = O.student_gpt(sub, hf, "GPT(V=37, block_size=6, d_model=24, n_layers=2, n_heads=3)")
    for prompt, new in [(torch.randint(0, 37, (2, 4), generator=rng), 7), (long_prompt, 3)]:
        B, T = prompt.shape
        what = (
            f"generate(model with block_size=6, prompt of shape {(B, T)}, max_new_tokens={new}, "
            f"temperature=0)"
        )
        out = sub.call("sampling.generate", model, prompt, max_new_tokens=new, temperature=0.0)
        out = O.token_ids(out, (B, T + new), 37, what)
        expect_equal(out[:, :T], prompt, what=f"{what}: the prompt")
        _check_greedy_steps(hf, out, T, 6, what)


@pytest.mark.points(1)
def test_generate_sampling(sub, rng, seed):
    """generate with a seed: reproducible, inside the top-k, one generator for the whole call (B=3, +6)"""
    hf = O.hf_gpt(rng, **SMALL)
    model = O.student_gpt(sub, hf, f"GPT({SMALL_TEXT})")
    prompt = torch.randint(0, 37, (3, 2), generator=rng)
    what = "generate(model, prompt of shape (3, 2), max_new_tokens=6, temperature=0.8, top_k=3, seed=...)"
    out = O.token_ids(
        sub.call("sampling.generate", model, prompt, max_new_tokens=6, temperature=0.8, top_k=3, seed=seed),
        (3, 8),
        37,
        what,
    )
    again = sub.call(
        "sampling.generate", model, prompt, max_new_tokens=6, temperature=0.8, top_k=3, seed=seed
    )
    expect_equal(again, out, what=f"{what}, called twice with the same seed")
    expect_equal(out[:, :2], prompt, what=f"{what}: the prompt")
    for t in range(2, 8):
        logits = O.hf_logits(hf, out[:, :t])[:, -1]
        third = torch.topk(logits, 3, dim=-1).values[:, -1]
        chosen = logits.gather(1, out[:, t : t + 1]).squeeze(1)
        bad = chosen < third - TIE_MARGIN
        expect(
            not bool(bad.any()),
            f"{what}: the token at position {t} is outside the top 3 of the model's "
            f"next-token logits in {int(bad.sum())} of 3 rows",
        )
    greedy = expect_tensor(
        sub.call("sampling.generate", model, prompt, max_new_tokens=6, temperature=0.0),
        shape=(3, 8),
        dtype=torch.int64,
        what="generate(..., temperature=0)",
    )
    top1 = sub.call("sampling.generate", model, prompt, max_new_tokens=6, temperature=1.0, top_k=1, seed=seed)
    expect_equal(
        top1,
        greedy,
        what="generate(..., temperature=1.0, top_k=1) against the same call with "
        "temperature=0 (keeping one token leaves nothing to sample)",
    )
    # A model whose next-token distribution is the same after any context (its final LayerNorm has weight 0):
    # drawing from one generator seeded once gives varying tokens; re-seeding at every step repeats one draw.
    with torch.no_grad():
        hf.transformer.ln_f.weight.zero_()
        hf.transformer.ln_f.bias.copy_(0.3 * torch.randn(24, generator=rng))
    flat = O.student_gpt(sub, hf, f"GPT({SMALL_TEXT})")
    prompt = torch.randint(0, 37, (4, 2), generator=rng)
    what = "generate(model, prompt of shape (4, 2), max_new_tokens=10, temperature=1.0, seed=...)"
    out = sub.call("sampling.generate", flat, prompt, max_new_tokens=10, temperature=1.0, seed=seed)
    out = O.token_ids(out, (4, 12), 37, what)
    new = out[:, 2:]
    expect(
        bool((new != new[:, :1]).any()),
        f"{what}: each row repeats a single token, although the model gives the same spread-out "
        f"distribution at every step: seed one generator once per call and draw every step from it "
        f"(re-seeding at each step repeats the first draw)",
    )


# ---------------------------------------------------------------------------------------------- probes
# These tests run the call inside the kit's probes (made in the worker, returning raw observations that the
# test judges): what the call did to its input, which generator it drew from, the grad and train/eval mode.


@pytest.mark.points(1)
def test_filter_leaves_logits_unchanged(sub, rng):
    """filter_logits returns the filtered logits as a new tensor and leaves the caller's logits unchanged
    (B=3, V=37)"""
    for temperature, top_k in [(0.7, None), (1.3, 9)]:
        logits, top_p, expected, _ = _case(rng, 3, 37, temperature, top_k)
        label = f"temperature={temperature}, top_k={top_k}, top_p={top_p}"
        kwargs = dict(temperature=temperature, top_k=top_k, top_p=top_p)
        r = sub.probe("sampling.filter_logits", logits, kwargs=kwargs, observe=["inputs_after"])
        expect_close(  # an unchanged input earns nothing unless the filtering itself is right
            r["value"], expected, atol=ATOL, what=f"filter_logits(logits of shape (3, 37), {label})"
        )
        O.expect_unchanged(
            r["inputs_after"]["args"][0], logits, what=f"the logits passed to filter_logits({label})"
        )


def _spread_logits(rng, B: int) -> torch.Tensor:
    """[B, 37] logits of scale 1: every row spreads its mass, so two different seeds draw differently."""
    return _logits(rng, 1, 37, scale=1.0).repeat(B, 1)


@pytest.mark.points(1)
def test_sample_next_seeds_and_the_global_generator(sub, rng, seed):
    """sample_next: any seed (0 too) fixes the draws whatever torch's global generator holds, other seeds
    draw otherwise, and with a seed or a generator the global generator is left alone (24 rows, V=37)"""
    logits = _spread_logits(rng, 24)
    draws = {}
    for s in (0, seed, seed + 1, seed + 2):
        what = f"sample_next(logits of shape (24, 37), temperature=1.0, seed={'0' if s == 0 else '...'})"
        runs = [
            sub.probe(
                "sampling.sample_next", logits, kwargs={"seed": s}, observe=["global_rng"], global_seed=g
            )
            for g in (seed + 11, seed + 12)
        ]
        first = O.token_ids(runs[0]["value"], (24,), 37, what)
        expect_equal(
            runs[1]["value"],
            first,
            what=f"{what} after torch.manual_seed(a) and after torch.manual_seed(b): the seed alone must fix "
            f"the draws (draw from a torch.Generator seeded with it; seed=0 is a seed like any other)",
        )
        expect(
            not any(run["global_rng"]["advanced"] for run in runs),
            f"{what} changed torch's global generator: with a seed, draw only from a generator of your own",
        )
        draws[s] = first
    same = [(a, b) for a in draws for b in draws if a < b and torch.equal(draws[a], draws[b])]
    expect(
        not same,
        f"sample_next drew the very same 24 tokens for {len(same)} pairs of different seeds, on logits where "
        f"that is practically impossible: the seed must be used (not a fixed one)",
    )
    generator = sub.new("torch.Generator").call("manual_seed", seed)
    r = sub.probe(
        "sampling.sample_next", logits, kwargs={"generator": generator}, observe=["global_rng"], global_seed=5
    )
    O.token_ids(r["value"], (24,), 37, "sample_next(logits, generator=g)")
    expect(
        not r["global_rng"]["advanced"],
        "sample_next(logits of shape (24, 37), generator=g) changed torch's global generator: draw from g",
    )
    plain = [
        sub.probe("sampling.sample_next", logits, observe=["global_rng"], global_seed=seed + 3)
        for _ in range(2)
    ]
    expect_equal(
        plain[1]["value"],
        O.token_ids(plain[0]["value"], (24,), 37, "sample_next(logits) without seed or generator"),
        what="sample_next(logits) without seed or generator, twice after the same torch.manual_seed: it "
        "must draw from torch's global generator",
    )
    expect(
        plain[0]["global_rng"]["advanced"],
        "sample_next(logits) without seed or generator did not draw from torch's global generator",
    )


@pytest.mark.points(2)
def test_generate_no_grad_modes_and_seed(sub, rng, seed):
    """generate runs the model under no_grad, restores the caller's grad mode, leaves the train/eval mode as
    it is, and with a seed draws only from its own generator (B=2, prompt 3, +4)"""
    hf = O.hf_gpt(rng, **SMALL)
    model = O.student_gpt(sub, hf, f"GPT({SMALL_TEXT})")
    prompt = torch.randint(0, 37, (2, 3), generator=rng)
    kwargs = dict(max_new_tokens=4, temperature=1.0, top_k=5, seed=seed)
    what = "generate(model, prompt of shape (2, 3), max_new_tokens=4, temperature=1.0, top_k=5, seed=...)"
    outputs = []
    for grad_on, train in [(True, True), (False, False), (True, False)]:
        state = f"grad {'on' if grad_on else 'off'}, model in {'train' if train else 'eval'} mode"
        mode = f"{what} called with {state}"
        r = sub.probe(
            "sampling.generate",
            model,
            prompt,
            kwargs=kwargs,
            observe=["grad_mode", "modules", "training", "global_rng"],
            grad_enabled=grad_on,
            train=train,
            global_seed=seed + len(outputs),
        )
        outputs.append(O.token_ids(r["value"], (2, 7), 37, mode))
        calls = r["modules"]
        expect(bool(calls), f"{mode}: the model was never called")
        with_grad = sum(c["count"] for c in calls if c["grad_enabled"])
        expect(
            with_grad == 0,
            f"{mode}: {with_grad} module calls ran with gradients enabled; generate runs under "
            f"torch.no_grad()",
        )
        after = r["grad_mode"]["after"]
        expect(
            after == grad_on,
            f"{mode}: grad mode was {'on' if after else 'off'} after the call; generate must restore it "
            f"(use `with torch.no_grad():`)",
        )
        changed = sorted(name or "the model" for name, t in r["training"]["args.0"].items() if t != train)
        expect(
            not changed,
            f"{mode}: after the call {', '.join(changed[:4])} {'is' if len(changed) == 1 else 'are'} in "
            f"{'eval' if train else 'train'} mode; generate leaves the model's mode as it is",
        )
        expect(
            not r["global_rng"]["advanced"],
            f"{mode}: the call changed torch's global generator; with a seed, draw only from one "
            f"torch.Generator of your own, seeded once",
        )
    for out in outputs[1:]:
        expect_equal(
            out,
            outputs[0],
            what=f"{what}, called after different torch.manual_seed values: the seed alone fixes the tokens",
        )
    # A model whose next-token distribution is the same spread-out one after any context (final LayerNorm
    # weight 0, as in test_generate_sampling): different seeds must give different continuations.
    with torch.no_grad():
        hf.transformer.ln_f.weight.zero_()
        hf.transformer.ln_f.bias.copy_(0.3 * torch.randn(24, generator=rng))
    flat = O.student_gpt(sub, hf, f"GPT({SMALL_TEXT})")
    prompt = torch.randint(0, 37, (4, 2), generator=rng)
    runs = [
        sub.call("sampling.generate", flat, prompt, max_new_tokens=10, temperature=1.0, seed=seed + i)
        for i in range(3)
    ]
    runs = [
        O.token_ids(out, (4, 12), 37, "generate(model, prompt of shape (4, 2), +10, seed=...)")
        for out in runs
    ]
    expect(
        not any(torch.equal(runs[i], runs[j]) for i in range(3) for j in range(i + 1, 3)),
        "generate(model, prompt of shape (4, 2), max_new_tokens=10, temperature=1.0) gave the very same 40 "
        "tokens for different seeds on a model whose distribution is spread out: seed the generator with the "
        "given seed",
    )
