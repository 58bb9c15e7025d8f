"""The ECG tower (ECG-CoCa's signal encoder): a 1-D ViT over raw millivolts.

(B, 12, 5000) -> Conv1d patches (B, 100, W) -> [class] + patches + positions -> ln_pre
-> pre-LayerNorm blocks -> all 101 tokens (B, 101, W). No ln_post and no proj: GEM feeds every
token to its projector. Parameter names equal the published ones under
`model.ecg_tower.ecg_tower.` (`attn.in_proj_weight` is the packed q/k/v of
`torch.nn.MultiheadAttention`, which is what the tower was trained with).
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from gem_core.model.configuration_gem import EcgTowerConfig


class PackedSelfAttention(nn.Module):
    """Self-attention with `nn.MultiheadAttention`'s packed parameters and semantics
    (q/k/v from one in_proj, scale 1/sqrt(head_dim), no mask, no dropout)."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * width))
        self.out_proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, w = x.shape  # (B, T, W)
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)  # (B, T, 3W)
        q, k, v = qkv.view(b, t, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)  # 3x (B, H, T, D)
        y = F.scaled_dot_product_attention(q, k, v)  # (B, H, T, D)
        return self.out_proj(y.transpose(1, 2).reshape(b, t, w))


class ResidualBlock(nn.Module):
    def __init__(self, width: int, heads: int, mlp_ratio: int, eps: float):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width, eps=eps)
        self.attn = PackedSelfAttention(width, heads)
        self.ln_2 = nn.LayerNorm(width, eps=eps)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(width, width * mlp_ratio)),
            ("gelu", nn.GELU()),  # exact erf GELU, as trained
            ("c_proj", nn.Linear(width * mlp_ratio, width)),
        ]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    """Only a holder, so that block parameters are named `transformer.resblocks.{i}.`."""

    def __init__(self, config: EcgTowerConfig):
        super().__init__()
        self.resblocks = nn.ModuleList(
            ResidualBlock(config.width, config.heads, config.mlp_ratio, config.layer_norm_eps)
            for _ in range(config.layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.resblocks:
            x = block(x)
        return x


class EcgEncoder(nn.Module):
    def __init__(self, config: EcgTowerConfig):
        super().__init__()
        self.config = config
        w = config.width
        self.conv1 = nn.Conv1d(config.in_channels, w, kernel_size=config.patch_size,
                               stride=config.patch_size, bias=False)
        self.class_embedding = nn.Parameter(torch.empty(w))
        self.positional_embedding = nn.Parameter(torch.empty(config.n_tokens, w))
        self.ln_pre = nn.LayerNorm(w, eps=config.layer_norm_eps)
        self.transformer = Transformer(config)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Random init (CLIP-like scales) for models built from scratch (gem-tiny)."""
        if self.class_embedding.is_meta:
            return
        w = self.config.width
        nn.init.normal_(self.class_embedding, std=w ** -0.5)
        nn.init.normal_(self.positional_embedding, std=0.01)
        for block in self.transformer.resblocks:
            nn.init.normal_(block.attn.in_proj_weight, std=w ** -0.5)
            nn.init.zeros_(block.attn.in_proj_bias)

    def forward(self, ecg: torch.Tensor) -> torch.Tensor:
        """ecg (B, C=12, N=5000) mV -> tokens (B, 101, W)."""
        c = self.config
        if ecg.dim() != 3 or ecg.shape[1] != c.in_channels or ecg.shape[2] != c.n_samples:
            raise ValueError(f"ECG input must be (B, {c.in_channels}, {c.n_samples}),"
                             f" got {tuple(ecg.shape)}")
        x = self.conv1(ecg).transpose(1, 2)  # (B, N/patch=100, W)
        cls = self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)  # (B, 1, W)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)  # (B, 101, W)
        x = self.ln_pre(x)
        return self.transformer(x)  # (B, 101, W): every token, no ln_post / proj
