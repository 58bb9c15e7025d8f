"""Continual retraining, as plain functions (no Ray: `jobs/retrain.py` runs them on Ray Train).

- `split`: the patient-level held-out split, stable across nights (a hash of the patient id).
- `examples`: the retraining set: knowledge items, verified scored reports and clinician
  feedback, one example per record (`build_training_set`).
- `data`: model inputs of examples (prepared ECG + CLIP image) and the deterministic batch order.
- `loop`: `TrainConfig`, the train step and loop (full fine-tune or LoRA).
- `lora`: peft adapters on the LLM and projectors, and merging them back.
- `checkpoint`: checkpoint directories (resume) and the exported model (published layout).
"""
