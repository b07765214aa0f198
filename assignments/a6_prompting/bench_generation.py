"""Why the harness sends every prompt of an experiment in one ``generate`` call: batched against one by one.

    python bench_generation.py [N_PROMPTS]

Times greedy chain-of-thought generation with the shipped ``arith`` model for N held-out sums (default 64),
first one prompt per call, then all prompts in one call (left padding and a key/value cache), checks that both
give the same texts, and prints the speed-up.
"""

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
for cand in (HERE, HERE.parent.parent / "solutions" / "a6_prompting"):  # the workspace, or the kit checkout
    if (cand / "tinylm.py").exists():
        sys.path.insert(0, str(cand))
        break

import tasks  # noqa: E402
import torch  # noqa: E402
from tinylm import load_backend  # noqa: E402


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    torch.set_num_threads(2)
    model = load_backend("arith")
    prompts = [f"Q: {p.input}\nA: {tasks.COT_TRIGGER}" for p in tasks.make_sum_problems(n, seed=0)]
    t0 = time.perf_counter()
    one_by_one = [model.generate([p], max_new_tokens=64)[0] for p in prompts]
    t1 = time.perf_counter()
    batched = model.generate(prompts, max_new_tokens=64)
    t2 = time.perf_counter()
    same = sum(a == b for a, b in zip(one_by_one, batched, strict=True))
    print(f"{n} chain-of-thought prompts, up to 64 new characters each")
    print(f"  one prompt per call: {t1 - t0:6.2f} s")
    print(f"  one batched call:    {t2 - t1:6.2f} s  ({(t1 - t0) / max(t2 - t1, 1e-9):.1f}x faster)")
    print(f"  identical texts:     {same} of {n}")


if __name__ == "__main__":
    main()
