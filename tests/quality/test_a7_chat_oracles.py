"""The a7 reference chat formats against official implementations that the kit did not write, offline.

- Mistral: ``mistral-common``'s v1 instruct encoding (Mistral-7B-Instruct-v0.1) with the SentencePiece
  tokenizer it ships. Its token pieces are turned back into text (``▁`` is a space, ``<0x0A>`` a newline) and
  the one dummy-prefix space SentencePiece puts after each ``<s>`` and ``</s>`` is removed; the labelled span
  of every answer must be exactly the tokens of mistral-common's assistant message.
- LLaMA-2 chat, Mistral (no system message) and Qwen2's ChatML: ``fschat``'s conversation templates
  ``llama-2``, ``mistral`` and ``qwen-7b-chat`` (fschat's strings carry no leading BOS).
- The Jinja templates: a tokenizer saved with ``save_pretrained`` and loaded back renders them through
  ``apply_chat_template`` to the reference's strings.

fschat 0.2.36 has no LLaMA-3, Gemma or Phi-3 template; those formats follow their model cards (the handout's
table names the sources).
"""

from __future__ import annotations

import random
import sys

import pytest
from _quality import ROOT, load_module

sys.path.insert(0, str(ROOT / "autograder" / "suites" / "a7_open_models"))
O = load_module(
    "llmkit_a7_chat_oracles", ROOT / "autograder" / "suites" / "a7_open_models" / "_chat_oracles.py"
)
chat = O.ref_chat


def _conversations(n: int, system: bool, end_with_user: bool):
    r = random.Random(7)
    return [O.conversation(r, r.randint(1, 3), system, end_with_user) for _ in range(n)]


def _mistral_text(pieces: list[str]) -> str:
    text = "".join(pieces).replace("▁", " ").replace("<0x0A>", "\n")
    return text.replace("<s> ", "<s>").replace("</s> ", "</s>")


@pytest.mark.parametrize("system", [False, True])
def test_mistral_matches_mistral_common(system):
    from mistral_common.protocol.instruct.messages import AssistantMessage, UserMessage
    from mistral_common.protocol.instruct.request import InstructRequest
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    instruct = MistralTokenizer.v1().instruct_tokenizer
    sp = instruct.tokenizer
    for end_with_user in (True, False):
        for msgs in _conversations(30, system, end_with_user):
            sys_prompt = msgs[0]["content"] if system else None
            turns = [
                (UserMessage if m["role"] == "user" else AssistantMessage)(content=m["content"])
                for m in msgs
                if m["role"] != "system"
            ]
            tokenized = instruct.encode_instruct(InstructRequest(messages=turns, system_prompt=sys_prompt))
            text = _mistral_text([sp.id_to_piece(t) for t in tokenized.tokens])
            assert text == chat.render("mistral", msgs, add_generation_prompt=True), (msgs, text)
            # every labelled span is one assistant message as mistral-common encodes it
            rendered = chat.render("mistral", msgs)
            answers = [m["content"] for m in msgs if m["role"] == "assistant"]
            spans = chat.assistant_spans("mistral", msgs)
            assert len(spans) == len(answers)
            for (start, end), answer in zip(spans, answers, strict=True):
                tokens = sp.encode(answer, bos=False, eos=True)
                assert rendered[start:end] == _mistral_text([sp.id_to_piece(t) for t in tokens]), answer


def _fschat(name: str, msgs: list[dict]) -> str:
    from fastchat.conversation import get_conv_template

    conv = get_conv_template(name)
    turns = msgs
    if msgs[0]["role"] == "system":
        conv.set_system_message(msgs[0]["content"])
        turns = msgs[1:]
    for m in turns:
        conv.append_message(conv.roles[0 if m["role"] == "user" else 1], m["content"])
    if turns[-1]["role"] == "user":
        conv.append_message(conv.roles[1], None)
    return conv.get_prompt()


@pytest.mark.parametrize(
    "family, template, system",
    [
        ("llama2", "llama-2", False),
        ("llama2", "llama-2", True),
        ("mistral", "mistral", False),
        ("qwen2", "qwen-7b-chat", False),
        ("qwen2", "qwen-7b-chat", True),
    ],
)
def test_matches_fschat(family, template, system):
    for msgs in _conversations(30, system, True):
        want = _fschat(template, msgs)
        got = chat.render(family, msgs, add_generation_prompt=True)
        if family in ("llama2", "mistral"):
            assert got.startswith("<s>")
            got = got[len("<s>") :]  # fschat leaves the first BOS to the tokenizer
        assert got == want, (msgs, got, want)


def test_jinja_templates_survive_save_pretrained(tmp_path):
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    for family in chat.FAMILIES:
        vocab = {"<unk>": 0, **{t: i + 1 for i, t in enumerate(chat.SPECIAL_TOKENS[family])}}
        tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(WordLevel(vocab, unk_token="<unk>")))
        tok.chat_template = chat.jinja_template(family)
        tok.save_pretrained(tmp_path / family)
        loaded = AutoTokenizer.from_pretrained(tmp_path / family)
        for system in (False, True):
            for end_with_user in (False, True):
                for msgs in _conversations(5, system, end_with_user):
                    got = loaded.apply_chat_template(
                        msgs, tokenize=False, add_generation_prompt=end_with_user
                    )
                    assert got == chat.render(family, msgs, add_generation_prompt=end_with_user), family
