"""The GEM model (LLaVA-style LLaMA + CLIP image tower + ECG-CoCa time-series tower).

Modules, one idea each:
- `configuration_gem`: `GemConfig`, read from the published `config.json`.
- `ecg_encoder`: the 1-D ViT ECG tower (101 tokens).
- `modeling_gem`: `GemForCausalLM`, the towers, projectors and the embedding splice.
- `key_routing`: published checkpoint key <-> module key.
- `checkpoint_files`: what a checkpoint directory (local or fsspec URL) holds, without loading.
- `checkpoint_check`: expected vs present keys and shapes (`gem-ecg model check`).
- `ecg_coca_fallback`: the separate ECG-CoCa `.pt`, read with `weights_only=True`.
- `loader`: `load_gem(uri, dtype, device)`, meta build filled shard by shard.
- `errors`: CheckpointError and its kinds (missing file, wrong model_type, key mismatch, ...).
- `tokenizer`, `prompt`: SentencePiece tokenizer, `llava_v1` template, chunked prompt rule.
- `generate`: `GemGenerator`, batched greedy decoding with a KV cache.
- `training_batch`: supervised batches (prompt tokens masked with -100) for fine-tuning.
- `save_layout`: write any model in the published layout; `tiny`, `tiny_tokenizer`: gem-tiny.

Nothing here is imported eagerly: `from gem_core.model import load_gem` imports torch and
transformers only when the name is asked for.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "GemConfig": "configuration_gem",
    "EcgTowerConfig": "configuration_gem",
    "GemForCausalLM": "modeling_gem",
    "EcgEncoder": "ecg_encoder",
    "load_gem": "loader",
    "GemTokenizer": "tokenizer",
    "build_prompt": "prompt",
    "tokenize_prompt": "prompt",
    "GROUNDING_QUESTION": "prompt",
    "GemGenerator": "generate",
    "GenerationResult": "generate",
    "build_training_batch": "training_batch",
    "save_pretrained_layout": "save_layout",
    "build_gem_tiny": "tiny",
    "check_checkpoint": "checkpoint_check",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gem_core.model' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
