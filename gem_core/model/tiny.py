"""gem-tiny: GEM's architecture with small dimensions (about 3 M parameters, GemConfig.tiny()),
randomly initialised from a seed, with its own small SentencePiece tokenizer. Tests and the
embedded demo use it; the retraining job fine-tunes it into a model whose reports are real
model output.
"""
from __future__ import annotations

from gem_core.model.save_layout import save_pretrained_layout

__all__ = ["build_gem_tiny", "save_gem_tiny", "save_pretrained_layout"]


def build_gem_tiny(seed: int = 0, attn_implementation: str = "sdpa", **config_overrides):
    """A freshly initialised gem-tiny (fp32, eval mode) and its tokenizer."""
    import torch

    from gem_core.model.configuration_gem import GemConfig
    from gem_core.model.modeling_gem import GemForCausalLM
    from gem_core.model.tiny_tokenizer import build_tiny_tokenizer

    tokenizer = build_tiny_tokenizer()
    config = GemConfig.tiny(vocab_size=tokenizer.vocab_size, **config_overrides)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = GemForCausalLM(config, attn_implementation=attn_implementation)
    finally:
        torch.random.set_rng_state(generator_state)  # do not disturb the caller's RNG
    return model.eval(), tokenizer


def save_gem_tiny(out_dir, seed: int = 0):
    """Build gem-tiny and write it in the published layout; returns the directory."""
    model, tokenizer = build_gem_tiny(seed)
    return save_pretrained_layout(model, tokenizer, out_dir)
