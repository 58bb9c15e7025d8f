"""Fine-tuning GEM: the train step and the loop, as plain torch (one process, or one worker of
a DDP group: `jobs/retrain.py` runs this under Ray Train).

    step s:  batch = examples[batch_indices(shard, s)]            (data.batch_indices)
             ids, mask, labels = build_training_batch(questions, answers)   prompt masked -100
             loss = model(ids, mask, labels, ecg (B,12,5000), images (B,3,S,S)).loss
             backward, clip, AdamW step at lr_at(s)

Two modes: "full" trains every parameter the forward pass uses (gem-tiny); "lora" freezes the
model and trains LoRA adapters on the LLM and the projectors (GEM-7B, in bfloat16; lora.py).
The image tower's layers after `mm_vision_select_layer` (and its post-layernorm) never see a
gradient, so they stay frozen in both modes: DDP then has no unused parameters to wait for.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

from gem_core.training.lora import LoraSettings

FINETUNE_MODES = ("auto", "full", "lora")
# "auto": LoRA in bfloat16 above this many LLM parameters (GEM-7B), full fine-tune in float32 below.
LORA_ABOVE_PARAMS = 1_000_000_000


@dataclass
class TrainConfig:
    steps: int = 200
    batch_size: int = 4                # per worker
    lr: float = 2e-4
    min_lr_ratio: float = 0.1          # cosine decay from lr to lr * ratio after warm-up
    warmup_steps: int = 10
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    max_length: int | None = None      # text tokens per row (media on top); None: whole report
    seed: int = 0
    checkpoint_every: int = 50
    finetune: str = "auto"             # auto | full | lora
    lora: LoraSettings = field(default_factory=LoraSettings)
    dtype: str = "float32"             # bfloat16 for GEM-7B on GPUs

    def __post_init__(self):
        if isinstance(self.lora, dict):
            self.lora = LoraSettings(**self.lora)
        if self.finetune not in FINETUNE_MODES:
            raise ValueError(f"finetune must be one of {FINETUNE_MODES}, got {self.finetune!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def llm_parameter_count(config) -> int:
    """LLaMA parameters implied by a GemConfig (attention, MLP, embeddings and head)."""
    h, kv = config.hidden_size, config.num_key_value_heads * config.head_dim
    per_layer = 2 * h * h + 2 * h * kv + 3 * h * config.intermediate_size
    return config.num_hidden_layers * per_layer + 2 * config.vocab_size * h


def finetune_for(config) -> tuple[str, str]:
    """(mode, dtype) "auto" stands for: LoRA in bfloat16 for GEM-7B, full float32 when small."""
    if llm_parameter_count(config) > LORA_ABOVE_PARAMS:
        return "lora", "bfloat16"
    return "full", "float32"


def resolve_finetune(cfg: TrainConfig, model_dir) -> TrainConfig:
    """`cfg` with "auto" decided from the model directory's config.json."""
    import dataclasses
    import posixpath

    import fsspec

    from gem_core.model.configuration_gem import GemConfig

    if cfg.finetune != "auto":
        return cfg
    path = posixpath.join(str(model_dir).rstrip("/"), "config.json")
    with fsspec.open(path, "r") as f:
        config = GemConfig.from_json_text(f.read(), source=path)
    mode, dtype = finetune_for(config)
    return dataclasses.replace(cfg, finetune=mode, dtype=dtype)


def unused_parameter_names(model) -> list[str]:
    """Parameters GEM's forward pass never reads: CLIP layers after the selected hidden state
    and CLIP's post-layernorm."""
    n_layers = len(model.vision_tower.encoder.layers)
    keep = n_layers + 1 + model.config.mm_vision_select_layer
    names = []
    for name, _ in model.named_parameters():
        if name.startswith("vision_tower.post_layernorm."):
            names.append(name)
        elif name.startswith("vision_tower.encoder.layers."):
            if int(name.split(".")[3]) >= keep:
                names.append(name)
    return names


def prepare_for_training(model, cfg: TrainConfig):
    """Trainable copy of a loaded (eval, no-grad) model: full fine-tune or LoRA adapters."""
    if cfg.finetune == "auto":
        raise ValueError("resolve finetune='auto' first (resolve_finetune)")
    if cfg.finetune == "lora":
        from gem_core.training.lora import add_lora

        model = add_lora(model, cfg.lora)
    else:
        model.requires_grad_(True)
        unused = set(unused_parameter_names(model))
        for name, p in model.named_parameters():
            if name in unused:
                p.requires_grad_(False)
    return model.train()


def make_optimizer(model, cfg: TrainConfig):
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def lr_at(step: int, cfg: TrainConfig) -> float:
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    span = max(1, cfg.steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def supervised_loss(model, tokenizer, questions: list[str], answers: list[str], ecg, images,
                    max_length: int | None = None):
    """Mean cross-entropy over the answer tokens (and EOS) of a batch; prompt and media masked.
    ecg: (B, 12, 5000), images: (B, 3, S, S) tensors; `model` may be DDP-wrapped."""
    from gem_core.model.training_batch import build_training_batch

    core = getattr(model, "module", model)
    batch = build_training_batch(tokenizer, questions, answers, with_media=True, max_length=max_length)
    batch = {k: v.to(core.device) for k, v in batch.items()}
    return model(**batch, ecg=ecg.to(core.device, core.dtype), images=images.to(core.device, core.dtype)).loss


def train_step(model, tokenizer, optimizer, examples: list, ecg, images, step: int, cfg: TrainConfig) -> float:
    """One optimiser step on one batch; returns the batch loss."""
    import torch

    for group in optimizer.param_groups:
        group["lr"] = lr_at(step, cfg)
    loss = supervised_loss(model, tokenizer, [e.question for e in examples], [e.answer for e in examples],
                           ecg, images, cfg.max_length)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if cfg.grad_clip:
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], cfg.grad_clip)
    optimizer.step()
    return float(loss.detach())


def mean_over_workers(value: float) -> float:
    """The mean of a scalar over the DDP group (the value itself outside one)."""
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return value
    t = torch.tensor([value], dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t)
    return float(t.item()) / dist.get_world_size()


def train(model, tokenizer, loaded, cfg: TrainConfig, optimizer=None, start_step: int = 0,
          rank: int = 0, on_step=None) -> list[dict]:
    """Steps start_step .. cfg.steps - 1 over `loaded` (data.LoadedExamples: this worker's
    shard); returns the per-step metrics. `on_step(step, metrics)` runs after each step (the
    Ray worker checkpoints and reports there; it may raise to stop)."""
    import torch

    from gem_core.training.data import batch_indices

    if not loaded.examples:
        raise ValueError("this worker has no examples to train on")
    optimizer = optimizer or make_optimizer(model, cfg)
    ecg_all, img_all = torch.from_numpy(loaded.ecg), torch.from_numpy(loaded.images)
    history = []
    model.train()
    for step in range(start_step, cfg.steps):
        t0 = time.perf_counter()
        idx = batch_indices(len(loaded.examples), cfg.batch_size, step, cfg.seed, rank)
        loss = train_step(model, tokenizer, optimizer, [loaded.examples[i] for i in idx],
                          ecg_all[idx], img_all[idx], step, cfg)
        metrics = {"step": step, "loss": mean_over_workers(loss), "lr": lr_at(step, cfg),
                   "step_s": time.perf_counter() - t0}
        history.append(metrics)
        if on_step is not None:
            on_step(step, metrics)
    return history
