"""Times matterport's numpy load_image_gt + build_rpn_targets on given images.

    /usr/bin/python3 tools/reference/bench.py --iters 5 IMAGE MASKS.npy IDS.npy [...]

Each image comes with its H×W×N bool instance masks and N int32 class ids
(negative for crowds) as .npy files, so the timing excludes COCO mask
decoding. Per image it runs what matterport's data generator runs without
augmentation: load_image (Pillow), resize_image, resize_mask, extract_bboxes,
minimize_mask, compose_image_meta, mold_image and build_rpn_targets against
the cached pyramid anchors, all with the COCO training settings (1024²
square, 56² mini masks, 256 RPN anchors). Prints one JSON object: mean
milliseconds per image overall and per stage, and the library versions.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mrcnn_ref as ref  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=3, help="passes over the images")
    ap.add_argument("files", nargs="+", help="IMAGE MASKS.npy IDS.npy triples")
    args = ap.parse_args()
    if len(args.files) % 3:
        ap.error("files must come in IMAGE MASKS.npy IDS.npy triples")
    cfg = ref.Config()
    samples = []
    for i in range(0, len(args.files), 3):
        samples.append((args.files[i], np.load(args.files[i + 1]),
                        np.load(args.files[i + 2]).astype(np.int32)))
    shape = (cfg.IMAGE_MAX_DIM, cfg.IMAGE_MAX_DIM)
    anchors = ref.generate_pyramid_anchors(
        cfg.RPN_ANCHOR_SCALES, cfg.RPN_ANCHOR_RATIOS,
        ref.compute_backbone_shapes(shape, cfg.BACKBONE_STRIDES),
        cfg.BACKBONE_STRIDES, cfg.RPN_ANCHOR_STRIDE)
    rng = np.random.RandomState(1)
    stages = {"decode": 0.0, "load_image_gt": 0.0, "mold": 0.0, "rpn_targets": 0.0}
    n = 0
    clock = time.perf_counter
    for it in range(args.iters + 1):  # the first pass warms caches, untimed
        for path, masks, ids in samples:
            t0 = clock()
            image = ref.load_image(path)
            t1 = clock()
            image, meta, class_ids, bbox, mini = ref.load_image_gt(
                image, masks, ids, 0, cfg, cfg.NUM_CLASSES)
            t2 = clock()
            molded = ref.mold_image(image, cfg.MEAN_PIXEL)
            t3 = clock()
            match, deltas = ref.build_rpn_targets(
                anchors, class_ids, bbox, cfg.RPN_TRAIN_ANCHORS_PER_IMAGE,
                cfg.RPN_BBOX_STD_DEV, rng)
            t4 = clock()
            del molded, meta, mini, match, deltas
            if it == 0:
                continue
            n += 1
            stages["decode"] += t1 - t0
            stages["load_image_gt"] += t2 - t1
            stages["mold"] += t3 - t2
            stages["rpn_targets"] += t4 - t3
    ms = {k: 1000 * v / n for k, v in stages.items()}
    import PIL
    import scipy
    import skimage
    print(json.dumps({
        "images": n,
        "ms_per_image": sum(ms.values()),
        "stages_ms": ms,
        "anchors": int(anchors.shape[0]),
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__,
                     "scikit-image": skimage.__version__, "Pillow": PIL.__version__},
    }))


if __name__ == "__main__":
    main()
