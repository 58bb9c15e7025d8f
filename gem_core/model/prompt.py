"""The `llava_v1` conversation template and GEM's chunked prompt tokenisation.

prompt = SYSTEM + " USER: <image>\\n{question} ASSISTANT:"
The prompt is split at `<image>`, each piece tokenised with BOS, only the first BOS kept, and
the placeholder id (-200) put between pieces. Tokenising the whole string at once gives
different ids (the piece after `<image>` gets its own dummy-prefix space).
"""
from __future__ import annotations

from gem_core.model.configuration_gem import IMAGE_TOKEN_INDEX

SYSTEM = ("A chat between a curious human and an artificial intelligence assistant. "
          "The assistant gives helpful, detailed, and polite answers to the human's questions.")
IMAGE_PLACEHOLDER = "<image>"
# The ECG-Grounding benchmark's grounded-interpretation question.
GROUNDING_QUESTION = ("Interpret the provided ECG image, identify key features and abnormalities"
                      " in each lead, and generate a clinical diagnosis that is supported by the"
                      " observed evidence.")


def build_prompt(question: str, with_media: bool = True) -> str:
    """One-turn `llava_v1` prompt; `with_media` puts the placeholder before the question."""
    user = f"{IMAGE_PLACEHOLDER}\n{question}" if with_media else question
    return f"{SYSTEM} USER: {user} ASSISTANT:"


def tokenize_prompt(tokenizer, prompt: str, placeholder_id: int = IMAGE_TOKEN_INDEX) -> list[int]:
    """Chunked rule: split at `<image>`, BOS-tokenise each piece, keep only the first BOS."""
    pieces = [tokenizer.encode(piece, add_bos=True) for piece in prompt.split(IMAGE_PLACEHOLDER)]
    ids = list(pieces[0])
    for piece in pieces[1:]:
        ids.append(placeholder_id)
        ids.extend(piece[1:])  # drop this piece's BOS
    return ids
