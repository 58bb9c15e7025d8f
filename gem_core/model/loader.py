"""load_gem: a GEM checkpoint directory (local or fsspec URL) -> (model, tokenizer, config).

Never asks a model hub for anything and never unpickles: the image tower's config is known
in code, weights come from safetensors only (the ECG-CoCa `.pt` fallback is read with
`weights_only=True`). The model is built on the meta device (no memory, no random init) and
filled shard by shard: each tensor is read from its byte range, converted to the target
dtype and device, and becomes the parameter itself (`assign=True`). Peak host memory stays
near one copy of the weights (plus one tensor in flight) on CPU, and near one tensor when
loading to a GPU. Every key and shape is checked from the shard headers before any weight
is read.
"""
from __future__ import annotations

import torch

from gem_core.model.checkpoint_check import inspect_checkpoint
from gem_core.model.configuration_gem import GemConfig
from gem_core.model.errors import KeyMismatch, UnsupportedConfig
from gem_core.model.key_routing import IGNORED, RECOMPUTED, to_module_key
from gem_core.model.modeling_gem import GemForCausalLM
from gem_core.model.tokenizer import GemTokenizer

_DTYPES = {
    "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
    "float16": torch.float16, "fp16": torch.float16, "half": torch.float16,
    "float32": torch.float32, "fp32": torch.float32, "float": torch.float32,
}


def resolve_dtype(dtype) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        if dtype in _DTYPES.values():
            return dtype
    elif str(dtype).lower().removeprefix("torch.") in _DTYPES:
        return _DTYPES[str(dtype).lower().removeprefix("torch.")]
    raise ValueError(f"unsupported dtype {dtype!r}: use bfloat16, float16 or float32")


def load_gem(uri, dtype="bfloat16", device="cpu", attn_implementation: str = "sdpa",
             ecg_tower_path: str | None = None) -> tuple[GemForCausalLM, GemTokenizer, GemConfig]:
    """Load a GEM checkpoint in the published layout, in eval mode with gradients off.

    uri: directory path or URL (s3://...); dtype: bfloat16 / float16 / float32; device: where
    the weights go; ecg_tower_path: an ECG-CoCa `.pt` to use if the shards lack the ECG tower
    (by default the single `.pt` in the directory, if any). Raises a CheckpointError subclass
    (MissingFile, WrongModelType, KeyMismatch, PickleRefused, UnsupportedConfig) naming the
    checkpoint and every problem found.
    """
    torch_dtype = resolve_dtype(dtype)
    device = torch.device(device)
    inspection = inspect_checkpoint(str(uri), ecg_tower_path)
    inspection.report.raise_if_bad()
    files, config = inspection.files, inspection.config
    tokenizer = GemTokenizer(files.read_bytes("tokenizer.model"),
                             source=files.path("tokenizer.model"))

    with torch.device("meta"):
        model = GemForCausalLM(config, attn_implementation=attn_implementation)
    saved_buffers: dict[str, torch.Tensor] = {}
    for shard in files.shards:
        _fill(model, files.iter_tensors(shard, float_dtype=torch_dtype), torch_dtype, device,
              saved_buffers, files.uri)
    if inspection.ecg_coca is not None:
        _fill(model, inspection.ecg_coca.items(), torch_dtype, device, saved_buffers, files.uri)
        inspection.ecg_coca = None

    model.init_non_persistent_buffers(device)
    _check_saved_buffers(model, saved_buffers, files.uri)
    still_meta = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if still_meta:
        raise KeyMismatch(files.uri, f"{len(still_meta)} tensors were never filled, e.g. "
                          f"{still_meta[0]}", missing=still_meta)
    model.eval().requires_grad_(False)
    return model, tokenizer, config


def _fill(model, items, dtype, device, saved_buffers, uri) -> None:
    """Assign one shard's tensors to the model (they become its parameters: no extra copy)."""
    state = {}
    for key, tensor in items:
        if IGNORED.match(key):
            continue
        if RECOMPUTED.match(key):
            saved_buffers[key] = tensor.detach().to("cpu")
            continue
        if tensor.is_floating_point():
            tensor = tensor.to(device=device, dtype=dtype)
        state[to_module_key(key)] = tensor
    result = model.load_state_dict(state, strict=False, assign=True)
    if result.unexpected_keys:  # inspection already compared keys; this is a safety net
        raise KeyMismatch(uri, f"unexpected keys {result.unexpected_keys[:5]}",
                          unexpected=result.unexpected_keys)


def _check_saved_buffers(model, saved: dict[str, torch.Tensor], uri: str) -> None:
    """Buffers an older checkpoint carries must equal the recomputed ones (a different
    `inv_freq` would mean a different rope_theta than config.json says)."""
    inv_freq = model.llm.model.rotary_emb.inv_freq.float().cpu()
    position_ids = model.vision_tower.embeddings.position_ids.cpu()
    for key, value in saved.items():
        ref = inv_freq if key.endswith("inv_freq") else position_ids
        same = (value.shape == ref.shape
                and torch.allclose(value.float(), ref.float(), rtol=1e-2, atol=0))
        if not same:
            raise UnsupportedConfig(uri, f"saved buffer {key} differs from the one config.json "
                                    "implies (rope_theta or image size)")
