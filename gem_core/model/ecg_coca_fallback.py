"""The separate ECG-CoCa checkpoint (`cpt_wfep_epoch_20.pt`), used only when the shards lack
the ECG tower. It is a pickle: opened only with `torch.load(weights_only=True)`, which refuses
anything but tensors and plain containers. Its tensors sit under `state_dict["module.ecg.<n>"]`.
"""
from __future__ import annotations

import posixpath

from gem_core.model.errors import CheckpointError, PickleRefused
from gem_core.model.key_routing import ecg_coca_to_published


def load_ecg_coca(uri: str) -> dict:
    """Read an ECG-CoCa `.pt` (local path or fsspec URL) -> {published key: tensor (CPU)}."""
    import fsspec
    import torch

    name = posixpath.basename(str(uri).rstrip("/"))
    try:
        with fsspec.open(str(uri), "rb") as f:
            obj = torch.load(f, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(str(uri), "ECG-CoCa checkpoint not found") from None
    except Exception as exc:  # torch raises UnpicklingError or RuntimeError for unsafe content
        raise PickleRefused(str(uri), f"{name} cannot be read with weights_only=True "
                            f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(str(uri), f"{name} holds no state_dict")
    out = {}
    for key, value in state.items():
        published = ecg_coca_to_published(str(key))
        if published is not None and isinstance(value, torch.Tensor):
            out[published] = value
    if not out:
        raise CheckpointError(str(uri), f"{name} holds no module.ecg.* tensors")
    return out
