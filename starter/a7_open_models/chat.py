"""Chat templates of five open model families, and label masking for supervised fine-tuning.

An instruction-tuned model saw every conversation of its fine-tuning data in one exact textual format: role
markers, separators, where the system message goes, which token ends a turn. At inference the same format must
be reproduced character for character, and the prompt must end with the *generation prompt* (the text that
opens the assistant's turn), or the model answers worse. The formats (see the handout's table for sources):

    llama2   <s>[INST] <<SYS>>\\n{system}\\n<</SYS>>\\n\\n{user} [/INST] {assistant} </s><s>[INST] ...
    llama3   <|begin_of_text|><|start_header_id|>{role}<|end_header_id|>\\n\\n{content}<|eot_id|>...
    mistral  <s>[INST] {system}\\n\\n{user} [/INST] {assistant}</s>[INST] {user} [/INST]
    gemma    <bos><start_of_turn>user\\n{system}\\n\\n{user}<end_of_turn>\\n<start_of_turn>model\\n...
    phi3     <|system|>\\n{system}<|end|>\\n<|user|>\\n{user}<|end|>\\n<|assistant|>\\n...
    qwen2    <|im_start|>system\\n{system}<|im_end|>\\n<|im_start|>user\\n{user}<|im_end|>\\n<|im_start|>...

A conversation is a list of ``{"role": ..., "content": ...}`` dicts: an optional first "system" message, then
"user" and "assistant" messages alternating, starting with "user". Contents are written as given.

For training, only the assistant's text counts in the loss: ``encode_for_training`` returns the token ids of
the whole rendered conversation and labels that copy the ids on every assistant span (from just after the
generation prompt through the family's end-of-turn token, ``END_OF_TURN``) and are -100 everywhere else.
Labels are not shifted: the model shifts them (Hugging Face's convention).
"""

from __future__ import annotations

__all__ = [
    "END_OF_TURN",
    "FAMILIES",
    "ChatTokenizer",
    "assistant_spans",
    "encode_for_training",
    "jinja_template",
    "render",
    "render_jinja",
]

FAMILIES = ("llama2", "llama3", "mistral", "gemma", "phi3", "qwen2")

# The special tokens of each family's tokenizer (one id each), in id order after the 256 byte ids.
SPECIAL_TOKENS = {
    "llama2": ["<s>", "</s>"],
    "llama3": [
        "<|begin_of_text|>",
        "<|end_of_text|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|eot_id|>",
    ],
    "mistral": ["<s>", "</s>"],
    "gemma": ["<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>"],
    "phi3": ["<s>", "</s>", "<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"],
    "qwen2": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
}
BOS = {"llama2": "<s>", "llama3": "<|begin_of_text|>", "mistral": "<s>", "gemma": "<bos>", "phi3": "<s>"}
# The token that closes an assistant turn; it is labelled, so the model learns to stop.
END_OF_TURN = {
    "llama2": "</s>",
    "llama3": "<|eot_id|>",
    "mistral": "</s>",
    "gemma": "<end_of_turn>",
    "phi3": "<|end|>",
    "qwen2": "<|im_end|>",
}
QWEN_DEFAULT_SYSTEM = "You are a helpful assistant."


class ChatTokenizer:
    """The pinned tokenizer of the tests: UTF-8 bytes (ids 0..255) plus the family's special tokens as single
    ids (256, 257, ... in the order of ``SPECIAL_TOKENS[family]``). Special tokens are matched in the text
    first, longest first; everything else becomes its bytes. Like Hugging Face tokenizers, ``encode`` puts the
    family's BOS token in front unless ``add_bos=False`` (qwen2 has none)."""

    def __init__(self, family: str):
        if family not in SPECIAL_TOKENS:
            raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}")
        self.family = family
        self.special = {tok: 256 + i for i, tok in enumerate(SPECIAL_TOKENS[family])}
        self._by_length = sorted(self.special, key=len, reverse=True)
        self.bos_id = self.special.get(BOS.get(family, ""))
        self.end_of_turn_id = self.special[END_OF_TURN[family]]

    def encode(self, text: str, add_bos: bool = True) -> list[int]:
        """The ids of ``text``: [BOS] + special-token ids and byte ids in text order."""
        ids = [self.bos_id] if add_bos and self.bos_id is not None else []
        i = 0
        while i < len(text):
            for tok in self._by_length:
                if text.startswith(tok, i):
                    ids.append(self.special[tok])
                    i += len(tok)
                    break
            else:
                j = i + 1
                while j < len(text) and not any(text.startswith(t, j) for t in self._by_length):
                    j += 1
                ids.extend(text[i:j].encode("utf-8"))
                i = j
        return ids

    def decode(self, ids: list[int]) -> str:
        names = {v: k for k, v in self.special.items()}
        out, buf = [], bytearray()
        for t in ids:
            if t in names:
                out.append(buf.decode("utf-8", errors="replace") + names[t])
                buf = bytearray()
            else:
                buf.append(t)
        return "".join(out) + buf.decode("utf-8", errors="replace")


def _split_system(messages: list[dict]) -> tuple[str | None, list[dict]]:
    """(system content or None, the user/assistant turns), checking roles alternate user, assistant, ..."""
    system = None
    if messages and messages[0]["role"] == "system":
        system, messages = messages[0]["content"], messages[1:]
    for i, m in enumerate(messages):
        want = "user" if i % 2 == 0 else "assistant"
        if m["role"] != want:
            raise ValueError(f"message {i}: expected role {want!r}, got {m['role']!r}")
    return system, list(messages)


def _segments(family: str, messages: list[dict], add_generation_prompt: bool) -> list[tuple[str, bool]]:
    """The rendered conversation as (text, is_assistant_span) pieces; joined, they give ``render``."""
    raise NotImplementedError("replace this line with your solution")


def render(family: str, messages: list[dict], add_generation_prompt: bool = False) -> str:
    """The conversation in the family's official format.

    Args:
        family: one of ``FAMILIES``.
        messages: ``[{"role": "system" | "user" | "assistant", "content": str}, ...]``.
        add_generation_prompt: when the last message is the user's, end with the text that opens the
            assistant's turn (llama2 and mistral have none: their user turn ends with "[/INST]").

    Returns:
        The rendered string, special tokens written as text (for example "<|im_start|>").
    """
    raise NotImplementedError("replace this line with your solution")


def assistant_spans(family: str, messages: list[dict]) -> list[tuple[int, int]]:
    """Character ranges [start, end) of ``render(family, messages)`` that the loss counts: each assistant
    message's text as the family writes it after the generation prompt, through ``END_OF_TURN[family]``."""
    raise NotImplementedError("replace this line with your solution")


def encode_for_training(
    family: str, messages: list[dict], tokenizer: ChatTokenizer
) -> tuple[list[int], list[int]]:
    """Token ids and labels of a conversation for supervised fine-tuning.

    Returns:
        (ids, labels), two lists of the same length T: ``ids`` is ``tokenizer.encode`` of
        ``render(family, messages)`` (whose text already holds the BOS token: none is added); ``labels[t]``
        is ``ids[t]`` where token t lies in an assistant span (see ``assistant_spans``) and -100 elsewhere.
        Not shifted.
    """
    raise NotImplementedError("replace this line with your solution")


def jinja_template(family: str) -> str:
    """The family's format as a Jinja chat template (Hugging Face's ``chat_template``): rendered by
    ``apply_chat_template(messages, tokenize=False, add_generation_prompt=...)`` it gives ``render``'s string.
    The template may use ``messages``, ``add_generation_prompt`` and ``raise_exception``."""
    raise NotImplementedError("replace this line with your solution")


def render_jinja(family: str, messages: list[dict], add_generation_prompt: bool = False) -> str:
    """``jinja_template(family)`` rendered by a Hugging Face tokenizer's ``apply_chat_template`` (a tiny
    in-memory tokenizer with the family's special tokens; nothing is downloaded)."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, **{tok: i + 1 for i, tok in enumerate(SPECIAL_TOKENS[family])}}
    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(WordLevel(vocab, unk_token="<unk>")))
    tok.chat_template = jinja_template(family)
    return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)
