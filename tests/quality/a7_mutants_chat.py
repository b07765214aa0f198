"""Mutants of the a7 chat reference (``solutions/a7_open_models/chat.py``): realistic student bugs, each a
textual patch ``(id, module, description, old_snippet, new_snippet)`` that must occur exactly once."""

MUTANTS = [
    (
        "generation_prompt_missing",
        "chat.py",
        "the text that opens the assistant's turn is never added (add_generation_prompt ignored)",
        "if i == len(turns) - 1 and not add_generation_prompt:",
        "if i == len(turns) - 1:",
    ),
    (
        "llama2_system_dropped",
        "chat.py",
        "LLaMA-2 drops the system message",
        r'text = f"<<SYS>>\n{system}\n<</SYS>>\n\n{text}"',
        "text = text",
    ),
    (
        "llama2_system_after_user",
        "chat.py",
        "LLaMA-2 places the <<SYS>> block after the user's text instead of before it",
        r'text = f"<<SYS>>\n{system}\n<</SYS>>\n\n{text}"',
        r'text = f"{text}\n\n<<SYS>>\n{system}\n<</SYS>>"',
    ),
    (
        "bos_doubled",
        "chat.py",
        "the rendered text (which holds BOS) is encoded with the tokenizer's own BOS added: BOS twice",
        "piece = tokenizer.encode(text, add_bos=False)",
        "piece = tokenizer.encode(text)",
    ),
    (
        "prompt_not_masked",
        "chat.py",
        "prompt tokens keep their ids instead of -100",
        "labels.extend(piece if is_assistant else [-100] * len(piece))",
        "labels.extend(piece)",
    ),
    (
        "end_of_turn_not_labelled",
        "chat.py",
        "the end-of-turn token after each answer is masked, so the model never learns to stop",
        "labels.extend(piece if is_assistant else [-100] * len(piece))",
        "labels.extend(piece[:-1] + [-100] if is_assistant else [-100] * len(piece))",
    ),
    (
        "labels_shifted",
        "chat.py",
        "labels shifted by one in the data although the model shifts them itself",
        "    return ids, labels\n",
        "    return ids, labels[1:] + [-100]\n",
    ),
    (
        "gemma_assistant_role",
        "chat.py",
        "Gemma's generation prompt says 'assistant' instead of 'model'",
        r'<start_of_turn>model\n", False))',
        r'<start_of_turn>assistant\n", False))',
    ),
    (
        "qwen_no_default_system",
        "chat.py",
        "Qwen2 without a system message gets none instead of its default one",
        "sys_text = QWEN_DEFAULT_SYSTEM if system is None else system",
        'sys_text = "" if system is None else system',
    ),
    (
        "jinja_qwen_generation_prompt_missing",
        "chat.py",
        "the Qwen2 Jinja template forgets the generation prompt",
        r"""+ "{{ '<|im_start|>assistant\\n' }}{%- endif -%}",""",
        """+ "{%- endif -%}",""",
    ),
]
