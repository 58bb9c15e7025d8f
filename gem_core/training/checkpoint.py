"""Training checkpoints: what a resumed run needs, in a directory (Ray Train copies it to the
run's storage, local or S3).

    model/              full fine-tune: the weights in the published layout (load_gem reads it)
    adapter.safetensors LoRA: the adapter tensors only (the base comes from the base model URI)
    train_state.pt      {"step": next step, "optimizer": AdamW state}; read with weights_only=True
    history.json        every step's metrics so far, and the run's events (starts, resumes)
    evaluation.json     final checkpoint only: the gate's held-out evaluations

`export_model` writes the final model in the published layout: LoRA adapters merged first.
"""
from __future__ import annotations

import json
from pathlib import Path

MODEL_DIR = "model"
ADAPTER_FILE = "adapter.safetensors"
STATE_FILE = "train_state.pt"
HISTORY_FILE = "history.json"
EVALUATION_FILE = "evaluation.json"


def _core(model):
    return getattr(model, "module", model)   # DDP wraps the model as .module


def export_model(model, tokenizer, out_dir, dtype=None) -> Path:
    """The model in the published layout (LoRA merged into the weights first: this changes
    `model` in place, so call it when training is over)."""
    from gem_core.model.save_layout import save_pretrained_layout
    from gem_core.training.lora import has_lora, merge_lora

    core = _core(model)
    if has_lora(core):
        merge_lora(core)
    return save_pretrained_layout(core, tokenizer, out_dir, n_shards=1, dtype=dtype)


def save_checkpoint(out_dir, model, tokenizer, optimizer, next_step: int, history: list[dict]) -> Path:
    import torch
    from safetensors.torch import save_file

    from gem_core.training.lora import adapter_state, has_lora

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    core = _core(model)
    if has_lora(core):
        save_file(adapter_state(core), str(out / ADAPTER_FILE))
    else:
        from gem_core.model.save_layout import save_pretrained_layout

        save_pretrained_layout(core, tokenizer, out / MODEL_DIR, n_shards=1)
    torch.save({"step": int(next_step), "optimizer": optimizer.state_dict()}, out / STATE_FILE)
    (out / HISTORY_FILE).write_text(json.dumps(history))
    return out


def load_checkpoint_state(ckpt_dir) -> dict:
    """{"step", "optimizer", "history"} of a checkpoint directory (tensors only, no pickled code)."""
    import torch

    d = Path(ckpt_dir)
    state = torch.load(d / STATE_FILE, map_location="cpu", weights_only=True)
    history = json.loads((d / HISTORY_FILE).read_text()) if (d / HISTORY_FILE).exists() else []
    return {"step": int(state["step"]), "optimizer": state["optimizer"], "history": history}


def restore_model(ckpt_dir, base_dir, cfg, device="cpu"):
    """(trainable model, tokenizer) as the checkpoint left them: the checkpoint's own weights
    (full) or the base model with the checkpoint's adapters (LoRA)."""
    from safetensors.torch import load_file

    from gem_core.model.loader import load_gem
    from gem_core.training.lora import load_adapter_state
    from gem_core.training.loop import prepare_for_training

    d = Path(ckpt_dir)
    if cfg.finetune == "lora":
        model, tokenizer, _ = load_gem(base_dir, dtype=cfg.dtype, device=device)
        model = prepare_for_training(model, cfg)
        load_adapter_state(model, {k: v.to(device) for k, v in load_file(str(d / ADAPTER_FILE)).items()})
    else:
        model, tokenizer, _ = load_gem(d / MODEL_DIR, dtype=cfg.dtype, device=device)
        model = prepare_for_training(model, cfg)
    return model, tokenizer
