"""Writes matterport's training tensors for one image, for exactness checks.

    /usr/bin/python3 tools/reference/sample.py IMAGE MASKS.npy IDS.npy OUTDIR

MASKS.npy is the H×W×N bool instance stack and IDS.npy the N int32 class ids
(negative for crowds), as load_mask returns them. With the COCO training
settings (1024² square, 56² mini masks, 81 classes, no augmentation) it runs
load_image, load_image_gt, mold_image and the deterministic part of
build_rpn_targets, and writes into OUTDIR: image.npy (uint8 resized image),
molded.npy (float32), meta.npy, class_ids.npy, bbox.npy, mini.npy (56×56×N
bool), labels.npy (match labels before subsampling) and deltas.npy (float64
deltas of every one of those positives, in anchor order).
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mrcnn_ref as ref  # noqa: E402


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    path, masks_path, ids_path, out = sys.argv[1:]
    cfg = ref.Config()
    image = ref.load_image(path)
    masks = np.load(masks_path)
    ids = np.load(ids_path).astype(np.int32)
    image, meta, class_ids, bbox, mini = ref.load_image_gt(
        image, masks, ids, 0, cfg, cfg.NUM_CLASSES)
    shape = (cfg.IMAGE_MAX_DIM, cfg.IMAGE_MAX_DIM)
    anchors = ref.generate_pyramid_anchors(
        cfg.RPN_ANCHOR_SCALES, cfg.RPN_ANCHOR_RATIOS,
        ref.compute_backbone_shapes(shape, cfg.BACKBONE_STRIDES),
        cfg.BACKBONE_STRIDES, cfg.RPN_ANCHOR_STRIDE)
    labels, argmax, kept = ref.rpn_labels(anchors, class_ids, bbox)
    pos = np.where(labels == 1)[0]
    deltas = ref.rpn_deltas(anchors, kept, argmax, pos, cfg.RPN_BBOX_STD_DEV, len(pos))
    os.makedirs(out, exist_ok=True)
    for name, arr in [("image", image), ("molded", ref.mold_image(image, cfg.MEAN_PIXEL)),
                      ("meta", meta.astype(np.float64)), ("class_ids", class_ids.astype(np.int32)),
                      ("bbox", bbox), ("mini", mini), ("labels", labels),
                      ("deltas", deltas)]:
        np.save(os.path.join(out, name + ".npy"), np.ascontiguousarray(arr))


if __name__ == "__main__":
    main()
