"""Make this assignment's small model, then fine-tune it two ways (you do not need to run this).

    python finetune.py             # data, base model, LoRA and full fine-tuning, the log (minutes, one core)
    python finetune.py --quick     # a few steps of everything into a temporary folder, to see it run

In order, the script

1. writes the instruction set from a small template grammar: ``data/instructions.jsonl`` (training
   conversations) and ``data/heldout.jsonl`` (held-out prompts with their answers). Three tasks that a
   model pretrained on plain text cannot do when asked: write a record as JSON, look a field up in two
   records, reverse a list. Held-out JSON and lookup prompts use names that no training conversation has;
   held-out lists are lists no training conversation has;
2. pretrains a tiny LLaMA-layout decoder (``architectures.py``: RMSNorm, RoPE, grouped-query attention,
   SwiGLU) on generated prose and records that never hold an instruction, and saves it in Hugging Face
   format (``models/base``: ``config.json`` and ``model.safetensors``, ``checkpoints.save_pretrained``);
3. fine-tunes it with LoRA (``lora.py``) on conversations in the llama3 chat format (``chat.py``), the loss on
   the assistant's tokens only, and saves the adapter in peft's layout (``models/lora``);
4. fine-tunes it fully (every weight trains) on the same batches, for comparison;
5. answers the held-out prompts with the base, the LoRA-tuned and the fully tuned model, and writes
   ``models/finetune_log.json``: loss curves, trainable parameters, training-state memory, peak memory of the
   process, CPU and wall time, and every answer.

Tokens are the pinned ``chat.ChatTokenizer("llama3")``: UTF-8 bytes plus llama3's five special tokens, so the
vocabulary has 261 entries. Each training phase runs in a fresh Python process, so that the peak memory and
the time it reports are its own. Everything is seeded; timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

try:
    import resource
except ImportError:  # Windows: no peak memory in the log
    resource = None

HERE = Path(__file__).resolve().parent
for cand in (HERE, HERE.parent.parent / "solutions" / "a7_open_models"):  # the workspace, or the kit checkout
    if (cand / "lora.py").exists():
        sys.path.insert(0, str(cand))
        break

import chat  # noqa: E402
import checkpoints  # noqa: E402
import lora  # noqa: E402
from architectures import Decoder  # noqa: E402

FAMILY = "llama3"  # the chat format of the fine-tuning conversations
TOKENIZER = chat.ChatTokenizer(FAMILY)
DATA, MODELS = HERE / "data", HERE / "models"

# The base model: LLaMA's layout, small enough to train in minutes on one core (181 k parameters, 0.7 MB).
BASE_CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "vocab_size": 256 + len(chat.SPECIAL_TOKENS[FAMILY]),
    "hidden_size": 64,
    "intermediate_size": 192,
    "num_hidden_layers": 3,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 16,
    "max_position_embeddings": 256,
    "rms_norm_eps": 1e-5,
    "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0},
    "hidden_act": "silu",
    "attention_bias": False,
    "mlp_bias": False,
    "tie_word_embeddings": False,
    "bos_token_id": TOKENIZER.special["<|begin_of_text|>"],
    "eos_token_id": TOKENIZER.end_of_turn_id,
    "dtype": "float32",
}
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
# phase -> optimizer steps, batch size, peak learning rate
SETUP = {"pretrain": (1200, 32, 3e-3), "lora": (300, 16, 3e-3), "full": (300, 16, 1e-3)}
LORA_R, LORA_ALPHA = 8, 16
SEQ_LEN = 96  # pretraining window, in tokens
MAX_ANSWER = 48  # new tokens when answering a held-out prompt

# ------------------------------------------------------------------------------------------------ the data

NAMES = "Ada Ben Cleo Dan Eve Finn Gus Hana Ivo Jade Kai Lena Milo Nora Otto Pia Rosa Sam Tara Uma".split()
NAMES += "Vik Wes Xia Yara Zeno Abe Bea Cy Dora Eli Fay Hugo".split()
HELDOUT_NAMES = NAMES[-8:]  # in the pretraining text, never in a training conversation
CITIES = "Lima Oslo Rome Kyiv Lyon Bern Cork Riga Faro Bonn Nice Turku".split()
PETS = "cat dog fox owl hen rat yak eel bee emu".split()
COLOURS = "red blue green pink grey gold teal white black brown".split()
TASKS = ("json", "lookup", "reverse")


def record(name: str, city: str, pet: str) -> str:
    """The record format that pretraining text, JSON prompts and lookup prompts share."""
    return f"name: {name}; city: {city}; pet: {pet}"


def pretraining_document(rng: random.Random) -> str:
    """A few sentences about random people: prose, records and lists, never an instruction. Names come back
    within a document, so that copying from the context pays off (what the three tasks need)."""
    people = rng.sample(NAMES, 3)
    facts = {n: (rng.choice(CITIES), rng.choice(PETS), rng.choice(COLOURS)) for n in people}
    sentences = []
    for _ in range(rng.randint(3, 6)):
        n, m = rng.sample(people, 2)
        city, pet, colour = facts[n]
        sentences.append(
            rng.choice(
                [
                    f"{n} lives in {city}.",
                    f"{n} has a {colour} {pet}.",
                    record(n, city, pet),
                    f"{n} and {m} went to {city}. There {m} saw the {pet} of {n}.",
                    f"{n} likes {', '.join(rng.sample(COLOURS, rng.randint(2, 4)))}.",
                    f"In {city}, {n} met {m}. {m} lives in {facts[m][0]}.",
                ]
            )
        )
    return "<|begin_of_text|>" + "\n".join(sentences) + "<|end_of_text|>"


def task_example(rng: random.Random, task: str, names: list[str]) -> tuple[str, str]:
    """(user prompt, assistant answer) of one task, its names drawn from ``names``."""
    if task == "json":
        n, city, pet = rng.choice(names), rng.choice(CITIES), rng.choice(PETS)
        return f"Write as JSON: {n}, {city}, {pet}", f'{{"name": "{n}", "city": "{city}", "pet": "{pet}"}}'
    if task == "lookup":
        (n, city, pet), (m, city2, pet2) = (
            (x, rng.choice(CITIES), rng.choice(PETS)) for x in rng.sample(names, 2)
        )
        who, (c, p) = rng.choice([(n, (city, pet)), (m, (city2, pet2))])
        field, answer = rng.choice([("Where does {} live?", c), ("Which pet does {} have?", p)])
        return f"{record(n, city, pet)}\n{record(m, city2, pet2)}\n{field.format(who)}", answer
    items = rng.sample(COLOURS + PETS, rng.randint(3, 4))
    return f"Reverse: {', '.join(items)}", ", ".join(reversed(items))


def make_instructions(n_train: int, n_heldout: int, seed: int) -> tuple[list[dict], list[dict]]:
    """Training conversations ``{"task", "messages"}`` and held-out ``{"task", "prompt", "answer"}``, the
    tasks in turn. Held-out prompts never occur in training."""
    rng = random.Random(seed)
    train_names = [n for n in NAMES if n not in HELDOUT_NAMES]
    train = []
    for i in range(n_train):
        task = TASKS[i % len(TASKS)]
        user, answer = task_example(rng, task, train_names)
        messages = [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
        train.append({"task": task, "messages": messages})
    seen = {ex["messages"][0]["content"] for ex in train}
    heldout: list[dict] = []
    while len(heldout) < n_heldout:
        task = TASKS[len(heldout) % len(TASKS)]
        user, answer = task_example(rng, task, HELDOUT_NAMES)
        if user not in seen:
            seen.add(user)
            heldout.append({"task": task, "prompt": user, "answer": answer})
    return train, heldout


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# ------------------------------------------------------------------------------------------------ batches


def pretraining_batch(stream: Tensor, batch: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """``batch`` random windows of SEQ_LEN tokens from the token stream: (ids, labels), both int64 [B, T]."""
    starts = torch.randint(0, len(stream) - SEQ_LEN, (batch,), generator=gen)
    ids = torch.stack([stream[s : s + SEQ_LEN] for s in starts.tolist()])
    return ids, ids.clone()


def chat_batch(examples: list[dict]) -> tuple[Tensor, Tensor]:
    """Conversations as (ids, labels), int64 [B, T], right-padded; labels are -100 outside the assistant's
    tokens (``chat.encode_for_training``) and on the padding."""
    pairs = [chat.encode_for_training(FAMILY, ex["messages"], TOKENIZER) for ex in examples]
    T = max(len(ids) for ids, _ in pairs)
    pad = TOKENIZER.special["<|end_of_text|>"]
    ids = torch.full((len(pairs), T), pad, dtype=torch.long)
    labels = torch.full((len(pairs), T), -100, dtype=torch.long)
    for b, (i, lab) in enumerate(pairs):
        ids[b, : len(i)], labels[b, : len(lab)] = torch.tensor(i), torch.tensor(lab)
    return ids, labels


def lm_loss(model: nn.Module, ids: Tensor, labels: Tensor) -> Tensor:
    """Next-token cross-entropy: logits at t predict labels[t + 1], -100 is ignored; ids, labels [B, T]."""
    logits = model(ids)[:, :-1]  # [B, T-1, V]
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100)


# ------------------------------------------------------------------------------------------------ training


class AsLlamaForCausalLM(nn.Module):
    """The decoder under the attribute ``model``, as in transformers' ``LlamaForCausalLM``: its layers are
    then named ``model.layers.0.self_attn.q_proj`` as there, and a LoRA adapter saved from this wrapper loads
    with ``peft.PeftModel.from_pretrained`` on the Hugging Face model."""

    def __init__(self, decoder: Decoder) -> None:
        super().__init__()
        self.model = decoder

    def forward(self, input_ids: Tensor) -> Tensor:
        return self.model(input_ids)


def training_state_bytes(model: nn.Module, opt: torch.optim.Optimizer) -> dict[str, int]:
    """Bytes held for training: every weight, the gradients, and the optimizer's state (AdamW: two moments
    per trained number). Activations come on top and depend on the batch."""

    def size(ts: list[Tensor]) -> int:
        return sum(t.numel() * t.element_size() for t in ts)

    params = list(model.parameters())
    grads = [p.grad for p in params if p.grad is not None]
    state = [v for s in opt.state.values() for v in s.values() if torch.is_tensor(v) and v.dim() > 0]
    return {"weights": size(params), "gradients": size(grads), "optimizer": size(state)}


def train(model: nn.Module, phase: str, next_batch, log_every: int = 20) -> dict:
    """AdamW on the parameters that require grad, linear warmup then cosine decay to a tenth, gradient norm
    clipped at 1. ``next_batch(step)`` gives (ids, labels). Returns the loss curve and the costs."""
    steps, _, lr = SETUP[phase]
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.99), weight_decay=0.0)
    warmup = max(1, steps // 10)
    curve, running = [], []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    model.train()
    for step in range(1, steps + 1):
        frac = (step - warmup) / max(1, steps - warmup)
        scale = step / warmup if step <= warmup else 0.1 + 0.45 * (1 + math.cos(math.pi * frac))
        for group in opt.param_groups:
            group["lr"] = lr * scale
        loss = lm_loss(model, *next_batch(step))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        running.append(loss.item())
        if step % log_every == 0 or step == steps:
            curve.append([step, round(sum(running) / len(running), 4)])
            running = []
            print(f"{phase} step {step}/{steps} loss {curve[-1][1]:.4f}", flush=True)
    model.eval()
    counts = lora.count_parameters(model)
    return {
        "steps": steps,
        "batch": SETUP[phase][1],
        "lr": lr,
        "loss": curve,
        "trainable": counts["trainable"],
        "total": counts["total"],
        "training_state_bytes": training_state_bytes(model, opt),
        "cpu_seconds": round(time.process_time() - cpu0, 1),
        "wall_seconds": round(time.perf_counter() - wall0, 1),
    }


# ------------------------------------------------------------------------------------------------ answers


def prompt_ids(prompt: str) -> list[int]:
    """A user prompt in the chat format with the generation prompt, as token ids (the BOS is in the text)."""
    text = chat.render(FAMILY, [{"role": "user", "content": prompt}], add_generation_prompt=True)
    return TOKENIZER.encode(text, add_bos=False)


@torch.no_grad()
def answer(decoder: Decoder, prompt: str, max_new_tokens: int = MAX_ANSWER) -> str:
    """The model's greedy answer to a user prompt: the text it generates before its end-of-turn token."""
    ids = torch.tensor([prompt_ids(prompt)])
    new = decoder.generate(ids, max_new_tokens)[0, ids.shape[1] :].tolist()
    if TOKENIZER.end_of_turn_id in new:
        new = new[: new.index(TOKENIZER.end_of_turn_id)]
    return TOKENIZER.decode(new)


def well_formed(example: dict, reply: str) -> bool:
    """Whether a reply has the task's form, right or wrong: JSON with the three keys; one city (or pet) for a
    lookup; as many list items as asked, each a word of the lists' vocabulary."""
    if example["task"] == "json":
        try:
            value = json.loads(reply)
        except ValueError:
            return False
        return isinstance(value, dict) and list(value) == ["name", "city", "pet"]
    if example["task"] == "lookup":
        return reply in (CITIES if "Where" in example["prompt"] else PETS)
    items = example["prompt"].removeprefix("Reverse: ").split(", ")
    got = reply.split(", ")
    return len(got) == len(items) and all(g in COLOURS + PETS for g in got)


def score(heldout: list[dict], answers: list[str]) -> dict:
    """Per task and over all prompts: ``accuracy`` (exact match) and ``well_formed`` (see there), with the
    answers."""
    out: dict = {"accuracy": {}, "well_formed": {}, "answers": answers}
    for key, check in (("accuracy", lambda ex, a: a == ex["answer"]), ("well_formed", well_formed)):
        for task in (*TASKS, "all"):
            hits = [
                check(ex, a) for ex, a in zip(heldout, answers, strict=True) if task in ("all", ex["task"])
            ]
            out[key][task] = round(sum(hits) / len(hits), 3)
    return out


def evaluate(decoder: Decoder, heldout: list[dict]) -> dict:
    """The model's greedy answers to the held-out prompts, scored (see ``score``)."""
    return score(heldout, [answer(decoder, ex["prompt"]) for ex in heldout])


# ------------------------------------------------------------------------------------------------ phases


def memory_mb() -> dict[str, float | None]:
    """This process's resident memory now and its peak so far, in MiB (None where the system cannot say)."""
    now = None
    try:
        with open("/proc/self/statm") as handle:  # Linux
            now = round(int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    except (OSError, ValueError):
        pass
    if resource is None:
        return {"now": now, "peak": None}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return {"now": now, "peak": round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)}


def pretrain(models: Path, data: Path, seed: int) -> dict:
    """Phase 2: train the base model from scratch on generated documents; save it to ``models/base``."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    text = "".join(pretraining_document(rng) for _ in range(6000))
    stream = torch.tensor(TOKENIZER.encode(text, add_bos=False))
    gen = torch.Generator().manual_seed(seed)
    decoder = Decoder(BASE_CONFIG)
    batch = SETUP["pretrain"][1]
    before = memory_mb()["now"]
    result = train(decoder, "pretrain", lambda step: pretraining_batch(stream, batch, gen))
    result.update(memory_before_mb=before, peak_memory_mb=memory_mb()["peak"], tokens_in_corpus=len(stream))
    checkpoints.save_pretrained(decoder, str(models / "base"), BASE_CONFIG)
    result["heldout"] = evaluate(decoder, read_jsonl(data / "heldout.jsonl"))
    return result


def finetune(phase: str, models: Path, data: Path, seed: int) -> dict:
    """Phases 3 and 4: LoRA or full fine-tuning of the base model on the training conversations (the same
    batches for both), then the held-out answers; the LoRA adapter is saved to ``models/lora``."""
    torch.manual_seed(seed)
    train_set = read_jsonl(data / "instructions.jsonl")
    decoder = checkpoints.load_pretrained(str(models / "base"))
    wrapped = AsLlamaForCausalLM(decoder)
    if phase == "lora":
        lora.inject_lora(wrapped, LORA_TARGETS, r=LORA_R, alpha=LORA_ALPHA)
    batch = SETUP[phase][1]
    order = random.Random(seed)
    before = memory_mb()["now"]
    result = train(wrapped, phase, lambda step: chat_batch(order.sample(train_set, batch)))
    result.update(memory_before_mb=before, peak_memory_mb=memory_mb()["peak"])
    if phase == "lora":
        lora.save_adapter(wrapped, str(models / "lora"))
        result.update(r=LORA_R, alpha=LORA_ALPHA, targets=LORA_TARGETS)
    result["heldout"] = evaluate(decoder, read_jsonl(data / "heldout.jsonl"))
    return result


def check_with_transformers(models: Path, heldout: list[dict]) -> dict:
    """The shipped files as the ecosystem reads them: the base with ``LlamaForCausalLM``, the adapter with
    ``peft.PeftModel``. Largest logit differences on a held-out prompt: Hugging Face's against the kit's
    decoder, without and with the adapter, and the adapted model against the base (the adapter's effect)."""
    try:
        from peft import PeftModel
        from safetensors.torch import load_file
        from transformers import LlamaForCausalLM
    except ImportError as err:
        return {"skipped": f"needs transformers and peft ({err})"}
    base, adapter = models / "base", models / "lora"
    ids = torch.tensor([prompt_ids(heldout[0]["prompt"])])
    ours = AsLlamaForCausalLM(checkpoints.load_pretrained(str(base)))
    hf = LlamaForCausalLM.from_pretrained(str(base)).eval()
    with torch.no_grad():
        hf_base, ours_base = hf(ids).logits, ours(ids)
        config = json.loads((adapter / "adapter_config.json").read_text())
        lora.load_adapter(ours, config, load_file(str(adapter / "adapter_model.safetensors")))
        hf_lora = PeftModel.from_pretrained(hf, str(adapter)).eval()(ids).logits
        ours_lora = ours(ids)

    def diff(a: Tensor, b: Tensor) -> float:
        return float(f"{(a - b).abs().max().item():.3g}")

    return {
        "base_vs_hf": diff(ours_base, hf_base),
        "lora_vs_peft": diff(ours_lora, hf_lora),
        "adapter_effect": diff(ours_lora, ours_base),
    }


def model_card(log: dict) -> str:
    """``models/MODEL_CARD.md``: what the shipped files are, how they were made, and the measured numbers."""
    cfg, pre, lo, full = log["config"], log["pretrain"], log["lora"], log["full"]
    mib = 2**20

    def acc(run: dict, task: str) -> str:
        h = run["heldout"]
        return f"{100 * h['accuracy'][task]:.0f} % ({100 * h['well_formed'][task]:.0f} %)"

    def state(run: dict) -> str:
        b = run["training_state_bytes"]
        return f"{b['weights'] / mib:.2f} + {b['gradients'] / mib:.2f} + {b['optimizer'] / mib:.2f}"

    n_held = len(log["heldout"])
    per_task = n_held // len(TASKS)
    lines = [
        "# The shipped model and adapter",
        "",
        "Made by `finetune.py` (seed {seed}, {threads} torch thread), which also wrote `data/` and"
        " `finetune_log.json`; every number below is read from that log.".format(**log),
        "",
        "| file | what |",
        "| --- | --- |",
        f"| `base/` | a LLaMA-layout decoder in Hugging Face format (`config.json`, `model.safetensors`):"
        f" {pre['total']:,} parameters, {cfg['num_hidden_layers']} layers, hidden size {cfg['hidden_size']},"
        f" {cfg['num_attention_heads']} query heads sharing {cfg['num_key_value_heads']} KV heads, SwiGLU"
        f" {cfg['intermediate_size']}, vocabulary {cfg['vocab_size']}"
        f' (`chat.ChatTokenizer("{log["family"]}")`) |',
        f"| `lora/` | a LoRA adapter in peft's layout (`adapter_config.json`, `adapter_model.safetensors`):"
        f" r = {lo['r']}, alpha = {lo['alpha']}, on {', '.join(lo['targets'])} of every layer |",
        "",
        "## How they were made",
        "",
        f"- Pretraining from scratch on {pre['tokens_in_corpus']:,} tokens of generated prose and records"
        f" (never an instruction): {pre['steps']} AdamW steps of {pre['batch']} windows of {SEQ_LEN} tokens,"
        f" peak learning rate {pre['lr']}; loss {pre['loss'][0][1]:.2f} -> {pre['loss'][-1][1]:.2f} nats"
        f" per token; {pre['cpu_seconds'] / 60:.1f} min of CPU ({pre['wall_seconds'] / 60:.1f} min wall on"
        " a shared machine).",
        f"- Fine-tuning on `data/instructions.jsonl` ({log['family']} chat format, loss on the assistant's"
        f" tokens only), {lo['steps']} steps of {lo['batch']} conversations, the same batches for LoRA"
        f" (learning rate {lo['lr']}) and for full fine-tuning (learning rate {full['lr']}).",
        "",
        f"## Held-out exact match ({n_held} prompts, {per_task} per task, greedy decoding)",
        "",
        "| task | base model | LoRA | full fine-tuning |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {t} | {acc(pre, t)} | {acc(lo, t)} | {acc(full, t)} |" for t in (*TASKS, "all")]
    lines += [
        "",
        "JSON and lookup prompts use names that no training conversation has; held-out lists are lists that"
        " no training conversation has. An answer counts when the text before the end-of-turn token is"
        " exactly the expected one; in brackets, the share of answers of the right form, right or wrong"
        " (`well_formed`: JSON with the three keys, one city or pet, as many list items as asked).",
        "",
        "## LoRA against full fine-tuning",
        "",
        "| | LoRA | full |",
        "| --- | --- | --- |",
        f"| trainable parameters | {lo['trainable']:,} ({100 * lo['trainable'] / lo['total']:.1f} %)"
        f" | {full['trainable']:,} (100 %) |",
        f"| weights + gradients + AdamW state (MiB) | {state(lo)} | {state(full)} |",
        f"| peak memory of the training process (MiB) | {lo['peak_memory_mb']} | {full['peak_memory_mb']} |",
        f"| loss, first -> last logged | {lo['loss'][0][1]:.3f} -> {lo['loss'][-1][1]:.3f}"
        f" | {full['loss'][0][1]:.3f} -> {full['loss'][-1][1]:.3f} |",
        f"| CPU time (s) | {lo['cpu_seconds']} | {full['cpu_seconds']} |",
        f"| wall time (s) | {lo['wall_seconds']} | {full['wall_seconds']} |",
        "",
        "At this size the process's memory is mostly Python and PyTorch themselves; the training state is the"
        " part LoRA shrinks, and the one that decides at billions of parameters. Times are from a shared"
        " 2-core machine and vary from run to run.",
    ]
    check = log.get("transformers_check", {})
    if "skipped" not in check:
        lines += [
            "",
            "## Read by the ecosystem's own tools",
            "",
            f'`transformers.LlamaForCausalLM.from_pretrained("base")` gives the kit decoder\'s logits within'
            f' {check["base_vs_hf"]:.1e}; with `peft.PeftModel.from_pretrained(model, "lora")` on top, the'
            f" kit's LoRA model's within {check['lora_vs_peft']:.1e} (the adapter itself moves the logits by"
            f" up to {check['adapter_effect']:.2f}).",
        ]
    lines += ["", "## Answers before and after (the first held-out prompt of each task)", ""]
    for task in TASKS:
        i = next(i for i, ex in enumerate(log["heldout"]) if ex["task"] == task)
        ex = log["heldout"][i]
        lines += [f"- {task}: `{ex['prompt']!r}`, expected `{ex['answer']!r}`"]
        for name, run in (("base", pre), ("LoRA", lo), ("full", full)):
            lines += [f"  - {name}: `{run['heldout']['answers'][i]!r}`"]
    return "\n".join(lines) + "\n"


PHASES = {
    "pretrain": pretrain,
    "lora": lambda m, d, s: finetune("lora", m, d, s),
    "full": lambda m, d, s: finetune("full", m, d, s),
}


def run_phase(phase: str, args: argparse.Namespace, models: Path, data: Path) -> dict:
    """One phase in a fresh Python process, so that its peak memory and its time are its own."""
    result = models / f".{phase}.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--phase", phase, "--result", str(result)]
    command += [
        "--seed",
        str(args.seed),
        "--threads",
        str(args.threads),
        "--models",
        str(models),
        "--data",
        str(data),
    ]
    subprocess.run(command + (["--quick"] if args.quick else []), check=True)
    out = json.loads(result.read_text(encoding="utf-8"))
    result.unlink()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a few steps of each phase, into a temporary folder")
    ap.add_argument("--finetune-only", action="store_true", help="keep models/base and its log, redo 3 to 5")
    ap.add_argument("--card", action="store_true", help="only rewrite MODEL_CARD.md from the log")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the budgets are for one core)")
    ap.add_argument("--models", type=Path, default=MODELS, help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, default=DATA, help=argparse.SUPPRESS)
    ap.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)  # run_phase's child
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.quick:
        for phase, (_, batch, lr) in SETUP.items():
            SETUP[phase] = (10, batch, lr)
        if args.phase is None:
            args.models = args.data = Path(tempfile.mkdtemp(prefix="a7-finetune-"))
            print(f"quick run into {args.models}")
    if args.phase is not None:
        out = PHASES[args.phase](args.models, args.data, args.seed)
        args.result.write_text(json.dumps(out), encoding="utf-8")
        return
    models, data = args.models, args.data
    models.mkdir(parents=True, exist_ok=True)
    log_path = models / "finetune_log.json"
    if args.card:  # rescore the logged answers (the scoring may have changed) and rewrite the card
        log = json.loads(log_path.read_text(encoding="utf-8"))
        for phase in ("pretrain", "lora", "full"):
            log[phase]["heldout"] = score(log["heldout"], log[phase]["heldout"]["answers"])
        log_path.write_text(json.dumps(log, indent=1) + "\n", encoding="utf-8")
        (models / "MODEL_CARD.md").write_text(model_card(log), encoding="utf-8")
        return
    if args.finetune_only:
        log = json.loads(log_path.read_text(encoding="utf-8"))
    else:
        train_set, heldout = make_instructions(n_train=900, n_heldout=60, seed=args.seed)
        write_jsonl(data / "instructions.jsonl", train_set)
        write_jsonl(data / "heldout.jsonl", heldout)
        log = {"family": FAMILY, "config": BASE_CONFIG, "seed": args.seed, "threads": args.threads}
        log["pretrain"] = run_phase("pretrain", args, models, data)
    for phase in ("lora", "full"):
        log[phase] = run_phase(phase, args, models, data)
    heldout = read_jsonl(data / "heldout.jsonl")
    log["heldout"] = heldout
    log["transformers_check"] = check_with_transformers(models, heldout)
    log_path.write_text(json.dumps(log, indent=1) + "\n", encoding="utf-8")
    (models / "MODEL_CARD.md").write_text(model_card(log), encoding="utf-8")
    for phase in ("pretrain", "lora", "full"):
        print(phase, log[phase]["heldout"]["accuracy"], f"{log[phase]['cpu_seconds']} s CPU")
    print(log["transformers_check"])


if __name__ == "__main__":
    main()
