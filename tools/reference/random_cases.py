"""Writes randomized reference cases for the Go tests' wider sweeps.

    /usr/bin/python3 tools/reference/random_cases.py image OUTDIR --seed S --n N
    /usr/bin/python3 tools/reference/random_cases.py rpn OUTDIR --seed S --n N

image: N random images (sizes 1 to 300, full or narrow value ranges), each
with a random resize configuration (every mode) and 1 to 4 random instance
masks; writes the same files as gen.py's resize cases (NAME.src.npy,
NAME.image.npy, NAME.zoom.npy, NAME.masks.npy, NAME.rmasks.npy,
NAME.boxes.npy, NAME.mini.npy) and cases.json.

rpn: N random sets of 1 to 30 GT boxes (some crowds) on matterport's 1024²
anchors; writes NAME.ids.npy, NAME.boxes.npy, NAME.labels.npy,
NAME.deltas.npy and cases.json.

The same seed gives the same cases.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mrcnn_ref as ref  # noqa: E402

MINI_SHAPE = (28, 28)


def random_masks(rng, h, w):
    n = rng.randint(1, 5)
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.zeros((h, w, n), bool)
    for i in range(n):
        kind = rng.randint(3)
        if kind == 0:
            cy, cx = rng.uniform(0, h), rng.uniform(0, w)
            ry, rx = rng.uniform(0.5, h / 2 + 1), rng.uniform(0.5, w / 2 + 1)
            m = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        elif kind == 1:
            y1, x1 = rng.randint(0, h), rng.randint(0, w)
            m = np.zeros((h, w), bool)
            m[y1:rng.randint(y1 + 1, h + 1), x1:rng.randint(x1 + 1, w + 1)] = True
        else:
            m = np.zeros((h, w), bool)
            m[rng.randint(0, h), rng.randint(0, w)] = True
        if not m.any():
            m[rng.randint(0, h), rng.randint(0, w)] = True
        out[:, :, i] = m
    return out


def random_config(rng, h, w):
    mode = rng.choice(["square", "pad64", "crop", "none"], p=[0.4, 0.25, 0.25, 0.1])
    min_scale = 0 if rng.rand() < 0.7 else round(rng.uniform(1, 2.5), 3)
    if mode == "pad64":
        return mode, 64 * rng.randint(1, 4), 0, min_scale
    if mode == "crop":
        return mode, rng.randint(1, min(h, w) * 3 + 2), 0, 0
    if mode == "square":
        min_dim = rng.randint(0, 2 * max(h, w) + 2)
        max_dim = rng.randint(max(1, min(h, w) // 2), 2 * max(h, w) + 2)
        return mode, min_dim, max_dim, min_scale
    return mode, 0, 0, 0


def gen_image(out, rng, n):
    cases = []
    for k in range(n):
        h, w = rng.randint(1, 301), rng.randint(1, 301)
        if rng.rand() < 0.2:
            h, w = rng.randint(1, 6), rng.randint(1, 400)
        lo = rng.randint(0, 200)
        hi = rng.randint(lo + 1, 256)
        img = rng.randint(lo, hi + 1, size=(h, w, 3)).astype(np.uint8)
        mode, min_dim, max_dim, min_scale = random_config(rng, h, w)
        offset = None
        if mode == "crop":
            s = max(1, min_dim / min(h, w))
            sh, sw = (round(h * s), round(w * s)) if s != 1 else (h, w)
            if sh < min_dim or sw < min_dim:
                continue
            offset = (rng.randint(0, sh - min_dim + 1), rng.randint(0, sw - min_dim + 1))
        if mode == "square":
            s = max(1, min_dim / min(h, w)) if min_dim else 1
            if min_scale and s < min_scale:
                s = min_scale
            if round(max(h, w) * s) > max_dim:
                s = max_dim / max(h, w)
            if s != 1 and (round(h * s) < 1 or round(w * s) < 1):
                continue  # skimage cannot resize to an empty image
        name = "case%03d" % k
        res, window, scale, padding, crop = ref.resize_image(
            img, min_dim=min_dim, max_dim=max_dim, min_scale=min_scale,
            mode=mode, crop_offset=offset)
        scaled = (round(h * scale), round(w * scale)) if scale != 1 else (h, w)
        np.save(os.path.join(out, name + ".src.npy"), img)
        np.save(os.path.join(out, name + ".image.npy"), res)
        if scale != 1:
            np.save(os.path.join(out, name + ".zoom.npy"),
                    ref.sk_resize(img, scaled, preserve_range=True).astype(np.uint8))
        masks = random_masks(rng, h, w)
        rmask = ref.resize_mask(masks, scale, padding, crop)
        boxes = ref.extract_bboxes(rmask)
        keep = np.sum(rmask, axis=(0, 1)) > 0
        mini = ref.minimize_mask(boxes[keep], rmask[:, :, keep], MINI_SHAPE)
        for suffix, arr in (("masks", masks), ("rmasks", rmask), ("boxes", boxes), ("mini", mini)):
            np.save(os.path.join(out, name + "." + suffix + ".npy"), np.ascontiguousarray(arr))
        cases.append({
            "name": name, "min_dim": int(min_dim), "max_dim": int(max_dim),
            "min_scale": float(min_scale), "mode": mode,
            "crop_offset": [int(v) for v in offset] if offset else None,
            "scale": float(scale), "scaled_shape": [int(v) for v in scaled],
            "window": [int(v) for v in window],
            "padding": [[int(a), int(b)] for a, b in padding],
            "crop": [int(v) for v in crop] if crop else None,
            "out_shape": list(res.shape),
            "source_boxes": ref.extract_bboxes(masks).tolist(),
            "kept": keep.tolist(), "has_zoom": scale != 1,
        })
    return {"resize": cases, "mini_mask_shape": list(MINI_SHAPE)}


def gen_rpn(out, rng, n):
    cfg = ref.Config()
    shape = (1024, 1024)
    anchors = ref.generate_pyramid_anchors(
        cfg.RPN_ANCHOR_SCALES, cfg.RPN_ANCHOR_RATIOS,
        ref.compute_backbone_shapes(shape, cfg.BACKBONE_STRIDES),
        cfg.BACKBONE_STRIDES, cfg.RPN_ANCHOR_STRIDE)
    cases = []
    for k in range(n):
        m = rng.randint(1, 31)
        boxes = []
        for _ in range(m):
            size = int(np.exp(rng.uniform(np.log(2), np.log(700))))
            hh = max(1, int(size * rng.uniform(0.4, 1.6)))
            ww = max(1, int(size * rng.uniform(0.4, 1.6)))
            y1, x1 = rng.randint(0, 1024 - min(hh, 1023)), rng.randint(0, 1024 - min(ww, 1023))
            boxes.append([y1, x1, min(y1 + hh, 1024), min(x1 + ww, 1024)])
        ids = rng.randint(1, 81, size=m).astype(np.int32)
        crowd = rng.rand(m) < 0.15
        crowd[0] = False  # at least one real box
        ids[crowd] *= -1
        boxes = np.array(boxes, dtype=np.int32)
        labels, argmax, kept = ref.rpn_labels(anchors, ids, boxes)
        pos = np.where(labels == 1)[0]
        deltas = ref.rpn_deltas(anchors, kept, argmax, pos, cfg.RPN_BBOX_STD_DEV, len(pos))
        name = "case%03d" % k
        for suffix, arr in (("ids", ids), ("boxes", boxes), ("labels", labels), ("deltas", deltas)):
            np.save(os.path.join(out, name + "." + suffix + ".npy"), arr)
        cases.append({"name": name})
    return {"rpn": {"shape": list(shape), "scales": list(cfg.RPN_ANCHOR_SCALES),
                    "ratios": list(cfg.RPN_ANCHOR_RATIOS), "strides": cfg.BACKBONE_STRIDES,
                    "anchor_stride": cfg.RPN_ANCHOR_STRIDE,
                    "std_dev": cfg.RPN_BBOX_STD_DEV.tolist(), "cases": cases}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["image", "rpn"])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--n", type=int, default=20)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.RandomState(args.seed)
    manifest = (gen_image if args.kind == "image" else gen_rpn)(args.out, rng, args.n)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f)


if __name__ == "__main__":
    main()
