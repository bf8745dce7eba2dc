"""The model configuration an export fixes, in matterport's names."""

import dataclasses
import json
import math
from typing import List, Optional


@dataclasses.dataclass
class ExportConfig:
    """matterport's Config fields the contract records.

    BATCH_SIZE and IMAGE_SHAPE are fixed by the export: matterport's training
    graph holds the anchors as a constant for one batch size and image shape.
    """

    NUM_CLASSES: int
    BATCH_SIZE: int = 2
    IMAGE_SHAPE: List[int] = dataclasses.field(default_factory=lambda: [1024, 1024, 3])
    IMAGE_RESIZE_MODE: str = "square"
    IMAGE_MIN_DIM: int = 800
    IMAGE_MAX_DIM: int = 1024
    IMAGE_MIN_SCALE: float = 0.0
    RPN_ANCHOR_SCALES: List[float] = dataclasses.field(default_factory=lambda: [32, 64, 128, 256, 512])
    RPN_ANCHOR_RATIOS: List[float] = dataclasses.field(default_factory=lambda: [0.5, 1, 2])
    BACKBONE_STRIDES: List[int] = dataclasses.field(default_factory=lambda: [4, 8, 16, 32, 64])
    RPN_ANCHOR_STRIDE: int = 1
    RPN_TRAIN_ANCHORS_PER_IMAGE: int = 256
    RPN_BBOX_STD_DEV: List[float] = dataclasses.field(default_factory=lambda: [0.1, 0.1, 0.2, 0.2])
    BBOX_STD_DEV: List[float] = dataclasses.field(default_factory=lambda: [0.1, 0.1, 0.2, 0.2])
    MAX_GT_INSTANCES: int = 100
    USE_MINI_MASK: bool = True
    MINI_MASK_SHAPE: List[int] = dataclasses.field(default_factory=lambda: [56, 56])
    MASK_SHAPE: List[int] = dataclasses.field(default_factory=lambda: [28, 28])
    MEAN_PIXEL: List[float] = dataclasses.field(default_factory=lambda: [123.7, 116.8, 103.9])
    BACKBONE: str = "resnet101"
    CLASS_NAMES: Optional[List[str]] = None
    DETECTION_MAX_INSTANCES: int = 100
    TRAIN_BN: bool = False

    @classmethod
    def from_dict(cls, d):
        """Builds a config from a dict of matterport names, rejecting unknown keys."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - fields)
        if unknown:
            raise ValueError(
                "unknown config keys %s; known keys: %s" % (", ".join(unknown), ", ".join(sorted(fields)))
            )
        return cls(**d)

    @classmethod
    def from_matterport(cls, config):
        """Takes the contract fields from a matterport mrcnn.config.Config object."""
        d = {}
        for f in dataclasses.fields(cls):
            if hasattr(config, f.name):
                v = getattr(config, f.name)
                if hasattr(v, "tolist"):
                    v = v.tolist()
                elif isinstance(v, tuple):
                    v = list(v)
                d[f.name] = v
        return cls(**d)

    @classmethod
    def from_json(cls, path):
        with open(path) as f:
            return cls.from_dict(json.load(f))

    def validate(self):
        h, w = self.IMAGE_SHAPE[0], self.IMAGE_SHAPE[1]
        if h % 64 or w % 64:
            raise ValueError("IMAGE_SHAPE %sx%s: height and width must be multiples of 64" % (h, w))
        if self.NUM_CLASSES < 2:
            raise ValueError("NUM_CLASSES must count the background and at least one class")
        if len(self.RPN_ANCHOR_SCALES) != len(self.BACKBONE_STRIDES):
            raise ValueError("RPN_ANCHOR_SCALES and BACKBONE_STRIDES need one entry per pyramid level")
        if self.BATCH_SIZE < 1:
            raise ValueError("BATCH_SIZE must be at least 1")

    @property
    def image_meta_size(self):
        return 12 + self.NUM_CLASSES

    @property
    def mask_input_shape(self):
        if self.USE_MINI_MASK:
            return list(self.MINI_MASK_SHAPE)
        return list(self.IMAGE_SHAPE[:2])

    def anchor_count(self):
        """Anchors per image, as matterport's generate_pyramid_anchors makes them."""
        h, w = self.IMAGE_SHAPE[0], self.IMAGE_SHAPE[1]
        s = self.RPN_ANCHOR_STRIDE
        total = 0
        for stride in self.BACKBONE_STRIDES:
            fh, fw = math.ceil(h / stride), math.ceil(w / stride)
            total += math.ceil(fh / s) * math.ceil(fw / s) * len(self.RPN_ANCHOR_RATIOS)
        return total

    def contract_model(self):
        """The `model` object of assets/graftrain_contract.json."""
        return {
            "BATCH_SIZE": self.BATCH_SIZE,
            "NUM_CLASSES": self.NUM_CLASSES,
            "CLASS_NAMES": self.CLASS_NAMES or [],
            "IMAGE_SHAPE": list(self.IMAGE_SHAPE),
            "IMAGE_RESIZE_MODE": self.IMAGE_RESIZE_MODE,
            "IMAGE_MIN_DIM": self.IMAGE_MIN_DIM,
            "IMAGE_MAX_DIM": self.IMAGE_MAX_DIM,
            "IMAGE_MIN_SCALE": self.IMAGE_MIN_SCALE,
            "RPN_ANCHOR_SCALES": list(self.RPN_ANCHOR_SCALES),
            "RPN_ANCHOR_RATIOS": list(self.RPN_ANCHOR_RATIOS),
            "BACKBONE_STRIDES": list(self.BACKBONE_STRIDES),
            "RPN_ANCHOR_STRIDE": self.RPN_ANCHOR_STRIDE,
            "RPN_TRAIN_ANCHORS_PER_IMAGE": self.RPN_TRAIN_ANCHORS_PER_IMAGE,
            "RPN_BBOX_STD_DEV": list(self.RPN_BBOX_STD_DEV),
            "MAX_GT_INSTANCES": self.MAX_GT_INSTANCES,
            "USE_MINI_MASK": self.USE_MINI_MASK,
            "MINI_MASK_SHAPE": list(self.MINI_MASK_SHAPE),
            "MASK_SHAPE": list(self.MASK_SHAPE),
            "MEAN_PIXEL": list(self.MEAN_PIXEL),
            "BACKBONE": self.BACKBONE,
        }
