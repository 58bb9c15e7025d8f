"""The offline loader through the real path: gem-tiny saved in the published layout, loaded
back (local dir and s3:// via moto), and broken copies that must fail clearly."""
from __future__ import annotations

import json
import shutil
import socket

import pytest
import torch
from safetensors.torch import load_file, save_file

from gem_core.model.errors import KeyMismatch, MissingFile, PickleRefused, WrongModelType
from gem_core.model.loader import load_gem
from tests.model_fixtures import (clip_images, gem_tiny_dir, one_torch_thread,  # noqa: F401
                                  real_ecgs)

INDEX = "model.safetensors.index.json"


@torch.no_grad()
def logits_of(model, ecg, images):
    """Teacher-forced logits of one fixed multimodal prompt."""
    from gem_core.model.training_batch import build_training_batch
    from gem_core.model.tiny_tokenizer import build_tiny_tokenizer

    batch = build_training_batch(build_tiny_tokenizer(), ["What is the rhythm?"] * 2,
                                 ["Sinus rhythm.", "Atrial fibrillation in lead II."])
    return model(**batch, ecg=ecg, images=images).logits


def copy_dir(src, tmp_path):
    return shutil.copytree(src, tmp_path / "ckpt")


def rewrite_shard(ckpt, edit):
    """Apply `edit(state) -> state` to the shard holding the first ECG-tower key; keep the
    index consistent with it (so only the key set / shapes differ, as in a real bad file)."""
    index = json.loads((ckpt / INDEX).read_text())
    shard = index["weight_map"]["model.ecg_tower.ecg_tower.conv1.weight"]
    state = edit(load_file(ckpt / shard))
    save_file(state, ckpt / shard)
    index["weight_map"] = {k: s for k, s in index["weight_map"].items() if s != shard}
    index["weight_map"].update({k: shard for k in state})
    (ckpt / INDEX).write_text(json.dumps(index))


def test_published_layout_on_disk(gem_tiny_dir):
    names = sorted(p.name for p in gem_tiny_dir.iterdir())
    assert names == ["config.json", "generation_config.json",
                     "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                     "model-00003-of-00003.safetensors", INDEX, "special_tokens_map.json",
                     "tokenizer.model", "tokenizer_config.json"]
    config = json.loads((gem_tiny_dir / "config.json").read_text())
    assert config["model_type"] == "llava_llama"
    assert config["architectures"] == ["LlavaLlamaForCausalLM"]
    assert config["vision_config"]["patch_size"] == 56  # tiny tower inline; GEM-7B's is known
    weight_map = json.loads((gem_tiny_dir / INDEX).read_text())["weight_map"]
    for key in ("model.embed_tokens.weight", "lm_head.weight", "model.mm_projector.2.bias",
                "model.ecg_tower.ecg_tower.transformer.resblocks.1.attn.in_proj_weight",
                "model.vision_tower.vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.weight",
                "model.ecg_projector.weight"):
        assert key in weight_map
    assert len(set(weight_map.values())) == 3


def test_saved_and_loaded_gem_tiny_gives_identical_logits(tmp_path, real_ecgs, clip_images):
    from gem_core.model.save_layout import save_pretrained_layout
    from gem_core.model.tiny import build_gem_tiny

    model, tokenizer = build_gem_tiny(seed=3)
    save_pretrained_layout(model, tokenizer, tmp_path / "m")
    loaded, tok2, config = load_gem(tmp_path / "m", dtype="float32")
    assert not any(p.requires_grad for p in loaded.parameters()) and not loaded.training
    assert tok2.model_proto == tokenizer.model_proto and config == model.config
    ecg, img = real_ecgs[:2], clip_images[:2]
    assert torch.equal(logits_of(model, ecg, img), logits_of(loaded, ecg, img))


def test_16_bit_loads_keep_rope_in_fp32(gem_tiny_dir, real_ecgs, clip_images):
    ref, _, _ = load_gem(gem_tiny_dir, dtype="float32")
    ecg, img = real_ecgs[:2], clip_images[:2]
    want = logits_of(ref, ecg, img)
    for dtype in ("bfloat16", "float16"):
        model, _, _ = load_gem(gem_tiny_dir, dtype=dtype)
        assert {p.dtype for p in model.parameters()} == {getattr(torch, dtype)}
        assert model.llm.model.rotary_emb.inv_freq.dtype == torch.float32
        got = logits_of(model, ecg, img).float()
        assert (got - want).abs().max() < 0.05 * want.abs().max()
    with pytest.raises(ValueError, match="unsupported dtype"):
        load_gem(gem_tiny_dir, dtype="int8")


def test_loading_and_checking_never_use_the_network(gem_tiny_dir, monkeypatch):
    from gem_core.model.checkpoint_check import check_checkpoint

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[1:]}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    assert check_checkpoint(str(gem_tiny_dir)).ok
    model, _, _ = load_gem(gem_tiny_dir, dtype="float32")
    assert model.config.n_image_tokens == 36


def test_missing_shard_is_named(gem_tiny_dir, tmp_path):
    ckpt = copy_dir(gem_tiny_dir, tmp_path)
    (ckpt / "model-00002-of-00003.safetensors").unlink()
    with pytest.raises(MissingFile, match="model-00002-of-00003.safetensors"):
        load_gem(ckpt)


def test_wrong_model_type(gem_tiny_dir, tmp_path):
    ckpt = copy_dir(gem_tiny_dir, tmp_path)
    config = json.loads((ckpt / "config.json").read_text())
    (ckpt / "config.json").write_text(json.dumps({**config, "model_type": "llama"}))
    with pytest.raises(WrongModelType, match="model_type is 'llama', expected 'llava_llama'"):
        load_gem(ckpt)


def test_renamed_key_lists_both_names(gem_tiny_dir, tmp_path):
    ckpt = copy_dir(gem_tiny_dir, tmp_path)
    old = "model.ecg_tower.ecg_tower.ln_pre.weight"
    new = "model.ecg_tower.ecg_tower.ln_pre_renamed.weight"
    rewrite_shard(ckpt, lambda s: {(new if k == old else k): v for k, v in s.items()})
    with pytest.raises(KeyMismatch) as info:
        load_gem(ckpt)
    err = info.value
    assert err.missing == [old] and err.unexpected == [new] and err.misshaped == []
    assert "1 missing, 1 unexpected, 0 mis-shaped" in str(err)
    assert f"unexpected: {new} [128] (close to missing {old})" in str(err)


def test_misshaped_tensor_lists_expected_and_found(gem_tiny_dir, tmp_path):
    ckpt = copy_dir(gem_tiny_dir, tmp_path)
    key = "model.ecg_tower.ecg_tower.conv1.weight"
    rewrite_shard(ckpt, lambda s: {**s, key: s[key][:, :8].contiguous()})  # 8 leads, not 12
    with pytest.raises(KeyMismatch) as info:
        load_gem(ckpt)
    assert info.value.misshaped == [key]
    assert f"{key} expected [128, 12, 50] found [128, 8, 50]" in str(info.value)


def test_known_unused_tensors_are_ignored_and_others_are_not(gem_tiny_dir, tmp_path,
                                                            real_ecgs, clip_images):
    ckpt = copy_dir(gem_tiny_dir, tmp_path)
    unused = {"model.image_newline": torch.zeros(128),
              "model.ecg_tower.ecg_tower.ln_post.weight": torch.ones(128),
              "model.ecg_tower.ecg_tower.ln_post.bias": torch.zeros(128),
              "model.ecg_tower.ecg_tower.proj": torch.zeros(128, 512)}
    rewrite_shard(ckpt, lambda s: {**s, **unused})
    model, _, _ = load_gem(ckpt, dtype="float32")
    ref, _, _ = load_gem(gem_tiny_dir, dtype="float32")
    ecg, img = real_ecgs[:2], clip_images[:2]
    assert torch.equal(logits_of(model, ecg, img), logits_of(ref, ecg, img))

    rewrite_shard(ckpt, lambda s: {**s, "model.text_tower.weight": torch.zeros(3)})
    with pytest.raises(KeyMismatch, match="unexpected: model.text_tower.weight"):
        load_gem(ckpt)


def test_ecg_coca_pt_fallback_only_when_shards_lack_the_tower(gem_tiny_dir, tmp_path,
                                                              real_ecgs, clip_images):
    from gem_core.model.checkpoint_check import check_checkpoint

    ckpt = copy_dir(gem_tiny_dir, tmp_path)
    tower = {}

    def strip(state):
        for k in [k for k in state if k.startswith("model.ecg_tower.ecg_tower.")]:
            tower[k] = state.pop(k)
        return state

    rewrite_shard(ckpt, strip)
    report = check_checkpoint(str(ckpt))
    assert not report.ok and report.ecg_tower_source == "missing"
    assert len(report.missing) == len(tower)

    coca = {k.replace("model.ecg_tower.ecg_tower.", "module.ecg."): v for k, v in tower.items()}
    coca["module.text.token_embedding.weight"] = torch.zeros(4, 4)  # the unused text half
    coca["module.ecg.ln_post.weight"] = torch.ones(128)
    torch.save({"epoch": 20, "state_dict": coca}, ckpt / "cpt_wfep_epoch_20.pt")
    report = check_checkpoint(str(ckpt))
    assert report.ok and report.ecg_tower_source == "cpt_wfep_epoch_20.pt"
    model, _, _ = load_gem(ckpt, dtype="float32")
    ref, _, _ = load_gem(gem_tiny_dir, dtype="float32")
    ecg, img = real_ecgs[:2], clip_images[:2]
    assert torch.equal(logits_of(model, ecg, img), logits_of(ref, ecg, img))

    # a .pt that holds anything but tensors is refused, not unpickled
    torch.save({"state_dict": coca, "hook": NotATensor()}, ckpt / "cpt_wfep_epoch_20.pt")
    with pytest.raises(PickleRefused, match="weights_only=True"):
        load_gem(ckpt)


class NotATensor:
    """A class a weights-only unpickler must refuse to construct."""


def test_pickle_only_checkpoint_is_refused(gem_tiny_dir, tmp_path):
    ckpt = tmp_path / "pickled"
    ckpt.mkdir()
    shutil.copy(gem_tiny_dir / "config.json", ckpt)
    torch.save({"lm_head.weight": torch.zeros(2, 2)}, ckpt / "pytorch_model.bin")
    with pytest.raises(PickleRefused, match=r"pytorch_model\.bin.*convert them to safetensors"):
        load_gem(ckpt)


@pytest.mark.slow
def test_load_from_s3_url(gem_tiny_dir, s3_bucket, real_ecgs, clip_images):
    import s3fs

    from gem_core.model.checkpoint_check import check_checkpoint

    fs = s3fs.S3FileSystem()
    for f in gem_tiny_dir.iterdir():
        fs.put(str(f), f"{s3_bucket}/models/gem-tiny/{f.name}")
    uri = f"s3://{s3_bucket}/models/gem-tiny"
    report = check_checkpoint(uri)
    assert report.ok and report.n_found == report.n_expected
    model, _, _ = load_gem(uri, dtype="float32")
    ref, _, _ = load_gem(gem_tiny_dir, dtype="float32")
    ecg, img = real_ecgs[:2], clip_images[:2]
    assert torch.equal(logits_of(model, ecg, img), logits_of(ref, ecg, img))

    fs.rm(f"{s3_bucket}/models/gem-tiny/model-00003-of-00003.safetensors")
    s3fs.S3FileSystem.clear_instance_cache()
    with pytest.raises(MissingFile, match="model-00003-of-00003"):
        load_gem(uri)


def test_cli_check_and_save_tiny(tmp_path, capsys):
    from jobs.cli import main

    out = tmp_path / "tiny"
    assert main(["model", "save-tiny", str(out), "--json"]) == 0
    saved = json.loads(capsys.readouterr().out)
    assert saved["ok"] and saved["parameter_count"] > 2_000_000
    assert main(["model", "check", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["parameter_count"] == saved["parameter_count"]
    assert report["dtypes"] == {"F32": report["n_expected"]} and report["missing"] == []

    key = "model.mm_projector.0.bias"
    index = json.loads((out / INDEX).read_text())
    shard = index["weight_map"][key]
    save_file({k: v for k, v in load_file(out / shard).items() if k != key}, out / shard)
    del index["weight_map"][key]
    (out / INDEX).write_text(json.dumps(index))
    assert main(["model", "check", str(out)]) == 1
    captured = capsys.readouterr()
    assert f"missing: {key} [128]" in captured.out
    assert "1 missing, 0 unexpected, 0 mis-shaped" in captured.err


PEAK_RSS_SCRIPT = r"""
import gc, json, sys
from gem_core.model.loader import load_gem
from gem_core.model.tiny import save_gem_tiny

def status_kb(field):  # VmRSS now, VmHWM = peak since the last reset
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024

save_gem_tiny(sys.argv[2])  # warm every import and code path first, on gem-tiny
load_gem(sys.argv[2], dtype=sys.argv[3])
gc.collect()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak (ru_maxrss would carry the parent's peak over the fork)
before = status_kb("VmRSS")
model, _, _ = load_gem(sys.argv[1], dtype=sys.argv[3])
peak = status_kb("VmHWM")
weights = sum(p.numel() * p.element_size() for p in model.parameters())
print(json.dumps({"weights": weights, "peak_delta": peak - before}))
"""


@pytest.mark.slow
def test_peak_host_memory_is_about_one_copy_of_the_weights(tmp_path):
    """A fresh process loads a 40 M-parameter GEM-shaped model (160 MB in fp32); its peak RSS
    grows by about the loaded weights, where build-then-copy loading needs twice that."""
    import os
    import subprocess
    import sys

    from gem_core.model.save_layout import save_pretrained_layout
    from gem_core.model.tiny import build_gem_tiny

    model, tok = build_gem_tiny(0, hidden_size=512, intermediate_size=1408, num_hidden_layers=12,
                                num_attention_heads=8, num_key_value_heads=8)
    save_pretrained_layout(model, tok, tmp_path / "big")
    del model
    for dtype in ("float32", "bfloat16"):
        out = subprocess.run([sys.executable, "-c", PEAK_RSS_SCRIPT, str(tmp_path / "big"),
                              str(tmp_path / f"warm-{dtype}"), dtype],
                             capture_output=True, text=True, check=True, timeout=300,
                             env={**os.environ, "OMP_NUM_THREADS": "1"})
        res = json.loads(out.stdout.strip().splitlines()[-1])
        ratio = res["peak_delta"] / res["weights"]
        print(f"{dtype}: weights {res['weights'] / 1e6:.0f} MB, peak RSS growth {ratio:.2f}x")
        assert ratio < 1.25


def test_truncated_shard_fails_clearly(gem_tiny_dir, tmp_path):
    from gem_core.model.errors import CheckpointError

    ckpt = copy_dir(gem_tiny_dir, tmp_path)
    shard = ckpt / "model-00003-of-00003.safetensors"
    shard.write_bytes(shard.read_bytes()[:-1000])
    with pytest.raises(CheckpointError, match="model-00003-of-00003.safetensors is truncated"):
        load_gem(ckpt)


def test_saved_buffers_of_older_checkpoints_are_checked_not_trusted(gem_tiny_dir, tmp_path):
    from gem_core.model.errors import UnsupportedConfig

    ckpt = copy_dir(gem_tiny_dir, tmp_path)
    inv_freq = 1.0 / (10000.0 ** (torch.arange(0, 32, 2).float() / 32))  # head_dim 32
    old_buffers = {"model.layers.0.self_attn.rotary_emb.inv_freq": inv_freq,
                   "model.vision_tower.vision_tower.vision_model.embeddings.position_ids":
                       torch.arange(37)[None]}
    rewrite_shard(ckpt, lambda s: {**s, **old_buffers})
    model, _, _ = load_gem(ckpt, dtype="float32")  # matches what config.json implies
    assert torch.equal(model.llm.model.rotary_emb.inv_freq, inv_freq)

    wrong = {"model.layers.0.self_attn.rotary_emb.inv_freq": inv_freq ** 1.1}  # other theta
    rewrite_shard(ckpt, lambda s: {**s, **wrong})
    with pytest.raises(UnsupportedConfig, match="rotary_emb.inv_freq differs"):
        load_gem(ckpt)
