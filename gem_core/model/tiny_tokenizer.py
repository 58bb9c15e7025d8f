"""gem-tiny's tokenizer: a small SentencePiece BPE model trained in-process, in a second or two,
on a built-in English + ECG-report corpus. LLaMA's conventions are kept (unk 0, bos 1, eos 2,
byte fallback, digits split, dummy-prefix space), so it exercises the same code paths as the
published 32000-piece `tokenizer.model`. Deterministic: the same bytes on every run.
"""
from __future__ import annotations

import io
import itertools

TINY_VOCAB_SIZE = 1024

_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")

_SENTENCES = (
    "A chat between a curious human and an artificial intelligence assistant.",
    "The assistant gives helpful, detailed, and polite answers to the human's questions.",
    "Interpret the provided ECG image, identify key features and abnormalities in each lead,"
    " and generate a clinical diagnosis that is supported by the observed evidence.",
    "Please interpret this electrocardiogram and explain the evidence for each finding.",
    "What is the rhythm? What is the heart rate? Is the axis normal?",
    "Describe the ST segments and T waves in the inferior and lateral leads.",
    "The ECG shows sinus rhythm with a regular rate and normal conduction.",
    "The rhythm is irregularly irregular without discernible P waves, consistent with atrial"
    " fibrillation.",
    "Sawtooth flutter waves are seen in the inferior leads, suggesting atrial flutter.",
    "The PR interval is prolonged, indicating first degree atrioventricular block.",
    "The QRS complex is wide with an rSR' pattern in V1, typical of right bundle branch block.",
    "Broad notched R waves in the lateral leads indicate left bundle branch block.",
    "Left axis deviation with small Q waves in aVL suggests left anterior fascicular block.",
    "Tall R waves and deep S waves meet voltage criteria for left ventricular hypertrophy.",
    "ST elevation in the anterior leads with reciprocal depression suggests acute myocardial"
    " infarction.",
    "Pathological Q waves in the inferior leads suggest an old inferior infarct.",
    "T wave inversion in the anterior and septal leads may reflect ischaemia.",
    "Horizontal ST depression in the lateral leads is consistent with subendocardial ischaemia.",
    "Premature ventricular contractions are present, with wide and bizarre complexes.",
    "Premature atrial contractions interrupt the otherwise regular sinus rhythm.",
    "Sinus bradycardia with a heart rate below sixty beats per minute.",
    "Sinus tachycardia with a heart rate above one hundred beats per minute.",
    "Low QRS voltage is seen in the limb leads.",
    "Poor R wave progression across the precordial leads.",
    "The QT interval is prolonged for the heart rate; the corrected QTc is long.",
    "Overall conclusion: abnormal ECG. Clinical correlation is recommended.",
    "Overall conclusion: normal ECG with no acute ST-T changes.",
    "The measurements support the diagnosis, and every finding is tied to named leads.",
    "The electrical axis is normal. The electrical axis shows left axis deviation."
    " The electrical axis shows right axis deviation.",
    "Conduction is normal, and repolarisation shows no significant abnormality.",
    "Evidence: consistent RR intervals, upright P waves in lead II, and narrow QRS complexes.",
)

_FEATURES = (
    ("heart rate", "bpm"), ("RR interval", "ms"), ("P amplitude", "mV"), ("P duration", "ms"),
    ("PR interval", "ms"), ("QRS amplitude", "mV"), ("QRS duration", "ms"),
    ("T amplitude", "mV"), ("T duration", "ms"), ("ST duration", "ms"), ("QT interval", "ms"),
    ("QTc", "ms"),
)
_ST_FORMS = ("upslope", "declination", "horizontal", "downsloping", "elevation", "depression")


def tiny_corpus() -> list[str]:
    """Sentences the tiny tokenizer is trained on (fixed order: training is deterministic)."""
    lines = list(_SENTENCES)
    values = ("0.12", "1.5", "88", "104", "160", "212", "380", "440", "72", "0.8")
    for (name, unit), lead, value in zip(itertools.cycle(_FEATURES), itertools.cycle(_LEADS),
                                         itertools.cycle(values)):
        lines.append(f"In lead {lead} the {name} is {value} {unit}.")
        if len(lines) > 200:
            break
    for lead, form in itertools.product(_LEADS, _ST_FORMS):
        lines.append(f"Lead {lead} shows ST {form}, and the T wave is upright in lead {lead}.")
    return lines


def train_tiny_sentencepiece(vocab_size: int = TINY_VOCAB_SIZE) -> bytes:
    """Train the tiny BPE model on `tiny_corpus()`; returns the serialized `tokenizer.model`."""
    import sentencepiece as spm

    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(tiny_corpus()), model_writer=out,
        model_type="bpe", vocab_size=vocab_size, character_coverage=1.0,
        byte_fallback=True, split_digits=True, allow_whitespace_only_pieces=True,
        remove_extra_whitespaces=False, normalization_rule_name="identity",
        add_dummy_prefix=True, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        hard_vocab_limit=True, num_threads=1, minloglevel=2,
    )
    return out.getvalue()


def build_tiny_tokenizer():
    from gem_core.model.tokenizer import GemTokenizer

    return GemTokenizer(train_tiny_sentencepiece(), source="gem-tiny tokenizer.model")
