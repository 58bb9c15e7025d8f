"""The 12 standard leads, how archives spell them, and how limb leads relate.

Limb leads are fixed linear combinations of two of them (Einthoven: III = II - I;
Goldberger: aVR = -(I + II)/2, aVL = I - II/2, aVF = II - I/2), so any two independent
limb leads determine all six. Precordial leads cannot be derived.
"""
from __future__ import annotations

import re

import numpy as np

STANDARD_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
LIMB_LEADS = STANDARD_LEADS[:6]
PRECORDIAL_LEADS = STANDARD_LEADS[6:]
# Leads facing one region of the heart: where ST and Q findings are located, and what a
# report's "inferior leads" means.
LEAD_GROUPS = {
    "inferior": ("II", "III", "aVF"),
    "lateral": ("I", "aVL", "V5", "V6"),
    "anterior": ("V3", "V4"),
    "septal": ("V1", "V2"),
}
FS = 500                 # Hz, what GEM assumes
DURATION_S = 10.0        # s, one GEM window
N_SAMPLES = 5000         # FS * DURATION_S

# Each limb lead as coefficients of (I, II).
LIMB_COEFFS = {
    "I": (1.0, 0.0),
    "II": (0.0, 1.0),
    "III": (-1.0, 1.0),
    "aVR": (-0.5, -0.5),
    "aVL": (1.0, -0.5),
    "aVF": (-0.5, 1.0),
}

# Spellings seen in archives, after lower-casing and dropping spaces, "_", "-" and a
# "lead"/"ecg" prefix. CODE-15 writes DI/DII/DIII; PTB writes lower case.
_ALIASES = {
    "i": "I", "di": "I", "1": "I",
    "ii": "II", "dii": "II", "2": "II",
    "iii": "III", "diii": "III", "3": "III",
    "avr": "aVR", "avl": "aVL", "avf": "aVF",
    **{f"v{i}": f"V{i}" for i in range(1, 7)},
    **{f"c{i}": f"V{i}" for i in range(1, 7)},  # European chest-lead naming
}

# Channel names that are ECG but not one of the 12 standard leads (Holter and monitoring
# leads such as MIT-BIH's modified limb lead MLII, which is not lead II of a 12-lead ECG).
_OTHER_ECG = re.compile(r"^(ml[iv]*|mv\d|cm\d|cc\d|ecg\d*|ekg\d*|d\d|v\d+r?|v[xyz]|[xyz]|lead\w*|.*ecg.*)$")


def _squash(name: str) -> str:
    s = re.sub(r"[\s_\-\.]", "", name.strip().lower())
    return re.sub(r"^(lead|ecg|ekg)(?=.)", "", s)


def standard_lead(name: str) -> str | None:
    """The standard lead a channel name denotes, or None ('AVR', 'avr', 'aVR' -> 'aVR';
    'MLII' -> None; 'vx' (Frank) -> None)."""
    return _ALIASES.get(_squash(name))


def looks_like_ecg(name: str) -> bool:
    """True for any ECG channel name, standard or not (used to tell an ECG with too few
    leads from a record that holds no ECG at all, e.g. blood pressure and respiration)."""
    return standard_lead(name) is not None or bool(_OTHER_ECG.match(name.strip().lower()))


def derive_limb_leads(available: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """All six limb leads from whichever limb leads are present.

    `available` maps limb-lead names to 1-D arrays. Returns the missing limb leads only,
    computed from I and II reconstructed out of two independent measured leads
    (preferring I and II themselves). Returns {} when fewer than two independent leads.
    """
    names = [n for n in LIMB_LEADS if n in available]
    # Pairs in standard order, so (I, II) is taken when both are there.
    pairs = [(a, b) for k, a in enumerate(names) for b in names[k + 1:]]
    for a, b in pairs:
        m = np.array([LIMB_COEFFS[a], LIMB_COEFFS[b]])
        if abs(np.linalg.det(m)) > 1e-9:
            break
    else:
        return {}
    # [a; b] = m @ [I; II]  ->  [I; II] = m^-1 @ [a; b]
    i_ii = np.linalg.solve(m, np.stack([available[a], available[b]]))
    return {
        n: (LIMB_COEFFS[n][0] * i_ii[0] + LIMB_COEFFS[n][1] * i_ii[1]).astype(np.float32)
        for n in LIMB_LEADS if n not in available
    }
