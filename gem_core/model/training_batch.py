"""Supervised fine-tuning batches in GEM's prompt format.

sequence = tokenize_prompt(build_prompt(question)) + encode(answer) + [eos]
labels   = -100 over the prompt (its placeholder too), the answer ids and eos otherwise.
The prompt part is exactly what `GemGenerator` feeds at inference, so a model trained on these
batches answers in the same format it is asked in. Right padding (pad id, label -100).
Feed the result to `GemForCausalLM.forward(**batch, ecg=..., images=...)`; the loss is
transformers' shifted causal-LM cross-entropy over the supervised tokens.
"""
from __future__ import annotations

from gem_core.model.configuration_gem import IMAGE_TOKEN_INDEX
from gem_core.model.modeling_gem import IGNORE_INDEX
from gem_core.model.prompt import build_prompt, tokenize_prompt


def build_training_batch(tokenizer, questions: list[str], answers: list[str],
                         with_media: bool = True, max_length: int | None = None) -> dict:
    """-> {"input_ids", "attention_mask", "labels"}: (B, T) long tensors, right-padded.

    max_length caps the text tokens per row (media tokens come on top); the answer's end is
    cut, never the prompt.
    """
    import torch

    if len(questions) != len(answers):
        raise ValueError(f"{len(questions)} questions but {len(answers)} answers")
    rows, row_labels = [], []
    for question, answer in zip(questions, answers):
        prompt = tokenize_prompt(tokenizer, build_prompt(question, with_media), IMAGE_TOKEN_INDEX)
        target = tokenizer.encode(answer, add_bos=False) + [tokenizer.eos_token_id]
        ids = prompt + target
        labels = [IGNORE_INDEX] * len(prompt) + target
        if max_length is not None:
            if len(prompt) >= max_length:
                raise ValueError(f"prompt of {len(prompt)} tokens does not fit max_length "
                                 f"{max_length}")
            ids, labels = ids[:max_length], labels[:max_length]
        rows.append(ids)
        row_labels.append(labels)
    t = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), t), tokenizer.pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), t), dtype=torch.long)
    labels = torch.full((len(rows), t), IGNORE_INDEX, dtype=torch.long)
    for i, (ids, lab) in enumerate(zip(rows, row_labels)):
        input_ids[i, :len(ids)] = torch.tensor(ids)
        attention_mask[i, :len(ids)] = 1
        labels[i, :len(lab)] = torch.tensor(lab)
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
