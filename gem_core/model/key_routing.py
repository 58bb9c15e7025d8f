"""Published checkpoint key <-> GemForCausalLM module key.

Published (LLaVA module tree)                       Module here
  model.ecg_tower.ecg_tower.<n>                       ecg_tower.<n>
  model.vision_tower.vision_tower.vision_model.<n>    vision_tower.<n>   (transformers 5 CLIP has no
                                                                          `vision_model.` level)
  model.mm_projector.<n> / model.ecg_projector.<n>    mm_projector.<n> / ecg_projector.<n>
  model.<n> / lm_head.<n>                             llm.model.<n> / llm.lm_head.<n>
The ECG-CoCa file `cpt_wfep_epoch_20.pt` stores the ECG tower as `module.ecg.<n>`.
"""
from __future__ import annotations

import re

# (published prefix, module prefix); first match wins, so the catch-all `model.` is last.
ROUTES = (
    ("model.ecg_tower.ecg_tower.", "ecg_tower."),
    ("model.vision_tower.vision_tower.vision_model.", "vision_tower."),
    ("model.mm_projector.", "mm_projector."),
    ("model.ecg_projector.", "ecg_projector."),
    ("model.", "llm.model."),
    ("lm_head.", "llm.lm_head."),
)
ECG_TOWER_PREFIX = "model.ecg_tower.ecg_tower."
ECG_COCA_PREFIX = "module.ecg."  # inside the ECG-CoCa `.pt` state_dict

# Trained but unused by GEM's forward pass: skipped on load, never reported.
IGNORED = re.compile(
    r"^(model\.image_newline"  # anyres separator; unused with mm_patch_merge_type "flat"
    r"|model\.ecg_tower\.ecg_tower\.ln_post\.(weight|bias)"  # ECG-CoCa's pooling head
    r"|model\.ecg_tower\.ecg_tower\.proj)$"
)
# Buffers older transformers saved; computed here, and checked against the saved values.
RECOMPUTED = re.compile(
    r"^(model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq"
    r"|model\.vision_tower\.vision_tower\.vision_model\.embeddings\.position_ids)$"
)


def to_module_key(published: str) -> str | None:
    """Module key for a published key; None when no route applies."""
    for src, dst in ROUTES:
        if published.startswith(src):
            return dst + published[len(src):]
    return None


def to_published_key(module_key: str) -> str:
    for src, dst in ROUTES:
        if module_key.startswith(dst):
            return src + module_key[len(dst):]
    raise KeyError(f"no published name for module key {module_key!r}")


def published_shapes(model) -> dict[str, tuple[int, ...]]:
    """Every published key the model needs, with its shape (works on the meta device)."""
    return {to_published_key(k): tuple(v.shape) for k, v in model.state_dict().items()}


def ecg_coca_to_published(key: str) -> str | None:
    """`module.ecg.<n>` -> `model.ecg_tower.ecg_tower.<n>`; None for the file's other parts."""
    if key.startswith(ECG_COCA_PREFIX):
        return ECG_TOWER_PREFIX + key[len(ECG_COCA_PREFIX):]
    return None
