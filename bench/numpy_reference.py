"""Times matterport's numpy data path on the same kind of input as
`go run ./bench`: 640x480 JPEGs with 20 elliptic instances, 1024² square
geometry, 261,888 anchors, 256 RPN training anchors, 56² mini masks, flip.
The functions follow matterport's mrcnn/utils.py and model.py
(load_image_gt, build_rpn_targets); the golden tests in data/image and
data/rpn check that graftrain computes the same values.

    python3 bench/numpy_reference.py [-n 10]   (numpy, scipy, scikit-image, Pillow)
"""
import argparse
import io
import math
import os
import time

import numpy as np
from PIL import Image

import importlib.util


def load(name, *path):
    spec = importlib.util.spec_from_file_location(name, os.path.join(os.path.dirname(__file__), "..", *path))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


img = load("imagegolden", "data", "image", "testdata", "golden.py")
rpn = load("rpngolden", "data", "rpn", "testdata", "golden.py")

MEAN = np.array([123.7, 116.8, 103.9])


def anchors1024():
    rpn.SCALES = (32, 64, 128, 256, 512)
    return rpn.pyramid(1024, 1024)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10)
    n = ap.parse_args().n
    rng = np.random.RandomState(1)
    h, w = 480, 640
    jpegs, masks = [], []
    for i in range(n):
        yy, xx = np.mgrid[0:h, 0:w]
        a = np.stack([xx // 3 + i, yy // 2, (xx + yy) // 5], -1) + rng.randint(0, 24, size=(h, w, 3))
        buf = io.BytesIO()
        Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(buf, format="JPEG", quality=90)
        jpegs.append(buf.getvalue())
        m = np.zeros((h, w, 20), bool)
        for k in range(20):
            ry, rx = 4 + rng.rand() * 80, 4 + rng.rand() * 100
            cy, cx = ry + rng.rand() * (h - 2 * ry), rx + rng.rand() * (w - 2 * rx)
            m[:, :, k] = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        masks.append(m)
    anchors = anchors1024()
    ids = np.arange(1, 21, dtype=np.int32)
    stages = {"decode": 0.0, "resize": 0.0, "masks": 0.0, "rpn": 0.0, "mold": 0.0}
    t_all = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        image = np.asarray(Image.open(io.BytesIO(jpegs[i])).convert("RGB"))
        t1 = time.perf_counter()
        image, window, scale, padding = img.resize_image(image, 800, 1024, 0, "square")
        t2 = time.perf_counter()
        mask = img.resize_mask(masks[i], scale, padding)
        if np.random.randint(0, 2):
            image, mask = np.fliplr(image), np.fliplr(mask)
        keep = np.sum(mask, axis=(0, 1)) > 0
        mask = mask[:, :, keep]
        boxes = img.extract_bboxes(mask)
        mini = img.minimize_mask(boxes, mask, (56, 56))
        t3 = time.perf_counter()
        rpn.build_rpn_targets(anchors, ids[keep], boxes, 256, np.random)
        t4 = time.perf_counter()
        (image.astype(np.float32) - MEAN).astype(np.float32)
        t5 = time.perf_counter()
        for k, d in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            stages[k] += d
    total = time.perf_counter() - t_all
    for k, v in stages.items():
        print(f"{k:8s} {1000 * v / n:8.1f} ms")
    print(f"total    {1000 * total / n:8.1f} ms per image ({n / total:.1f} images/s, one core)")


if __name__ == "__main__":
    main()
