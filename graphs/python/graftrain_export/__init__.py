"""Export a Keras Mask R-CNN as a SavedModel with the graftrain training contract."""

from .config import ExportConfig
from .exporter import MIN_PROPOSAL_INPUT, TrainingModule, export, variables_manifest

__all__ = ["ExportConfig", "MIN_PROPOSAL_INPUT", "TrainingModule", "export", "variables_manifest"]
