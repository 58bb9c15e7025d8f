"""GemForCausalLM: LLaMA with two towers whose tokens replace the `<image>` placeholder.

    ECG (B, 12, 5000) mV -> EcgEncoder -> (B, 101, 768) -> ecg_projector -> (B, 101, 1024) -+
    image (B, 3, 336, 336) -> CLIP hidden_states[-2] without CLS -> (B, 576, 1024) ---------+
      -> concat [ECG, image] (B, 677, 1024) -> mm_projector (Linear, GELU, Linear) -> (B, 677, 4096)
      -> spliced into the prompt embeddings at the placeholder -> LlamaForCausalLM

The ECG and image tokens share `mm_projector`. Either modality may be absent (ECG-only or
image-only prompting); the official code only uses the ECG together with an image.
Sub-modules are transformers' own `LlamaForCausalLM` and `CLIPVisionModel`, so attention
kernels, caches and losses are theirs; `key_routing` maps their names to the published ones.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gem_core.model.configuration_gem import GemConfig
from gem_core.model.ecg_encoder import EcgEncoder

IGNORE_INDEX = -100  # label value the loss skips (prompt, media and padding positions)


@dataclass
class SplicedBatch:
    inputs_embeds: torch.Tensor  # (B, T, H)
    attention_mask: torch.Tensor  # (B, T) long, 0 = padding
    position_ids: torch.Tensor  # (B, T) long, counted over real tokens only
    labels: torch.Tensor | None  # (B, T) long or None


class GemForCausalLM(nn.Module):
    def __init__(self, config: GemConfig, attn_implementation: str = "sdpa"):
        super().__init__()
        from transformers import CLIPVisionModel, LlamaForCausalLM

        self.config = config
        self.llm = LlamaForCausalLM(config.llama_config(attn_implementation))
        self.vision_tower = CLIPVisionModel(config.vision.to_clip_config(attn_implementation))
        self.ecg_tower = EcgEncoder(config.ecg)
        self.ecg_projector = nn.Linear(config.ecg.width, config.mm_hidden_size)
        self.mm_projector = nn.Sequential(  # "mlp2x_gelu"; indices 0 and 2 hold the weights
            nn.Linear(config.mm_hidden_size, config.hidden_size),
            nn.GELU(),
            nn.Linear(config.hidden_size, config.hidden_size),
        )

    @property
    def dtype(self) -> torch.dtype:
        return self.llm.get_input_embeddings().weight.dtype

    @property
    def device(self) -> torch.device:
        return self.llm.get_input_embeddings().weight.device

    @torch.no_grad()
    def init_non_persistent_buffers(self, device) -> None:
        """Recreate the buffers a checkpoint does not hold, after a meta-device build was
        filled with weights: RoPE inverse frequencies (kept in fp32) and CLIP position ids."""
        from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

        self.llm.model.rotary_emb = LlamaRotaryEmbedding(config=self.llm.config).to(device)
        emb = self.vision_tower.embeddings
        emb.position_ids = torch.arange(emb.num_positions, device=device).expand(1, -1)

    # ---- towers --------------------------------------------------------------------------
    def encode_ecg(self, ecg: torch.Tensor) -> torch.Tensor:
        """(B, 12, 5000) mV -> (B, n_ecg_tokens, hidden)."""
        tokens = self.ecg_tower(ecg.to(self.device, self.dtype))  # (B, 101, W_ecg)
        return self.mm_projector(self.ecg_projector(tokens))  # (B, 101, H)

    def image_features(self, images: torch.Tensor) -> torch.Tensor:
        """CLIP `hidden_states[select_layer]` without the class token: (B, n_patches, mm_hidden).

        Runs only the layers needed (23 of 24 for select_layer -2) instead of asking CLIP
        for every hidden state.
        """
        clip = self.vision_tower
        h = clip.embeddings(images.to(self.device, self.dtype))  # (B, 1 + P, D)
        h = clip.pre_layrnorm(h)  # hidden_states[0]
        n_layers = len(clip.encoder.layers) + 1 + self.config.mm_vision_select_layer
        for layer in clip.encoder.layers[:n_layers]:
            h = layer(h, None)
            h = h[0] if isinstance(h, tuple) else h
        return h[:, 1:]  # "patch": drop CLS -> (B, P, D)

    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, 336, 336) CLIP-normalised -> (B, n_image_tokens, hidden)."""
        return self.mm_projector(self.image_features(images))

    def media_embeddings(self, ecg: torch.Tensor | None,
                         images: torch.Tensor | None) -> torch.Tensor | None:
        """The block that replaces the placeholder: [ECG tokens, image tokens] (B, M, H)."""
        parts = []
        if ecg is not None:
            parts.append(self.encode_ecg(ecg))
        if images is not None:
            parts.append(self.encode_images(images))
        if not parts:
            return None
        if len(parts) == 2 and parts[0].shape[0] != parts[1].shape[0]:
            raise ValueError(f"{parts[0].shape[0]} ECGs but {parts[1].shape[0]} images")
        return torch.cat(parts, dim=1)

    # ---- prompt embeddings ---------------------------------------------------------------
    def splice(self, token_ids: list[list[int]], media: torch.Tensor | None,
               labels: list[list[int]] | None = None,
               padding_side: str = "left") -> SplicedBatch:
        """Embed each prompt, put its media block where its placeholder is, pad the batch.

        token_ids: per sample, ids with at most one `image_token_index` (-200); media:
        (B, M, H) or None. Left padding for generation, right padding for training.
        """
        embed = self.llm.get_input_embeddings()
        placeholder = self.config.image_token_index
        rows, row_labels = [], []
        for i, ids in enumerate(token_ids):
            ids_t = torch.tensor(ids, dtype=torch.long, device=self.device)
            lab = torch.tensor(labels[i], dtype=torch.long, device=self.device) if labels else None
            where = (ids_t == placeholder).nonzero().flatten().tolist()
            if len(where) > 1:
                raise ValueError(f"prompt {i} has {len(where)} placeholders; one media block each")
            if where and media is None:
                raise ValueError(f"prompt {i} has a placeholder but no ECG or image was given")
            if not where and media is not None:
                raise ValueError(f"prompt {i} has no placeholder for its ECG/image")
            if where:
                p = where[0]
                rows.append(torch.cat([embed(ids_t[:p]), media[i].to(embed.weight.dtype),
                                       embed(ids_t[p + 1:])]))
                if lab is not None:
                    fill = lab.new_full((media.shape[1],), IGNORE_INDEX)
                    row_labels.append(torch.cat([lab[:p], fill, lab[p + 1:]]))
            else:
                rows.append(embed(ids_t))
                if lab is not None:
                    row_labels.append(lab)

        b, t, h = len(rows), max(r.shape[0] for r in rows), embed.weight.shape[1]
        inputs_embeds = rows[0].new_zeros(b, t, h)
        attention_mask = torch.zeros(b, t, dtype=torch.long, device=self.device)
        out_labels = (torch.full((b, t), IGNORE_INDEX, dtype=torch.long, device=self.device)
                      if labels else None)
        for i, row in enumerate(rows):
            n = row.shape[0]
            span = slice(t - n, t) if padding_side == "left" else slice(0, n)
            inputs_embeds[i, span] = row
            attention_mask[i, span] = 1
            if out_labels is not None:
                out_labels[i, span] = row_labels[i]
        position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)  # (B, T)
        return SplicedBatch(inputs_embeds, attention_mask, position_ids, out_labels)

    # ---- training forward ----------------------------------------------------------------
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, ecg: torch.Tensor | None = None,
                images: torch.Tensor | None = None):
        """Teacher-forced forward; with `labels` (-100 where not supervised) returns the loss.

        input_ids (B, T) may hold the placeholder; padding (mask 0) is dropped and re-padded
        after the splice, so either padding side works. Returns transformers'
        CausalLMOutputWithPast (`.loss`, `.logits` over the spliced sequence).
        """
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        keep = attention_mask.bool()
        ids = [row[k].tolist() for row, k in zip(input_ids, keep)]
        labs = [row[k].tolist() for row, k in zip(labels, keep)] if labels is not None else None
        batch = self.splice(ids, self.media_embeddings(ecg, images), labs, padding_side="right")
        return self.llm(inputs_embeds=batch.inputs_embeds, attention_mask=batch.attention_mask,
                        position_ids=batch.position_ids, labels=batch.labels, use_cache=False)
