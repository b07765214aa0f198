"""Mutants of the a6 reference: realistic student bugs, each a small textual patch of one reference module.

Each entry is ``(id, module, description, old_snippet, new_snippet)``; the old snippet occurs exactly once in
``solutions/a6_prompting/<module>``. ``test_a6_quality.py`` asserts that the hidden suite takes points off
each.
"""

MUTANTS = [
    # ---------------------------------------------------------------- prompts.py
    (
        "exemplars_reversed",
        "prompts.py",
        "exemplars shown in reverse order",
        "    for ex in exemplars:\n",
        "    for ex in reversed(exemplars):\n",
    ),
    (
        "missing_last_separator",
        "prompts.py",
        "no separator between the last exemplar and the query (the model was trained with one)",
        "    for ex in exemplars:\n"
        "        parts.append(format_example(template, ex) + template.example_sep)\n",
        "    parts.append(template.example_sep.join(format_example(template, ex) for ex in exemplars))\n",
    ),
    (
        "instruction_without_separator",
        "prompts.py",
        "the instruction glued to the first exemplar",
        "parts.append(template.instruction + template.example_sep)",
        "parts.append(template.instruction)",
    ),
    (
        "cot_without_space",
        "prompts.py",
        "the trigger appended without its space",
        'parts.append(" " + COT_TRIGGER)',
        "parts.append(COT_TRIGGER)",
    ),
    (
        "target_prefix_dropped",
        "prompts.py",
        "exemplars without the target prefix",
        "{t.output_prefix}{t.target_prefix}{example.target}",
        "{t.output_prefix}{example.target}",
    ),
    # ---------------------------------------------------------------- selection.py
    (
        "random_sorted",
        "selection.py",
        "randomly selected exemplars sorted by pool index",
        "idx = random.Random(seed).sample(cands, k)",
        "idx = sorted(random.Random(seed).sample(cands, k))",
    ),
    (
        "query_among_exemplars",
        "selection.py",
        "the query's own example may be selected (exclude ignored)",
        "    cands = [i for i in range(len(pool)) if i != exclude]\n",
        "    cands = list(range(len(pool)))\n    k = min(k, len(cands) - (exclude is not None))\n",
    ),
    (
        "nearest_most_similar_first",
        "selection.py",
        "nearest exemplars with the most similar first",
        "return [pool[i] for i in reversed(ranked)]",
        "return [pool[i] for i in ranked]",
    ),
    (
        "bigrams_only",
        "selection.py",
        "similarity on 2-grams only",
        "return set(text) | {text[i : i + 2] for i in range(len(text) - 1)}",
        "return {text[i : i + 2] for i in range(len(text) - 1)}",
    ),
    (
        "nearest_ties_last_index",
        "selection.py",
        "similarity ties broken by the larger index",
        "key=lambda i: (-similarity(pool[i].input, query), i)",
        "key=lambda i: (-similarity(pool[i].input, query), -i)",
    ),
    # ---------------------------------------------------------------- reasoning.py
    (
        "first_number",
        "reasoning.py",
        "the first number taken instead of the last",
        "return normalize_number(numbers[-1])",
        "return normalize_number(numbers[0])",
    ),
    (
        "no_thousands_separator",
        "reasoning.py",
        '"1,000" read as 1 (no thousands separators in the number pattern)',
        'NUMBER = r"[-+]?(?:\\d{1,3}(?:,\\d{3})+|\\d+)(?:\\.\\d+)?"',
        'NUMBER = r"[-+]?\\d+(?:\\.\\d+)?"',
    ),
    (
        "answer_marker_before_hashes",
        "reasoning.py",
        '"the answer is" looked for before "####"',
        'for marker in (r"####\\s*", r"the answer is:?\\s*"):',
        'for marker in (r"the answer is:?\\s*", r"####\\s*"):',
    ),
    (
        "case_sensitive_marker",
        "reasoning.py",
        '"The answer is" matched case-sensitively only',
        'hits = list(re.finditer(marker + f"({NUMBER})", text, flags=re.IGNORECASE))',
        'hits = list(re.finditer(marker.replace("the", "The") + f"({NUMBER})", text))',
    ),
    (
        "minus_zero_kept",
        "reasoning.py",
        "-0 not normalised to 0, leading zeros kept",
        'whole = whole.lstrip("0") or "0"',
        "whole = whole",
    ),
    (
        "tie_last_vote",
        "reasoning.py",
        "vote ties broken by the last vote",
        "return next(a for a, c in counts.items() if c == best)",
        "return [a for a, c in counts.items() if c == best][-1]",
    ),
    (
        "none_counted",
        "reasoning.py",
        "None counted as an answer in the vote",
        "        if a is not None:\n            counts[a] = counts.get(a, 0) + 1",
        "        if True:\n            counts[a] = counts.get(a, 0) + 1",
    ),
    (
        "sampling_ignores_seed",
        "reasoning.py",
        "sampling without the seeded generator",
        "texts = model.generate(batch, max_new_tokens, temperature=temperature, generator=gen)",
        "texts = model.generate(batch, max_new_tokens, temperature=temperature, generator=None)",
    ),
    (
        "samples_interleaved",
        "reasoning.py",
        "samples batched sample-major (p0, p1, ..., p0, p1, ...) instead of prompt-major",
        "    batch = [p for p in prompts for _ in range(n)]  # prompt-major: p0 x n, p1 x n, ...\n"
        "    texts = model.generate(batch, max_new_tokens, temperature=temperature, generator=gen)\n"
        "    answers = [extract(t) for t in texts]\n",
        "    batch = [p for _ in range(n) for p in prompts]\n"
        "    texts = model.generate(batch, max_new_tokens, temperature=temperature, generator=gen)\n"
        "    texts = [texts[j * len(prompts) + i] for i in range(len(prompts)) for j in range(n)]\n"
        "    answers = [extract(t) for t in texts]\n",
    ),
    # ---------------------------------------------------------------- evaluation.py
    (
        "wald_interval",
        "evaluation.py",
        "the Wald interval p +- z sqrt(p(1-p)/n) instead of Wilson's",
        "    centre = (p + z * z / (2 * n)) / denom\n"
        "    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom\n",
        "    centre = p\n    half = z * math.sqrt(p * (1 - p) / n)\n",
    ),
    (
        "curve_wrong_axis",
        "evaluation.py",
        "the split accuracies averaged over all problems instead of the split's own",
        "            curve[split].append(accuracy([preds[i] for i in idx], [targets[i] for i in idx]))",
        "            curve[split].append("
        "accuracy([preds[i] if i in idx else None for i in range(len(preds))], targets))",
    ),
    (
        "icl_same_seed",
        "evaluation.py",
        "the same selection seed for every problem",
        "exemplars = select_random(list(prob.pool), k, seed=seed + i)",
        "exemplars = select_random(list(prob.pool), k, seed=seed)",
    ),
    (
        "cot_tokens_too_few",
        "evaluation.py",
        "chains cut at the direct answer's budget",
        '"cot": evaluate(model, cot, targets, COT_TOKENS)[0],',
        '"cot": evaluate(model, cot, targets, DIRECT_TOKENS)[0],',
    ),
    (
        "single_from_first_sample",
        "evaluation.py",
        '"single" scored on the first sample only',
        "single = accuracy([a for r in rows for a in r], [t for t in targets for _ in range(n_max)])",
        "single = accuracy([r[0] for r in rows], targets)",
    ),
    # ---------------------------------------------------------------- hf_backend.py
    (
        "hf_right_padding",
        "hf_backend.py",
        "right padding for generation",
        "            ids[b, T - len(e) :] = torch.tensor(e, dtype=torch.long)\n"
        "            mask[b, T - len(e) :] = 1\n",
        "            ids[b, : len(e)] = torch.tensor(e, dtype=torch.long)\n"
        "            mask[b, : len(e)] = 1\n",
    ),
    (
        "hf_eos_kept",
        "hf_backend.py",
        "generation does not stop at eos",
        "if self.eos_id is not None and int(tok[b]) == self.eos_id:",
        "if False:",
    ),
]
