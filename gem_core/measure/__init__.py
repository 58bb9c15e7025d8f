"""ECG measurement: R peaks, wave boundaries, intervals, axes, per-lead and per-beat
features, and findings with their evidence (the grounding evidence for GEM's reports)."""
from gem_core.measure.measurements import MeasureConfig, Measurements, measure_ecg
from gem_core.measure.rpeaks import detect_r_peaks

__all__ = ["MeasureConfig", "Measurements", "measure_ecg", "detect_r_peaks"]
