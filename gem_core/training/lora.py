"""LoRA for GEM-7B (peft): adapters on the LLM's linear layers and on the projectors; the ECG and
image towers, embeddings, norms and LM head stay frozen.

    llm.model.layers.{i}.self_attn.{q,k,v,o}_proj, llm.model.layers.{i}.mlp.{gate,up,down}_proj
    ecg_projector, mm_projector.0, mm_projector.2

`add_lora` injects the adapters into a loaded GemForCausalLM (peft's `inject_adapter_in_model`:
the module tree keeps its names, so the forward pass and generation are unchanged);
`merge_lora` folds them into the base weights and removes the wrappers, after which the model
saves in the published layout like any other (`save_pretrained_layout`).
"""
from __future__ import annotations

from dataclasses import dataclass

LORA_TARGETS = (r".*llm\.model\.layers\.\d+\.(?:self_attn\.(?:q|k|v|o)_proj|mlp\.(?:gate|up|down)_proj)"
                r"|.*ecg_projector|.*mm_projector\.(?:0|2)")


@dataclass
class LoraSettings:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05


def add_lora(model, settings: LoraSettings = LoraSettings()):
    """Freeze everything, then add trainable adapters; returns the same model object."""
    from peft import LoraConfig, inject_adapter_in_model

    model.requires_grad_(False)
    config = LoraConfig(r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                        target_modules=LORA_TARGETS, bias="none")
    return inject_adapter_in_model(config, model)


def has_lora(model) -> bool:
    from peft.tuners.lora import LoraLayer

    return any(isinstance(m, LoraLayer) for m in model.modules())


def adapter_state(model) -> dict:
    """The adapter tensors only (what a LoRA checkpoint needs besides the base weights)."""
    from peft import get_peft_model_state_dict

    return {k: v.detach().to("cpu").contiguous() for k, v in get_peft_model_state_dict(model).items()}


def load_adapter_state(model, state: dict) -> None:
    from peft import set_peft_model_state_dict

    result = set_peft_model_state_dict(model, state)
    unexpected = getattr(result, "unexpected_keys", None)
    if unexpected:
        raise ValueError(f"adapter state has keys the model lacks, e.g. {unexpected[:3]}")


def merge_lora(model):
    """Fold every adapter into its base layer and put the plain layer back; returns the model."""
    from peft.tuners.lora import LoraLayer

    wrapped = [(name, m) for name, m in model.named_modules() if isinstance(m, LoraLayer)]
    for name, module in wrapped:
        module.merge()
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, module.get_base_layer())
    return model
