"""Problem 3 (chat): known renderings of one conversation in the six formats of the handout's table.

The expected strings are the official formats for these messages (mistral-common's v1 encoding for Mistral,
fschat's llama-2 and ChatML templates, the model cards for the others; see the handout's sources).
"""

import pytest

from autograder.checks import expect

SYSTEM = {"role": "system", "content": "Be brief."}
Q1 = {"role": "user", "content": "Hello"}
A1 = {"role": "assistant", "content": "Hi there"}
Q2 = {"role": "user", "content": "How are you?"}

WANT = {
    "llama2": "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHello [/INST] Hi there </s>"
    "<s>[INST] How are you? [/INST]",
    "llama3": "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
    "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>"
    "\n\nHi there<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>"
    "<|start_header_id|>assistant<|end_header_id|>\n\n",
    "mistral": "<s>[INST] Be brief.\n\nHello [/INST] Hi there</s>[INST] How are you? [/INST]",
    "gemma": "<bos><start_of_turn>user\nBe brief.\n\nHello<end_of_turn>\n<start_of_turn>model\nHi there"
    "<end_of_turn>\n<start_of_turn>user\nHow are you?<end_of_turn>\n<start_of_turn>model\n",
    "phi3": "<|system|>\nBe brief.<|end|>\n<|user|>\nHello<|end|>\n<|assistant|>\nHi there<|end|>\n"
    "<|user|>\nHow are you?<|end|>\n<|assistant|>\n",
    "qwen2": "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
    "<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n"
    "<|im_start|>assistant\n",
}
# the labelled text of [Q1, A1]: the answer as written after the generation prompt, then the end of turn
ANSWER = {
    "llama2": " Hi there </s>",
    "llama3": "Hi there<|eot_id|>",
    "mistral": " Hi there</s>",
    "gemma": "Hi there<end_of_turn>",
    "phi3": "Hi there<|end|>",
    "qwen2": "Hi there<|im_end|>",
}


@pytest.mark.parametrize("family", sorted(WANT))
def test_render_with_system(sub, family):
    """a system message and two turns, with the generation prompt"""
    got = sub.call("chat.render", family, [SYSTEM, Q1, A1, Q2], add_generation_prompt=True)
    expect(got == WANT[family], f"render({family!r}) gave {got!r}, expected {WANT[family]!r}")


def test_qwen_default_system_and_generation_prompt(sub):
    """Qwen2 adds its default system message; the generation prompt goes only when asked"""
    got = sub.call("chat.render", "qwen2", [Q1], add_generation_prompt=False)
    want = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
    expect(got == want, f"render('qwen2', [user], add_generation_prompt=False) gave {got!r}")


@pytest.mark.parametrize("family", sorted(WANT))
def test_jinja_template(sub, family):
    """the Jinja template through apply_chat_template gives the same string"""
    got = sub.call("chat.render_jinja", family, [SYSTEM, Q1, A1, Q2], add_generation_prompt=True)
    expect(got == WANT[family], f"render_jinja({family!r}) gave {got!r}, expected {WANT[family]!r}")


@pytest.mark.parametrize("family", sorted(WANT))
def test_labels(sub, family):
    """only the answer and its end-of-turn token are labelled; ids are the encoded string, no extra BOS"""
    tok = sub.new("chat.ChatTokenizer", family)
    ids, labels = sub.call("chat.encode_for_training", family, [Q1, A1], tok)
    rendered = sub.call("chat.render", family, [Q1, A1])
    want_ids = tok.call("encode", rendered, add_bos=False)
    expect(list(ids) == list(want_ids), f"the ids of {family!r} are not the encoded rendering (no BOS added)")
    expect(len(labels) == len(ids), f"{len(ids)} ids but {len(labels)} labels")
    pairs = list(zip(ids, labels, strict=True))
    expect(all(lab in (-100, t) for t, lab in pairs), "a label is neither -100 nor its token's id")
    text = tok.call("decode", [t for t, lab in pairs if lab != -100])
    expect(
        text == ANSWER[family],
        f"the labelled tokens of {family!r} decode to {text!r}, not {ANSWER[family]!r}",
    )
