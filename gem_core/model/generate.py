"""GemGenerator: batched greedy decoding for GEM.

One batch = B prompts (each its own question; with an ECG and/or an image each). Prompts are
left-padded after the media splice, so every row's last prompt token sits in the last column;
position ids count real tokens only, so a row's result does not depend on its batch mates.
Decoding keeps a KV cache, feeds one token per row per step, stops a row at its first EOS
(finished rows are fed padding until every row is done or `max_new_tokens` is reached).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch

from gem_core.model.prompt import build_prompt, tokenize_prompt


@dataclass
class GenerationResult:
    text: str  # decoded answer, stripped, without EOS
    n_new_tokens: int  # tokens the model produced for this row, the stopping EOS included
    stopped_on_eos: bool  # False: cut at max_new_tokens
    token_ids: list[int]  # the produced ids, without the stopping EOS


def _cache_kwarg(llm) -> str:
    """transformers 5 renamed `past_key_values` to `cache`; accept either."""
    return "cache" if "cache" in inspect.signature(llm.forward).parameters else "past_key_values"


class GemGenerator:
    def __init__(self, model, tokenizer, device=None, dtype=None):
        """model: GemForCausalLM (e.g. from `load_gem`); device/dtype: move/cast it first.

        Only parameters are cast: RoPE frequencies stay in fp32, as loaded.
        """
        if dtype is not None:
            for p in model.parameters():
                p.data = p.data.to(dtype)
        if device is not None:
            model.to(torch.device(device))
        self.model = model.eval()
        self.tokenizer = tokenizer
        self._cache_kw = _cache_kwarg(model.llm)

    @property
    def device(self) -> torch.device:
        return self.model.device

    def prompt_ids(self, questions: list[str], with_media: bool) -> list[list[int]]:
        return [tokenize_prompt(self.tokenizer, build_prompt(q, with_media),
                                self.model.config.image_token_index) for q in questions]

    @torch.no_grad()
    def generate(self, ecg: torch.Tensor | None = None, images: torch.Tensor | None = None,
                 questions: list[str] | None = None, max_new_tokens: int = 1024,
                 stop_token_ids: tuple[int, ...] | None = None) -> list[GenerationResult]:
        """Greedy answers for a batch.

        ecg: (B, 12, 5000) float mV or None; images: (B, 3, H, W) CLIP-normalised or None;
        questions: B strings; stop_token_ids: default (eos,); an empty tuple decodes exactly
        `max_new_tokens` tokens per row (benchmarks).
        """
        from transformers import DynamicCache

        if not questions:
            raise ValueError("questions must name at least one prompt")
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        b = len(questions)
        for name, x in (("ecg", ecg), ("images", images)):
            if x is not None and x.shape[0] != b:
                raise ValueError(f"{x.shape[0]} {name} for {b} questions")
        stops = (self.tokenizer.eos_token_id,) if stop_token_ids is None else tuple(stop_token_ids)
        model, llm = self.model, self.model.llm

        with_media = ecg is not None or images is not None
        batch = model.splice(self.prompt_ids(questions, with_media),
                             model.media_embeddings(ecg, images), padding_side="left")
        cache = DynamicCache(config=llm.config)
        out = llm(inputs_embeds=batch.inputs_embeds, attention_mask=batch.attention_mask,
                  position_ids=batch.position_ids, use_cache=True, logits_to_keep=1,
                  **{self._cache_kw: cache})
        mask = batch.attention_mask  # (B, T)
        position = batch.position_ids[:, -1:]  # (B, 1)
        stop_t = torch.tensor(stops, dtype=torch.long, device=mask.device)
        pad = torch.full((b,), self.tokenizer.pad_token_id, dtype=torch.long, device=mask.device)
        done = torch.zeros(b, dtype=torch.bool, device=mask.device)
        steps = []
        for step in range(max_new_tokens):
            token = out.logits[:, -1].argmax(-1)  # (B,)
            token = torch.where(done, pad, token)
            steps.append(token)
            done = done | torch.isin(token, stop_t)
            if step == max_new_tokens - 1 or bool(done.all()):
                break
            mask = torch.cat([mask, mask.new_ones(b, 1)], dim=1)  # (B, T + step + 1)
            position = position + 1
            out = llm(input_ids=token[:, None], attention_mask=mask, position_ids=position,
                      use_cache=True, **{self._cache_kw: cache})

        produced = torch.stack(steps, dim=1).tolist()  # (B, S)
        results = []
        for row in produced:
            cut = next((i for i, t in enumerate(row) if t in stops), None)
            ids = row if cut is None else row[:cut]
            results.append(GenerationResult(
                text=self.tokenizer.decode(ids).strip(),
                n_new_tokens=len(ids) + (cut is not None),
                stopped_on_eos=cut is not None, token_ids=ids))
        return results
