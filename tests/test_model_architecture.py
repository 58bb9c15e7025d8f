"""GEM's architecture: the published parameter set and size, the ECG tower against a reference
written here from nn.MultiheadAttention semantics, CLIP feature selection, the media splice,
and the config reader."""
from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gem_core.model.configuration_gem import EcgTowerConfig, GemConfig
from gem_core.model.ecg_encoder import EcgEncoder
from gem_core.model.errors import UnsupportedConfig, WrongModelType
from tests.model_fixtures import clip_images, one_torch_thread, real_ecgs  # noqa: F401


def published_gem7b_shapes() -> dict[str, tuple]:
    """The published key set, written from GEM_MODEL.md's facts (independently of the code)."""
    s: dict[str, tuple] = {"model.embed_tokens.weight": (32000, 4096),
                           "model.norm.weight": (4096,), "lm_head.weight": (32000, 4096)}
    for i in range(32):
        p = f"model.layers.{i}."
        for n in "qkvo":
            s[p + f"self_attn.{n}_proj.weight"] = (4096, 4096)
        s[p + "mlp.gate_proj.weight"] = (11008, 4096)
        s[p + "mlp.up_proj.weight"] = (11008, 4096)
        s[p + "mlp.down_proj.weight"] = (4096, 11008)
        s[p + "input_layernorm.weight"] = (4096,)
        s[p + "post_attention_layernorm.weight"] = (4096,)
    e = "model.ecg_tower.ecg_tower."
    s.update({e + "conv1.weight": (768, 12, 50), e + "class_embedding": (768,),
              e + "positional_embedding": (101, 768), e + "ln_pre.weight": (768,),
              e + "ln_pre.bias": (768,)})
    for i in range(12):
        p = f"{e}transformer.resblocks.{i}."
        for ln in ("ln_1", "ln_2"):
            s[p + ln + ".weight"] = (768,)
            s[p + ln + ".bias"] = (768,)
        s[p + "attn.in_proj_weight"] = (2304, 768)
        s[p + "attn.in_proj_bias"] = (2304,)
        s[p + "attn.out_proj.weight"] = (768, 768)
        s[p + "attn.out_proj.bias"] = (768,)
        s[p + "mlp.c_fc.weight"] = (3072, 768)
        s[p + "mlp.c_fc.bias"] = (3072,)
        s[p + "mlp.c_proj.weight"] = (768, 3072)
        s[p + "mlp.c_proj.bias"] = (768,)
    # (ln_post and proj are published too but unused: the loader ignores them)
    s["model.ecg_projector.weight"] = (1024, 768)
    s["model.ecg_projector.bias"] = (1024,)
    v = "model.vision_tower.vision_tower.vision_model."
    s.update({v + "embeddings.class_embedding": (1024,),
              v + "embeddings.patch_embedding.weight": (1024, 3, 14, 14),
              v + "embeddings.position_embedding.weight": (577, 1024),
              v + "pre_layrnorm.weight": (1024,), v + "pre_layrnorm.bias": (1024,),
              v + "post_layernorm.weight": (1024,), v + "post_layernorm.bias": (1024,)})
    for i in range(24):
        p = f"{v}encoder.layers.{i}."
        for n in ("q", "k", "v", "out"):
            s[p + f"self_attn.{n}_proj.weight"] = (1024, 1024)
            s[p + f"self_attn.{n}_proj.bias"] = (1024,)
        for ln in ("layer_norm1", "layer_norm2"):
            s[p + ln + ".weight"] = (1024,)
            s[p + ln + ".bias"] = (1024,)
        s[p + "mlp.fc1.weight"] = (4096, 1024)
        s[p + "mlp.fc1.bias"] = (4096,)
        s[p + "mlp.fc2.weight"] = (1024, 4096)
        s[p + "mlp.fc2.bias"] = (1024,)
    s.update({"model.mm_projector.0.weight": (4096, 1024), "model.mm_projector.0.bias": (4096,),
              "model.mm_projector.2.weight": (4096, 4096), "model.mm_projector.2.bias": (4096,)})
    return s


def test_gem7b_on_meta_has_the_published_names_shapes_and_size():
    from gem_core.model.key_routing import published_shapes
    from gem_core.model.modeling_gem import GemForCausalLM

    config = GemConfig.gem7b()
    with torch.device("meta"):
        model = GemForCausalLM(config)
    assert all(p.is_meta for p in model.parameters())
    ours = published_shapes(model)
    published = published_gem7b_shapes()
    assert sorted(set(published) - set(ours)) == []
    assert sorted(set(ours) - set(published)) == []
    assert {k: v for k, v in ours.items() if v != published[k]} == {}
    size_16bit = sum(torch.Size(s).numel() for s in ours.values()) * 2
    print(f"GEM-7B: {len(ours)} tensors, {size_16bit / 1e9:.4f} GB in 16-bit")
    assert abs(size_16bit / 14.30e9 - 1) < 0.005
    assert (config.n_ecg_tokens, config.n_image_tokens) == (101, 576)


def published_style_config() -> dict:
    """config.json as GEM publishes it (GEM_MODEL.md), authors' ECG path included."""
    return {
        "_name_or_path": "/home/authors/checkpoints/llava-v1.6-vicuna-7b",
        "architectures": ["LlavaLlamaForCausalLM"], "model_type": "llava_llama",
        "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
        "num_attention_heads": 32, "num_key_value_heads": 32, "vocab_size": 32000,
        "max_position_embeddings": 4096, "bos_token_id": 1, "eos_token_id": 2,
        "pad_token_id": 0, "hidden_act": "silu", "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
        "rope_scaling": None, "tie_word_embeddings": False, "torch_dtype": "bfloat16",
        "mm_vision_tower": "openai/clip-vit-large-patch14-336",
        "mm_ecg_tower": "/mnt/authors/ecg_coca/cpt_wfep_epoch_20.pt",
        "mm_vision_select_layer": -2, "mm_vision_select_feature": "patch",
        "mm_hidden_size": 1024, "mm_projector_type": "mlp2x_gelu", "ecg_projector_type": "linear",
        "mm_patch_merge_type": "flat", "image_aspect_ratio": "ori",
        "image_grid_pinpoints": [[336, 672], [672, 336], [672, 672]],
        "mm_use_im_start_end": False, "mm_use_im_patch_token": False,
        "tokenizer_padding_side": "right", "tokenizer_model_max_length": 4096,
    }


def test_published_config_reads_as_gem7b_and_refuses_what_it_cannot_run():
    config = GemConfig.from_dict(published_style_config())
    ref = GemConfig.gem7b()
    assert (config.hidden_size, config.num_hidden_layers, config.vision, config.ecg,
            config.mm_hidden_size) == (ref.hidden_size, ref.num_hidden_layers, ref.vision,
                                       ref.ecg, ref.mm_hidden_size)
    assert config.extra["mm_ecg_tower"].endswith("cpt_wfep_epoch_20.pt")  # kept, never opened
    # a re-save keeps the published form (no inline tower configs for the known towers)
    out = config.to_dict()
    assert out["model_type"] == "llava_llama" and "vision_config" not in out
    assert GemConfig.from_dict(json.loads(json.dumps(out))) == config

    with pytest.raises(WrongModelType, match="'llava'"):
        GemConfig.from_dict({**published_style_config(), "model_type": "llava"})
    with pytest.raises(UnsupportedConfig, match="anyres"):
        GemConfig.from_dict({**published_style_config(), "image_aspect_ratio": "anyres"})
    with pytest.raises(UnsupportedConfig, match="never fetched"):
        GemConfig.from_dict({**published_style_config(), "mm_vision_tower": "google/siglip"})


def reference_ecg_tower(enc: EcgEncoder, x: torch.Tensor) -> torch.Tensor:
    """ECG-CoCa's forward written with torch.nn.MultiheadAttention and functional ops."""
    c = enc.config
    h = F.conv1d(x, enc.conv1.weight, stride=c.patch_size).permute(0, 2, 1)  # (B, 100, W)
    h = torch.cat([enc.class_embedding.expand(x.shape[0], 1, -1), h], 1) + enc.positional_embedding
    h = F.layer_norm(h, (c.width,), enc.ln_pre.weight, enc.ln_pre.bias, 1e-5)
    for blk in enc.transformer.resblocks:
        mha = nn.MultiheadAttention(c.width, c.heads, batch_first=True)
        mha.load_state_dict({"in_proj_weight": blk.attn.in_proj_weight,
                             "in_proj_bias": blk.attn.in_proj_bias,
                             "out_proj.weight": blk.attn.out_proj.weight,
                             "out_proj.bias": blk.attn.out_proj.bias})
        y = F.layer_norm(h, (c.width,), blk.ln_1.weight, blk.ln_1.bias, 1e-5)
        h = h + mha(y, y, y, need_weights=False)[0]
        y = F.layer_norm(h, (c.width,), blk.ln_2.weight, blk.ln_2.bias, 1e-5)
        y = F.gelu(F.linear(y, blk.mlp.c_fc.weight, blk.mlp.c_fc.bias), approximate="none")
        h = h + F.linear(y, blk.mlp.c_proj.weight, blk.mlp.c_proj.bias)
    return h


@torch.no_grad()
def test_ecg_encoder_matches_multiheadattention_reference(real_ecgs):
    torch.manual_seed(0)
    enc = EcgEncoder(EcgTowerConfig(width=768, heads=12, layers=2)).eval()  # GEM width, 2 blocks
    for p in enc.parameters():  # non-trivial biases and norms, so every term matters
        p.add_(torch.randn_like(p) * 0.05)
    x = real_ecgs[:2]  # real PTB windows, raw mV
    out = enc(x)
    assert out.shape == (2, 101, 768)
    ref = reference_ecg_tower(enc, x)
    err = (out - ref).abs().max().item()
    print(f"ECG tower vs nn.MultiheadAttention reference: max abs diff {err:.2e}")
    assert err < 1e-4 * ref.abs().max().item()
    # the ECG matters: different windows give different tokens
    assert (out[0] - out[1]).abs().max() > 1e-2
    with pytest.raises(ValueError, match=r"\(B, 12, 5000\)"):
        enc(x[:, :, :4000])


@torch.no_grad()
def test_image_features_are_second_to_last_hidden_state_without_cls(clip_images):
    from gem_core.model.tiny import build_gem_tiny

    model, _ = build_gem_tiny(seed=0)
    x = clip_images[:2]
    feats = model.image_features(x)
    hs = model.vision_tower(x, output_hidden_states=True).hidden_states
    assert len(hs) == model.config.vision.num_hidden_layers + 1
    assert feats.shape == (2, model.config.n_image_tokens, model.config.mm_hidden_size) == (2, 36, 128)
    torch.testing.assert_close(feats, hs[-2][:, 1:], rtol=0, atol=1e-6)
    assert (feats - hs[-1][:, 1:]).abs().max() > 1e-3  # not the last layer
    assert (feats - hs[-2][:, :-1]).abs().max() > 1e-3  # the CLS token is the one dropped


@torch.no_grad()
def test_media_block_is_ecg_then_image_at_the_placeholder(real_ecgs, clip_images):
    from gem_core.model.tiny import build_gem_tiny

    model, _ = build_gem_tiny(seed=0)
    ecg, img = real_ecgs[:2], clip_images[:2]
    media = model.media_embeddings(ecg, img)
    n_ecg, n_img = model.config.n_ecg_tokens, model.config.n_image_tokens
    assert media.shape == (2, n_ecg + n_img, model.config.hidden_size)
    torch.testing.assert_close(media[:, :n_ecg], model.encode_ecg(ecg))
    torch.testing.assert_close(media[:, n_ecg:], model.encode_images(img))
    assert model.media_embeddings(ecg, None).shape[1] == n_ecg  # ECG-only prompting

    ids = [[1, 5, 6, -200, 7], [1, 8, -200, 9, 10, 11]]
    batch = model.splice(ids, media, padding_side="left")
    embed = model.llm.get_input_embeddings()
    t = batch.inputs_embeds.shape[1]
    assert t == 6 + n_ecg + n_img - 1
    # row 0 is one token shorter: one left pad, then BOS 5 6, the media block, 7
    assert batch.attention_mask[0].tolist() == [0] + [1] * (t - 1)
    torch.testing.assert_close(batch.inputs_embeds[0, 4:4 + n_ecg + n_img], media[0])
    torch.testing.assert_close(batch.inputs_embeds[0, -1], embed.weight[7])
    assert batch.position_ids[0, 1].item() == 0 and batch.position_ids[0, -1].item() == t - 2
    with pytest.raises(ValueError, match="placeholder"):
        model.splice([[1, 5]], media[:1])
