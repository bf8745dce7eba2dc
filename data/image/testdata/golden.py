"""Writes the golden files of resize_test.go with numpy, scipy and
scikit-image, following matterport's utils.resize_image, resize_mask and
minimize_mask (the mini-mask crop is cast to float first: scikit-image 0.19
refuses to resize bool arrays bilinearly).

Run from this folder:  python3 golden.py   (numpy, scipy, scikit-image)
Each case is NAME.json (parameters and results) plus raw little-endian
arrays NAME.*.bin.
"""
import json
import math

import numpy as np
import scipy
import scipy.ndimage
import skimage
import skimage.transform


def resize_image(image, min_dim, max_dim, min_scale, mode):
    h, w = image.shape[:2]
    window = (0, 0, h, w)
    scale = 1
    padding = [(0, 0), (0, 0), (0, 0)]
    if mode == "none":
        return image, window, scale, padding
    if min_dim:
        scale = max(1, min_dim / min(h, w))
    if min_scale and scale < min_scale:
        scale = min_scale
    if max_dim and mode == "square":
        image_max = max(h, w)
        if round(image_max * scale) > max_dim:
            scale = max_dim / image_max
    if scale != 1:
        image = skimage.transform.resize(
            image, (round(h * scale), round(w * scale)), order=1, mode="constant",
            cval=0, clip=True, preserve_range=True, anti_aliasing=False)
    h, w = image.shape[:2]
    if mode == "square":
        top = (max_dim - h) // 2
        left = (max_dim - w) // 2
        padding = [(top, max_dim - h - top), (left, max_dim - w - left), (0, 0)]
    elif mode == "pad64":
        th = 0 if h % 64 == 0 else h - h % 64 + 64 - h
        tw = 0 if w % 64 == 0 else w - w % 64 + 64 - w
        padding = [(th // 2, th - th // 2), (tw // 2, tw - tw // 2), (0, 0)]
    image = np.pad(image, padding, mode="constant", constant_values=0)
    window = (padding[0][0], padding[1][0], h + padding[0][0], w + padding[1][0])
    return image.astype(np.uint8), window, scale, padding


def resize_mask(mask, scale, padding):
    mask = scipy.ndimage.zoom(mask, zoom=[scale, scale, 1], order=0)
    return np.pad(mask, padding, mode="constant", constant_values=0)


def extract_bboxes(mask):
    boxes = np.zeros([mask.shape[-1], 4], dtype=np.int32)
    for i in range(mask.shape[-1]):
        cols = np.where(np.any(mask[:, :, i], axis=0))[0]
        rows = np.where(np.any(mask[:, :, i], axis=1))[0]
        if cols.shape[0]:
            boxes[i] = [rows[0], cols[0], rows[-1] + 1, cols[-1] + 1]
    return boxes


def minimize_mask(bbox, mask, shape):
    out = np.zeros(shape + (mask.shape[-1],), dtype=bool)
    for i in range(mask.shape[-1]):
        y1, x1, y2, x2 = bbox[i]
        m = mask[y1:y2, x1:x2, i].astype(float)
        m = skimage.transform.resize(m, shape, order=1, mode="constant", cval=0,
                                     clip=True, preserve_range=False, anti_aliasing=False)
        out[:, :, i] = np.around(m).astype(bool)
    return out


def blobs(rng, h, w, n):
    yy, xx = np.mgrid[0:h, 0:w]
    masks = np.zeros((h, w, n), bool)
    for i in range(n):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(0.5, h / 3), rng.uniform(0.5, w / 3)
        masks[:, :, i] = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
    return masks


CASES = [
    # name, h, w, min_dim, max_dim, min_scale, mode
    ("square_up", 61, 47, 64, 128, 0, "square"),
    ("square_x2", 50, 50, 100, 100, 0, "square"),
    ("square_down", 150, 100, 64, 128, 0, "square"),
    ("pad64", 33, 70, 64, 0, 0, "pad64"),
    ("min_scale", 20, 9, 0, 0, 2.5, "pad64"),
    ("flat", 40, 30, 64, 128, 0, "square"),
]

if __name__ == "__main__":
    rng = np.random.RandomState(20)
    for name, h, w, min_dim, max_dim, min_scale, mode in CASES:
        if name == "flat":
            image = np.full((h, w, 3), 200, np.uint8)
            image[5:9, 7:11] = 17
        else:
            image = rng.randint(0, 256, size=(h, w, 3)).astype(np.uint8)
        masks = blobs(rng, h, w, 6)
        masks = masks[:, :, masks.sum(axis=(0, 1)) > 0]
        out, window, scale, padding = resize_image(image, min_dim, max_dim, min_scale, mode)
        rmask = resize_mask(masks, scale, padding)
        keep = rmask.sum(axis=(0, 1)) > 0
        boxes = extract_bboxes(rmask[:, :, keep])
        mini = minimize_mask(boxes, rmask[:, :, keep], (12, 10))
        image.tofile(f"{name}.image.bin")
        masks.astype(np.uint8).tofile(f"{name}.masks.bin")
        out.tofile(f"{name}.out.bin")
        mini.astype(np.uint8).tofile(f"{name}.mini.bin")
        json.dump({
            "h": h, "w": w, "min_dim": min_dim, "max_dim": max_dim, "min_scale": min_scale,
            "mode": mode, "instances": int(masks.shape[-1]),
            "out_shape": list(out.shape), "window": [int(v) for v in window], "scale": float(scale),
            "kept": [bool(k) for k in keep], "boxes": boxes.tolist(), "mini_shape": [12, 10],
            "versions": {"numpy": np.__version__, "scipy": scipy.__version__, "skimage": skimage.__version__},
        }, open(f"{name}.json", "w"), indent=1)
