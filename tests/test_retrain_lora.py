"""The GEM-7B path (LoRA via peft on the LLM and projectors, towers frozen, bfloat16), wired and
checked on gem-tiny: only adapters train, the loss falls, adapter checkpoints restore, and the
merged export loads through the model loader with the adapter model's outputs."""
from __future__ import annotations

import pytest
import torch

from tests.model_fixtures import clip_images, gem_tiny_dir, one_torch_thread, real_ecgs  # noqa: F401

ANSWERS = ["Sinus rhythm at 72 bpm with normal conduction.",
           "Atrial fibrillation with a rapid ventricular response and ST depression in V5.",
           "Left bundle branch block."]


def test_auto_chooses_lora_in_bfloat16_for_gem7b_and_full_for_gem_tiny(gem_tiny_dir):
    from gem_core.model.configuration_gem import GemConfig
    from gem_core.training.loop import TrainConfig, finetune_for, resolve_finetune

    assert finetune_for(GemConfig.gem7b()) == ("lora", "bfloat16")
    cfg = resolve_finetune(TrainConfig(finetune="auto"), gem_tiny_dir)
    assert (cfg.finetune, cfg.dtype) == ("full", "float32")
    assert resolve_finetune(TrainConfig(finetune="lora"), gem_tiny_dir).finetune == "lora"


@pytest.fixture(scope="module")
def lora_run(gem_tiny_dir, real_ecgs, clip_images, tmp_path_factory):
    from types import SimpleNamespace

    from gem_core.model.loader import load_gem
    from gem_core.training.checkpoint import save_checkpoint
    from gem_core.training.examples import TrainingExample
    from gem_core.training.loop import TrainConfig, make_optimizer, prepare_for_training, train

    cfg = TrainConfig(steps=25, batch_size=3, lr=1e-2, warmup_steps=2, finetune="lora")
    base, tokenizer, _ = load_gem(gem_tiny_dir, dtype="float32")
    before = {k: v.clone() for k, v in base.state_dict().items()}
    model = prepare_for_training(base, cfg)
    examples = [TrainingExample(f"r{i}", "", a, "What is the rhythm?") for i, a in enumerate(ANSWERS)]
    loaded = SimpleNamespace(examples=examples, ecg=real_ecgs[[0, 1, 3]].numpy(),
                             images=clip_images[:3].numpy())
    optimizer = make_optimizer(model, cfg)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        history = train(model, tokenizer, loaded, cfg, optimizer)
    ckpt = save_checkpoint(tmp_path_factory.mktemp("lora-ckpt"), model, tokenizer, optimizer, cfg.steps, history)
    return SimpleNamespace(cfg=cfg, model=model.eval(), tokenizer=tokenizer, before=before, history=history,
                           ckpt=ckpt, loaded=loaded, base_dir=gem_tiny_dir)


def _logits(model, tokenizer, loaded):
    from gem_core.model.training_batch import build_training_batch

    batch = build_training_batch(tokenizer, [e.question for e in loaded.examples],
                                 [e.answer for e in loaded.examples])
    with torch.no_grad():
        return model(**batch, ecg=torch.as_tensor(loaded.ecg), images=torch.as_tensor(loaded.images)).logits


def test_only_adapters_train_towers_stay_frozen_and_the_loss_falls(lora_run):
    model = lora_run.model
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all(".lora_A." in n or ".lora_B." in n for n in trainable)
    wrapped = {n.split(".lora_")[0] for n in trainable}
    assert {"ecg_projector", "mm_projector.0", "mm_projector.2"} <= wrapped
    assert all(n.startswith(("llm.model.layers.", "ecg_projector", "mm_projector")) for n in wrapped)
    assert len([n for n in wrapped if n.startswith("llm.")]) == 7 * model.config.num_hidden_layers
    for name, value in model.state_dict().items():   # every base tensor untouched by training
        if "lora_" not in name:
            key = name.replace(".base_layer.", ".")
            torch.testing.assert_close(value, lora_run.before[key], rtol=0, atol=0, msg=key)
    losses = [h["loss"] for h in lora_run.history]
    print(f"LoRA loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    assert losses[-1] < 0.8 * losses[0]


def test_adapter_checkpoint_restores_and_merged_export_loads_with_the_same_outputs(lora_run, tmp_path):
    from gem_core.model.loader import load_gem
    from gem_core.training.checkpoint import ADAPTER_FILE, MODEL_DIR, export_model, restore_model
    from gem_core.training.lora import has_lora

    assert (lora_run.ckpt / ADAPTER_FILE).exists() and not (lora_run.ckpt / MODEL_DIR).exists()
    expected = _logits(lora_run.model, lora_run.tokenizer, lora_run.loaded)
    restored, tok = restore_model(lora_run.ckpt, lora_run.base_dir, lora_run.cfg)
    torch.testing.assert_close(_logits(restored.eval(), tok, lora_run.loaded), expected, rtol=0, atol=0)

    out = export_model(restored, tok, tmp_path / "merged")
    assert not has_lora(restored)
    merged, tok2, _ = load_gem(out, dtype="float32")
    torch.testing.assert_close(_logits(merged, tok2, lora_run.loaded), expected, rtol=1e-4, atol=1e-4)
    base = lora_run.before   # towers identical to the base; targeted layers changed
    m = merged.state_dict()
    for name in base:
        if name.startswith(("ecg_tower.", "vision_tower.")):
            torch.testing.assert_close(m[name], base[name], rtol=0, atol=0)
    assert not torch.equal(m["mm_projector.0.weight"], base["mm_projector.0.weight"])
    assert not torch.equal(m["llm.model.layers.0.self_attn.q_proj.weight"],
                           base["llm.model.layers.0.self_attn.q_proj.weight"])
