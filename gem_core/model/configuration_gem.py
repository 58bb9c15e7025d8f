"""GemConfig: the model's dimensions and multimodal settings, read from a published
`config.json` (`model_type: "llava_llama"`).

What the published file does not say is known here, never fetched: the CLIP ViT-L/14-336
image tower's config (the file only names `openai/clip-vit-large-patch14-336`) and the ECG-CoCa
tower's dimensions (the file only holds a path on the authors' machine, `mm_ecg_tower`, which
is ignored). A config written by `save_pretrained_layout` for another size (gem-tiny) carries
its towers inline as `vision_config` / `ecg_tower_config`.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from gem_core.model.errors import UnsupportedConfig, WrongModelType

MODEL_TYPE = "llava_llama"
ARCHITECTURES = ["LlavaLlamaForCausalLM"]
IMAGE_TOKEN_INDEX = -200  # the `<image>` placeholder id of the official code (never embedded)


@dataclass
class EcgTowerConfig:
    """ECG-CoCa time-series tower: a 1-D ViT over (12, 5000) raw millivolts."""

    in_channels: int = 12
    n_samples: int = 5000  # 10 s at 500 Hz
    patch_size: int = 50  # conv kernel = stride: 5000 / 50 = 100 patch tokens
    width: int = 768
    layers: int = 12
    heads: int = 12
    mlp_ratio: int = 4
    layer_norm_eps: float = 1e-5

    @property
    def n_tokens(self) -> int:
        """Patch tokens plus the class token: 101 for ECG-CoCa."""
        return self.n_samples // self.patch_size + 1


@dataclass
class VisionTowerConfig:
    """CLIP vision transformer; defaults are openai/clip-vit-large-patch14-336."""

    hidden_size: int = 1024
    intermediate_size: int = 4096
    num_hidden_layers: int = 24
    num_attention_heads: int = 16
    image_size: int = 336
    patch_size: int = 14
    num_channels: int = 3
    hidden_act: str = "quick_gelu"
    layer_norm_eps: float = 1e-5
    projection_dim: int = 768  # unused by the tower alone; kept so the config is complete

    @property
    def n_patches(self) -> int:
        """Patch tokens without the class token: 576 for ViT-L/14 at 336 px."""
        return (self.image_size // self.patch_size) ** 2

    def to_clip_config(self, attn_implementation: str = "sdpa"):
        from transformers import CLIPVisionConfig

        return CLIPVisionConfig(**dataclasses.asdict(self), attn_implementation=attn_implementation)


# Image towers whose config is known in code (the published config.json only names them).
KNOWN_VISION_TOWERS = {"openai/clip-vit-large-patch14-336": VisionTowerConfig()}

# Published config keys this implementation reads (everything else is kept in `extra`).
_LLM_KEYS = (
    "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
    "num_attention_heads", "num_key_value_heads", "max_position_embeddings", "rms_norm_eps",
    "rope_theta", "hidden_act", "bos_token_id", "eos_token_id", "pad_token_id",
    "tie_word_embeddings", "attention_bias", "mlp_bias",
)
_MM_KEYS = (
    "mm_vision_tower", "mm_hidden_size", "mm_vision_select_layer", "mm_vision_select_feature",
    "mm_projector_type", "ecg_projector_type", "mm_patch_merge_type", "image_aspect_ratio",
    "mm_use_im_start_end", "mm_use_im_patch_token", "torch_dtype",
)


@dataclass
class GemConfig:
    # LLM: LLaMA-7B (vicuna) by default.
    vocab_size: int = 32000
    hidden_size: int = 4096
    intermediate_size: int = 11008
    num_hidden_layers: int = 32
    num_attention_heads: int = 32
    num_key_value_heads: int = 32
    max_position_embeddings: int = 4096
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    hidden_act: str = "silu"
    bos_token_id: int = 1
    eos_token_id: int = 2
    pad_token_id: int = 0  # = unk, as published
    tie_word_embeddings: bool = False
    attention_bias: bool = False
    mlp_bias: bool = False
    # Towers.
    mm_vision_tower: str = "openai/clip-vit-large-patch14-336"
    vision: VisionTowerConfig = field(default_factory=VisionTowerConfig)
    ecg: EcgTowerConfig = field(default_factory=EcgTowerConfig)
    # Multimodal glue.
    mm_hidden_size: int = 1024
    mm_vision_select_layer: int = -2
    mm_vision_select_feature: str = "patch"
    mm_projector_type: str = "mlp2x_gelu"
    ecg_projector_type: str = "linear"
    mm_patch_merge_type: str = "flat"
    image_aspect_ratio: str = "ori"
    mm_use_im_start_end: bool = False
    mm_use_im_patch_token: bool = False
    torch_dtype: str = "bfloat16"
    image_token_index: int = IMAGE_TOKEN_INDEX
    # Published keys not used here (authors' paths, training flags), written back unchanged.
    extra: dict[str, Any] = field(default_factory=dict)

    # ---- derived sizes -------------------------------------------------------------------
    @property
    def n_ecg_tokens(self) -> int:
        return self.ecg.n_tokens

    @property
    def n_image_tokens(self) -> int:
        return self.vision.n_patches

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    # ---- constructors --------------------------------------------------------------------
    @classmethod
    def gem7b(cls) -> "GemConfig":
        """The published GEM-7B dimensions (LLaMA-7B + CLIP-L/336 + ECG-CoCa)."""
        return cls()

    @classmethod
    def tiny(cls, **overrides) -> "GemConfig":
        """gem-tiny: the same architecture with small dimensions (about 3 M parameters).

        The image tower keeps 336 px input but uses 56 px patches (36 image tokens); the ECG
        tower keeps 50-sample patches, so it still gives 101 tokens.
        """
        from gem_core.model.tiny_tokenizer import TINY_VOCAB_SIZE

        base = dict(
            vocab_size=TINY_VOCAB_SIZE, hidden_size=128, intermediate_size=352,
            num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=4,
            max_position_embeddings=2048, torch_dtype="float32",
            mm_vision_tower="gem-tiny/clip-vit-tiny-patch56-336",
            vision=VisionTowerConfig(hidden_size=128, intermediate_size=256,
                                     num_hidden_layers=2, num_attention_heads=4,
                                     image_size=336, patch_size=56, projection_dim=128),
            ecg=EcgTowerConfig(width=128, layers=2, heads=4),
            mm_hidden_size=128,
            # as GEM publishes them (batched generation pads left regardless)
            extra={"mm_ecg_tower": "gem-tiny/ecg-coca-tiny", "tokenizer_padding_side": "right",
                   "tokenizer_model_max_length": 2048},
        )
        base.update(overrides)
        config = cls(**base)
        config.validate("gem-tiny")
        return config

    @classmethod
    def from_dict(cls, data: dict, source: str = "config.json") -> "GemConfig":
        """Read a published `config.json` dict; `source` names it in errors."""
        model_type = data.get("model_type")
        if model_type != MODEL_TYPE:
            raise WrongModelType(
                source, f"model_type is {model_type!r}, expected {MODEL_TYPE!r} (a GEM/LLaVA-LLaMA"
                        " checkpoint)")
        data = dict(data)
        kwargs: dict[str, Any] = {}
        for key in _LLM_KEYS + _MM_KEYS:
            if key in data and data[key] is not None:
                kwargs[key] = data.pop(key)
            else:
                data.pop(key, None)
        kwargs.setdefault("num_key_value_heads", kwargs.get("num_attention_heads", 32))
        if data.get("rope_scaling"):
            raise UnsupportedConfig(source, f"rope_scaling {data['rope_scaling']!r} is not supported")
        data.pop("rope_scaling", None)

        vision_inline = data.pop("vision_config", None)
        tower = kwargs.get("mm_vision_tower", cls.mm_vision_tower)
        if vision_inline is not None:
            kwargs["vision"] = VisionTowerConfig(**vision_inline)
        elif tower in KNOWN_VISION_TOWERS:
            kwargs["vision"] = dataclasses.replace(KNOWN_VISION_TOWERS[tower])
        else:
            raise UnsupportedConfig(
                source, f"unknown image tower {tower!r}: its config is not known here and is never"
                        " fetched; give it inline as `vision_config`")
        ecg_inline = data.pop("ecg_tower_config", None)
        kwargs["ecg"] = EcgTowerConfig(**ecg_inline) if ecg_inline else EcgTowerConfig()
        for key in ("model_type", "architectures", "use_cache"):
            data.pop(key, None)
        kwargs["extra"] = data
        config = cls(**kwargs)
        config.validate(source)
        return config

    @classmethod
    def from_json_text(cls, text: str, source: str = "config.json") -> "GemConfig":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UnsupportedConfig(source, f"not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise UnsupportedConfig(source, "not a JSON object")
        return cls.from_dict(data, source)

    def validate(self, source: str) -> None:
        """Refuse settings that would need code this implementation does not have."""
        problems = []
        if self.mm_projector_type != "mlp2x_gelu":
            problems.append(f"mm_projector_type {self.mm_projector_type!r} (only 'mlp2x_gelu')")
        if self.ecg_projector_type != "linear":
            problems.append(f"ecg_projector_type {self.ecg_projector_type!r} (only 'linear')")
        if self.mm_patch_merge_type != "flat":
            problems.append(f"mm_patch_merge_type {self.mm_patch_merge_type!r} (only 'flat')")
        if str(self.image_aspect_ratio).startswith("anyres"):
            problems.append(f"image_aspect_ratio {self.image_aspect_ratio!r} (no anyres tiling)")
        if self.mm_vision_select_feature != "patch":
            problems.append(f"mm_vision_select_feature {self.mm_vision_select_feature!r} (only 'patch')")
        if self.mm_use_im_start_end or self.mm_use_im_patch_token:
            problems.append("mm_use_im_start_end / mm_use_im_patch_token (extra image tokens)")
        if self.mm_hidden_size != self.vision.hidden_size:
            problems.append(f"mm_hidden_size {self.mm_hidden_size} != image tower width"
                            f" {self.vision.hidden_size}")
        if self.ecg.n_samples % self.ecg.patch_size:
            problems.append(f"ECG length {self.ecg.n_samples} not a multiple of patch"
                            f" {self.ecg.patch_size}")
        if not -self.vision.num_hidden_layers <= self.mm_vision_select_layer < 0:
            problems.append(f"mm_vision_select_layer {self.mm_vision_select_layer}")
        if problems:
            raise UnsupportedConfig(source, "unsupported settings: " + "; ".join(problems))

    # ---- conversions ---------------------------------------------------------------------
    def llama_config(self, attn_implementation: str = "sdpa"):
        """The transformers LlamaConfig of the language model."""
        from transformers import LlamaConfig

        return LlamaConfig(
            vocab_size=self.vocab_size, hidden_size=self.hidden_size,
            intermediate_size=self.intermediate_size, num_hidden_layers=self.num_hidden_layers,
            num_attention_heads=self.num_attention_heads,
            num_key_value_heads=self.num_key_value_heads,
            max_position_embeddings=self.max_position_embeddings, rms_norm_eps=self.rms_norm_eps,
            rope_parameters={"rope_type": "default", "rope_theta": float(self.rope_theta)},
            hidden_act=self.hidden_act, bos_token_id=self.bos_token_id,
            eos_token_id=self.eos_token_id, pad_token_id=self.pad_token_id,
            tie_word_embeddings=self.tie_word_embeddings, attention_bias=self.attention_bias,
            mlp_bias=self.mlp_bias, attn_implementation=attn_implementation,
        )

    def to_dict(self) -> dict:
        """The published `config.json` content (towers inline only when not the known ones)."""
        out: dict[str, Any] = {"architectures": list(ARCHITECTURES), "model_type": MODEL_TYPE}
        out.update(self.extra)
        for key in _LLM_KEYS + _MM_KEYS:
            out[key] = getattr(self, key)
        out["rope_scaling"] = None
        if KNOWN_VISION_TOWERS.get(self.mm_vision_tower) != self.vision:
            out["vision_config"] = dataclasses.asdict(self.vision)
        if self.ecg != EcgTowerConfig():
            out["ecg_tower_config"] = dataclasses.asdict(self.ecg)
        out["use_cache"] = True
        return out
