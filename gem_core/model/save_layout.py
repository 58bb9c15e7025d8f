"""Write a GemForCausalLM in the published GEM layout, so that anything saved here (gem-tiny,
a fine-tuned model) loads through exactly the path the published GEM-7B takes:

    config.json                        model_type "llava_llama", LlavaLlamaForCausalLM
    model-0000N-of-0000K.safetensors   published key names, split into K shards
    model.safetensors.index.json       {"metadata": {"total_size"}, "weight_map"}
    tokenizer.model                    SentencePiece
    tokenizer_config.json, special_tokens_map.json, generation_config.json
"""
from __future__ import annotations

import json
from pathlib import Path

from gem_core.model.checkpoint_files import INDEX_NAME
from gem_core.model.key_routing import to_published_key


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def save_pretrained_layout(model, tokenizer, out_dir, n_shards: int = 3, dtype=None) -> Path:
    """Save `model` (+ `tokenizer`) to the local directory `out_dir`; returns it.

    dtype: cast floating tensors (e.g. torch.bfloat16, as GEM-7B is published); default keeps
    the model's dtype. Shards are split by size, in state_dict order.
    """
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {}
    for key, tensor in model.state_dict().items():
        tensor = tensor.detach().to("cpu")
        if dtype is not None and tensor.is_floating_point():
            tensor = tensor.to(dtype)
        state[to_published_key(key)] = tensor.contiguous().clone()  # own storage each
    total = sum(t.numel() * t.element_size() for t in state.values())

    n_shards = max(1, min(n_shards, len(state)))
    shards: list[dict] = [{} for _ in range(n_shards)]
    done = 0
    for key, tensor in state.items():  # shard i takes the tensors that start in its size slice
        shards[min(n_shards - 1, done * n_shards // total)][key] = tensor
        done += tensor.numel() * tensor.element_size()
    shards = [s for s in shards if s]
    weight_map = {}
    for i, shard in enumerate(shards, start=1):
        name = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, str(out / name), metadata={"format": "pt"})
        weight_map.update({k: name for k in shard})
    _write_json(out / INDEX_NAME, {"metadata": {"total_size": total}, "weight_map": weight_map})

    config = model.config.to_dict()
    saved_dtype = next(t.dtype for t in state.values() if t.is_floating_point())
    config["torch_dtype"] = str(saved_dtype).removeprefix("torch.")
    _write_json(out / "config.json", config)

    tokenizer.save(out / "tokenizer.model")
    special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<unk>"}
    _write_json(out / "special_tokens_map.json", special)
    _write_json(out / "tokenizer_config.json", {
        **special, "add_bos_token": True, "add_eos_token": False, "legacy": False,
        "clean_up_tokenization_spaces": False, "padding_side": "right",
        "model_max_length": model.config.max_position_embeddings,
        "tokenizer_class": "LlamaTokenizer", "sp_model_kwargs": {},
    })
    _write_json(out / "generation_config.json", {
        "bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id, "do_sample": False, "num_beams": 1,
        "max_new_tokens": 1024,
    })
    return out
