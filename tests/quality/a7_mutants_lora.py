"""Mutants of the a7 LoRA reference (``lora.py``): realistic student bugs, each a small textual patch.

Each entry is ``(id, module, description, old_snippet, new_snippet)``, as in ``a3_mutants.py``.
``test_a7_quality.py`` applies the patch to a copy of ``solutions/a7_open_models`` (the old snippet must occur
exactly once) and asserts that the hidden suite takes points off every mutant.
"""

MUTANTS = [
    (
        "alpha_not_divided_by_r",
        "lora.py",
        "the update is scaled by alpha instead of alpha / r",
        "else alpha / r",
        "else alpha",
    ),
    (
        "rslora_without_sqrt",
        "lora.py",
        "rsLoRA scales by alpha / r (the square root forgotten)",
        "alpha / math.sqrt(r) if use_rslora",
        "alpha / r if use_rslora",
    ),
    (
        "b_random",
        "lora.py",
        "B keeps nn.Linear's random init instead of starting at zero",
        "        nn.init.zeros_(self.lora_B.weight)\n",
        "",
    ),
    (
        "a_zero",
        "lora.py",
        "A starts at zero as well as B (then neither ever gets a gradient)",
        "self.lora_A = nn.Linear(base.in_features, r, bias=False, **factory)  # Kaiming-uniform, a = sqrt(5)",
        "self.lora_A = nn.Linear(base.in_features, r, bias=False, **factory)\n"
        "        nn.init.zeros_(self.lora_A.weight)",
    ),
    (
        "base_left_trainable",
        "lora.py",
        "the base weights are not frozen: inject_lora leaves every parameter trainable",
        "    for p in model.parameters():\n        p.requires_grad_(False)\n",
        "",
    ),
    (
        "base_layer_trainable",
        "lora.py",
        "LoRALinear does not freeze its base layer, and inject_lora only freezes the layers it does not wrap",
        "        for p in self.base_layer.parameters():\n            p.requires_grad_(False)\n",
        "        for p in self.base_layer.parameters():\n            p.requires_grad_(True)\n",
    ),
    (
        "merge_twice_applies_twice",
        "lora.py",
        "merge() adds the update every time it is called (merging twice doubles it)",
        "        if not self.merged:\n            self.base_layer.weight += ",
        "        if True:\n            self.base_layer.weight += ",
    ),
    (
        "merged_forward_adds_again",
        "lora.py",
        "forward adds the update even when it is already merged into the weight",
        "        if self.merged:\n            return y\n",
        "",
    ),
    (
        "unmerge_sign",
        "lora.py",
        "unmerge() adds the update again instead of subtracting it",
        "self.base_layer.weight -= self.delta_weight()",
        "self.base_layer.weight += self.delta_weight()",
    ),
    (
        "dropout_after_b",
        "lora.py",
        "dropout applied to the update's output instead of A's input",
        "return y + self.lora_B(self.lora_A(self.dropout(x))) * self.scaling",
        "return y + self.dropout(self.lora_B(self.lora_A(x))) * self.scaling",
    ),
    (
        "dropout_on_base_path",
        "lora.py",
        "dropout applied to the input of both the base layer and A",
        "        y = self.base_layer(x)\n",
        "        x = self.dropout(x)\n        y = self.base_layer(x)\n",
    ),
    (
        "suffix_without_dot",
        "lora.py",
        "target names matched as plain suffixes (q_proj also matches qq_proj)",
        'name == t or name.endswith("." + t)',
        "name.endswith(t)",
    ),
    (
        "exact_name_only",
        "lora.py",
        "target names must equal the whole module path (q_proj matches nothing in a LLaMA)",
        'name == t or name.endswith("." + t)',
        "name == t",
    ),
    (
        "merge_without_scaling",
        "lora.py",
        "merge adds B A to the weight without the alpha / r scaling",
        "return self.scaling * (self.lora_B.weight @ self.lora_A.weight)",
        "return self.lora_B.weight @ self.lora_A.weight",
    ),
    (
        "state_dict_with_adapter_name",
        "lora.py",
        "saved keys carry peft's adapter name (lora_A.default.weight), which peft strips when it saves",
        'state[f"{PEFT_PREFIX}{name}.{part}.weight"] = weight',
        'state[f"{PEFT_PREFIX}{name}.{part}.default.weight"] = weight',
    ),
    (
        "state_dict_without_prefix",
        "lora.py",
        "saved keys lack peft's base_model.model. prefix",
        'state[f"{PEFT_PREFIX}{name}.{part}.weight"] = weight',
        'state[f"{name}.{part}.weight"] = weight',
    ),
    (
        "config_alpha_as_r",
        "lora.py",
        "adapter_config writes r as lora_alpha",
        '"lora_alpha": alpha,',
        '"lora_alpha": r,',
    ),
    (
        "config_forgets_rslora",
        "lora.py",
        "adapter_config leaves use_rslora out (peft then loads it with alpha / r)",
        '        "use_rslora": use_rslora,\n',
        "",
    ),
    (
        "count_counts_all_as_trainable",
        "lora.py",
        "count_parameters counts every parameter as trainable",
        '"trainable": sum(p.numel() for p in params if p.requires_grad),',
        '"trainable": sum(p.numel() for p in params),',
    ),
    (
        "load_adapter_ignores_rslora",
        "lora.py",
        "load_adapter ignores use_rslora from the config",
        '        bool(config.get("use_rslora", False)),\n',
        "",
    ),
]
