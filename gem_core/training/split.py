"""The patient-level held-out split, stable across nights.

A patient is on the held-out side when sha256(salt + patient id), read as a number in [0, 1),
falls below the held-out fraction. The side depends on nothing but the patient id and the salt:
tonight's new ECGs of a patient land where last night's did, so no patient is ever on both
sides, and the held-out set only grows. Changing the salt or the fraction starts a new split
(the gate's results are then not comparable with earlier ones).
"""
from __future__ import annotations

import hashlib

SPLIT_SALT = "gem-ecg-heldout-v1"
HELDOUT_FRACTION = 0.2
# Header / manifest keys that name the patient (PTB-XL patient_id, MIMIC-IV subject_id, ...).
PATIENT_KEYS = ("patient_id", "patient", "subject_id", "patient id", "pid")


def patient_of(record_id: str, metadata: dict | None = None) -> str:
    """The patient id from metadata, else the record id (a record is then its own patient)."""
    for key in PATIENT_KEYS:
        value = (metadata or {}).get(key)
        if value not in (None, ""):
            return str(value).strip()
    return record_id


def heldout_position(patient_id: str, salt: str = SPLIT_SALT) -> float:
    """The patient's place in [0, 1): uniform over patients, fixed for a salt."""
    digest = hashlib.sha256(f"{salt}\0{patient_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def is_heldout(patient_id: str, fraction: float = HELDOUT_FRACTION, salt: str = SPLIT_SALT) -> bool:
    return heldout_position(patient_id, salt) < fraction
