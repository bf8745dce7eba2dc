"""Export a Keras Mask R-CNN as a SavedModel with the graftrain training contract."""

import os

# matterport-style models are Keras 2 code. TensorFlow 2.18 picks Keras 2
# (tf_keras) or Keras 3 for tf.keras when it is first imported, and the
# exporter imports it below, so the choice is made here, before that.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from .config import ExportConfig  # noqa: E402
from .exporter import MIN_PROPOSAL_INPUT, TrainingModule, export, variables_manifest  # noqa: E402

__all__ = ["ExportConfig", "MIN_PROPOSAL_INPUT", "TrainingModule", "export", "variables_manifest"]
