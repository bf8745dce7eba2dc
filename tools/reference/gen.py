"""Writes the reference goldens the Go reference tests compare against.

Run from the repository root with Debian's Python and its numpy, scipy,
scikit-image and Pillow packages:

    /usr/bin/python3 tools/reference/gen.py

It writes small generated JPEG and PNG inputs and .npy outputs (plus a
manifest.json naming the cases and the library versions) into
data/image/testdata/reference, data/anchors/testdata/reference and
data/rpn/testdata/reference. Everything is deterministic: the inputs come from
a fixed numpy seed and the crop offsets are fixed.
"""
import json
import os
import sys

import imageio
import numpy as np
import PIL
import scipy
import skimage
from PIL import Image, features

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mrcnn_ref as ref  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IMAGE_DIR = os.path.join(ROOT, "data", "image", "testdata", "reference")
ANCHOR_DIR = os.path.join(ROOT, "data", "anchors", "testdata", "reference")
RPN_DIR = os.path.join(ROOT, "data", "rpn", "testdata", "reference")

MEAN_PIXEL = [123.7, 116.8, 103.9]
MINI_SHAPE = (28, 28)
STD_DEV = [0.1, 0.1, 0.2, 0.2]


def versions():
    import platform
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-image": skimage.__version__,
        "Pillow": PIL.__version__,
        "libjpeg-api": features.version("jpg"),
        "libjpeg-turbo": features.version("libjpeg_turbo") if "libjpeg_turbo" in features.features else None,
        "imageio": imageio.__version__,
        "zlib": features.version("zlib"),
    }


def save(folder, name, arr):
    np.save(os.path.join(folder, name), np.ascontiguousarray(arr))


def pattern(rng, h, w, channels):
    """Smooth gradients, hard edges and noise: every resize tap matters."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    base = [xx * 255 / max(w - 1, 1), yy * 255 / max(h - 1, 1),
            127 + 120 * np.sin(xx / 3.0 + yy / 5.0)]
    img = np.stack(base[:3], axis=-1)
    img[(yy // 6 + xx // 7) % 2 == 0] *= 0.35
    img += rng.randint(-25, 26, size=img.shape)
    img = np.clip(img, 0, 255).astype(np.uint8)
    if channels == 1:
        return img[..., 1].copy()
    if channels == 4:
        alpha = rng.randint(0, 256, size=(h, w, 1)).astype(np.uint8)
        return np.concatenate([img, alpha], axis=-1)
    return img


def write_inputs(rng):
    """Small source images, written with Pillow (libjpeg-turbo, zlib)."""
    specs = [
        ("rgb444.jpg", 37, 53, 3, dict(quality=90, subsampling="4:4:4")),
        ("rgb420.jpg", 45, 61, 3, dict(quality=85, subsampling="4:2:0")),
        ("rgb422.jpg", 27, 39, 3, dict(quality=75, subsampling="4:2:2")),
        ("gray.jpg", 31, 42, 1, dict(quality=90)),
        ("rgb.png", 40, 56, 3, {}),
        ("rgba.png", 24, 30, 4, {}),
        ("gray.png", 33, 27, 1, {}),
        ("wide.png", 4, 321, 3, {}),
    ]
    names = []
    for name, h, w, c, opts in specs:
        arr = pattern(rng, h, w, c)
        mode = {1: "L", 3: "RGB", 4: "RGBA"}[c]
        Image.fromarray(arr, mode).save(os.path.join(IMAGE_DIR, name), **opts)
        names.append(name)
    # Colour models the decoder must convert as Pillow does.
    rgb = pattern(rng, 26, 35, 3)
    Image.fromarray(rgb).convert("CMYK").save(os.path.join(IMAGE_DIR, "cmyk.jpg"), quality=90)
    Image.fromarray(rgb).save(os.path.join(IMAGE_DIR, "progressive.jpg"), quality=80, progressive=True)
    Image.fromarray(rgb).quantize(16).save(os.path.join(IMAGE_DIR, "palette.png"))
    la = np.stack([rgb[..., 0], rgb[..., 2]], axis=-1)
    Image.fromarray(la, "LA").save(os.path.join(IMAGE_DIR, "gray_alpha.png"))
    # Narrow value ranges: the zoom's zero border taps must be clipped to the
    # image's own minimum (over all channels, not per channel).
    flat = np.clip(100 + pattern(rng, 21, 29, 3) // 6, 100, 140).astype(np.uint8)
    Image.fromarray(flat).save(os.path.join(IMAGE_DIR, "flat.png"))
    chans = pattern(rng, 23, 19, 3).astype(np.int64)
    chans = np.stack([200 + chans[..., 0] // 5, 50 + chans[..., 1] // 5, 120 + chans[..., 2] // 25], axis=-1)
    Image.fromarray(chans.astype(np.uint8)).save(os.path.join(IMAGE_DIR, "channels.png"))
    Image.fromarray(pattern(rng, 80, 120, 3)).save(os.path.join(IMAGE_DIR, "big.png"))
    Image.fromarray(pattern(rng, 64, 100, 3)).save(os.path.join(IMAGE_DIR, "h64.png"))
    # 5 rows to 9: scipy's nearest zoom maps output rows to source rows 0.5
    # apart, so every other row sits exactly half way.
    Image.fromarray(pattern(rng, 5, 11, 3)).save(os.path.join(IMAGE_DIR, "tiny.png"))
    # EXIF orientation 6 (rotate 90°): skimage.io.imread does not apply it.
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(rgb).save(os.path.join(IMAGE_DIR, "exif_rotated.jpg"), quality=90, exif=exif.tobytes())
    return names + ["cmyk.jpg", "progressive.jpg", "palette.png", "gray_alpha.png", "exif_rotated.jpg",
                    "flat.png", "channels.png", "big.png", "h64.png", "tiny.png"]


def instance_masks(h, w):
    """Three instances on the source grid: an ellipse, a rectangle touching
    the right border, and a 1×2 speck that vanishes when shrunk."""
    yy, xx = np.mgrid[0:h, 0:w]
    ell = ((yy - h * 0.45) / (h * 0.3)) ** 2 + ((xx - w * 0.35) / (w * 0.25)) ** 2 <= 1
    rect = np.zeros((h, w), bool)
    rect[h // 3:h - 1, w // 2:] = True
    speck = np.zeros((h, w), bool)
    speck[h - 2, 1:3] = True
    return np.stack([ell, rect, speck], axis=-1)


# name, source, min_dim, max_dim, min_scale, mode, crop offset (y, x)
RESIZE_CASES = [
    ("square_up", "rgb444.jpg", 64, 96, 0, "square", None),
    ("square_capped", "rgb420.jpg", 100, 80, 0, "square", None),
    ("square_down", "rgb.png", 32, 48, 0, "square", None),
    ("square_scale1", "rgb444.jpg", 32, 64, 0, "square", None),
    ("min_scale", "rgb444.jpg", 0, 96, 1.5, "square", None),
    ("pad64", "gray.jpg", 64, 128, 0, "pad64", None),
    ("crop", "rgba.png", 32, 0, 0, "crop", (0, 5)),
    ("crop_half", "wide.png", 10, 0, 0, "crop", (0, 397)),
    ("none", "gray.png", 0, 0, 0, "none", None),
    ("flat_up", "flat.png", 50, 64, 0, "square", None),
    ("channels_pad64", "channels.png", 64, 0, 0, "pad64", None),
    ("shrink_far", "big.png", 0, 32, 0, "square", None),
    ("pad64_exact", "h64.png", 64, 0, 0, "pad64", None),
    ("crop_big", "big.png", 96, 0, 0, "crop", (0, 23)),
    ("halves", "tiny.png", 9, 24, 0, "square", None),
]

# Cases whose molded float32 image is stored (the others would only add size).
MOLDED = ("square_capped", "crop", "none", "flat_up")


def gen_image(manifest):
    rng = np.random.RandomState(20240601)
    inputs = write_inputs(rng)
    decoded = {}
    for name in inputs:
        # skimage.io.imread goes through imageio, whose JPEG reader rotates by
        # the EXIF orientation (exifrotate=True). COCO's annotations are in
        # the stored pixel frame, so graftrain ignores the tag; the golden is
        # the same read with the rotation off.
        kw = {"exifrotate": False} if name == "exif_rotated.jpg" else {}
        img = ref.load_image(os.path.join(IMAGE_DIR, name), **kw)
        decoded[name] = img
        save(IMAGE_DIR, "decode_" + name.replace(".", "_") + ".npy", img)
    eh, ew = decoded["exif_rotated.jpg"].shape[:2]
    manifest["exif_note"] = ("exif_rotated.jpg carries EXIF orientation 6; skimage.io.imread "
                             "(imageio exifrotate=True) would return it rotated to %dx%d, the golden "
                             "keeps the stored %dx%d pixels as COCO's annotations do" % (ew, eh, eh, ew))
    manifest["decode"] = [{"file": n, "golden": "decode_" + n.replace(".", "_") + ".npy",
                           "shape": list(decoded[n].shape)} for n in inputs]

    cases = []
    for name, src, min_dim, max_dim, min_scale, mode, off in RESIZE_CASES:
        img = decoded[src]
        out, window, scale, padding, crop = ref.resize_image(
            img, min_dim=min_dim, max_dim=max_dim, min_scale=min_scale,
            mode=mode, crop_offset=off)
        h, w = img.shape[:2]
        scaled = (round(h * scale), round(w * scale)) if scale != 1 else (h, w)
        save(IMAGE_DIR, name + ".image.npy", out)
        if name in MOLDED:
            save(IMAGE_DIR, name + ".molded.npy", ref.mold_image(out, MEAN_PIXEL))
            # load_image_gt's flip augmentation: np.fliplr before molding.
            save(IMAGE_DIR, name + ".molded_flip.npy", ref.mold_image(np.fliplr(out), MEAN_PIXEL))
        # The zoom alone, before padding or cropping (uint8 as matterport casts).
        if scale != 1:
            zoom = ref.sk_resize(img, scaled, preserve_range=True).astype(np.uint8)
            save(IMAGE_DIR, name + ".zoom.npy", zoom)

        masks = instance_masks(h, w)
        save(IMAGE_DIR, name + ".masks.npy", masks)
        rmask = ref.resize_mask(masks, scale, padding, crop)
        save(IMAGE_DIR, name + ".rmasks.npy", rmask)
        src_boxes = ref.extract_bboxes(masks)
        boxes = ref.extract_bboxes(rmask)
        save(IMAGE_DIR, name + ".boxes.npy", boxes)
        keep = np.sum(rmask, axis=(0, 1)) > 0
        mini = ref.minimize_mask(boxes[keep], rmask[:, :, keep], MINI_SHAPE)
        save(IMAGE_DIR, name + ".mini.npy", mini)
        fmask = np.fliplr(rmask)
        fboxes = ref.extract_bboxes(fmask)
        save(IMAGE_DIR, name + ".boxes_flip.npy", fboxes)
        save(IMAGE_DIR, name + ".mini_flip.npy",
             ref.minimize_mask(fboxes[keep], fmask[:, :, keep], MINI_SHAPE))
        meta = ref.compose_image_meta(7, img.shape, out.shape, window, scale,
                                      np.ones([4], dtype=np.int32))
        save(IMAGE_DIR, name + ".meta.npy", meta)
        cases.append({
            "name": name, "source": src, "min_dim": min_dim, "max_dim": max_dim,
            "min_scale": min_scale, "mode": mode,
            "crop_offset": list(off) if off else None,
            "scale": float(scale), "scaled_shape": list(scaled),
            "window": [int(v) for v in window],
            "padding": [[int(a), int(b)] for a, b in padding],
            "crop": [int(v) for v in crop] if crop else None,
            "out_shape": list(out.shape),
            "source_boxes": src_boxes.tolist(),
            "kept": keep.tolist(),
            "has_zoom": scale != 1,
            "has_molded": name in MOLDED,
        })
    manifest["resize"] = cases
    manifest["mean_pixel"] = MEAN_PIXEL
    manifest["mini_mask_shape"] = list(MINI_SHAPE)
    manifest["meta_image_id"] = 7
    manifest["meta_num_classes"] = 4


ANCHOR_CASES = [
    # name, image shape, scales, ratios, strides, anchor stride
    ("default_100x72", (100, 72), [32, 64, 128, 256, 512], [0.5, 1, 2], [4, 8, 16, 32, 64], 1),
    ("default_128_stride2", (128, 128), [32, 64, 128, 256, 512], [0.5, 1, 2], [4, 8, 16, 32, 64], 2),
    ("small_128", (128, 128), [8, 16, 32, 64, 128], [0.5, 1, 2], [4, 8, 16, 32, 64], 1),
    ("odd_ratios_97x130", (97, 130), [24, 48, 96], [0.3, 1.7, 3], [4, 8, 16], 1),
]


def anchors_for(shape, scales, ratios, strides, stride):
    fs = ref.compute_backbone_shapes(shape, strides)
    return ref.generate_pyramid_anchors(scales, ratios, fs, strides, stride)


def gen_anchors(manifest):
    cases = []
    for name, shape, scales, ratios, strides, stride in ANCHOR_CASES:
        a = anchors_for(shape, scales, ratios, strides, stride)
        save(ANCHOR_DIR, name + ".anchors.npy", a)
        save(ANCHOR_DIR, name + ".norm.npy", ref.norm_boxes(a, shape))
        cases.append({"name": name, "shape": list(shape), "scales": scales,
                      "ratios": ratios, "strides": strides,
                      "anchor_stride": stride, "count": int(a.shape[0])})
    manifest["anchors"] = cases


def gen_rpn(manifest):
    shape = (128, 128)
    scales, ratios, strides = [8, 16, 32, 64, 128], [0.5, 1, 2], [4, 8, 16, 32, 64]
    anchors = anchors_for(shape, scales, ratios, strides, 1)
    save(RPN_DIR, "anchors.npy", anchors)
    rng = np.random.RandomState(7)
    many = []
    for _ in range(24):
        y1, x1 = rng.randint(0, 110, size=2)
        hh, ww = rng.randint(3, 40, size=2)
        many.append([y1, x1, min(y1 + hh, 128), min(x1 + ww, 128)])
    dense = []
    for _ in range(100):
        y1, x1 = rng.randint(0, 112, size=2)
        hh, ww = rng.randint(8, 25, size=2)
        dense.append([y1, x1, min(y1 + hh, 128), min(x1 + ww, 128)])
    cases = {
        "basic": ([1, 2, 3], [[10, 12, 40, 50], [60, 60, 100, 90], [5, 80, 30, 127]]),
        # a box equal to an anchor (16×16 at centre (64, 64)), and a 1×1 box
        # whose best IoU is shared by several anchors
        "exact_and_tiny": ([1, 2], [[56, 56, 72, 72], [33, 33, 34, 34]]),
        # crowd regions: one over a real box, one alone
        "crowd": ([1, -2, 3, -1], [[20, 20, 60, 60], [10, 10, 70, 70],
                                   [80, 30, 120, 70], [90, 90, 128, 128]]),
        # two overlapping boxes: positives may take their deltas from the box
        # that did not make them positive
        "overlap": ([1, 1], [[30, 30, 70, 70], [34, 38, 78, 74]]),
        "border": ([2], [[0, 0, 128, 128]]),
        # the anchor [48, 48, 80, 80] has IoU 960/1088 with both boxes: its
        # deltas must use the first (np.argmax)
        "argmax_tie": ([1, 2], [[48, 46, 80, 78], [48, 50, 80, 82]]),
        "many": ([1 + i % 3 for i in range(24)], many),
        # more positives than half of 256: the positive subsampling runs
        "dense": ([1 + i % 5 for i in range(100)], dense),
    }
    out = []
    for name, (ids, boxes) in cases.items():
        ids = np.array(ids, dtype=np.int32)
        boxes = np.array(boxes, dtype=np.int32)
        labels, argmax, kept = ref.rpn_labels(anchors, ids, boxes)
        pos = np.where(labels == 1)[0]
        deltas = ref.rpn_deltas(anchors, kept, argmax, pos, np.array(STD_DEV), len(pos))
        save(RPN_DIR, name + ".ids.npy", ids)
        save(RPN_DIR, name + ".boxes.npy", boxes)
        save(RPN_DIR, name + ".labels.npy", labels)
        save(RPN_DIR, name + ".deltas.npy", deltas)
        # One full build_rpn_targets with numpy's seeded subsampling, as a record
        # of what matterport's generator produces for the same input.
        match, bbox = ref.build_rpn_targets(anchors, ids, boxes, 256, STD_DEV,
                                            np.random.RandomState(11))
        save(RPN_DIR, name + ".match256.npy", match)
        save(RPN_DIR, name + ".bbox256.npy", bbox)
        out.append({"name": name, "positives": int(len(pos)),
                    "negatives": int(np.sum(labels == -1)),
                    "positives256": int(np.sum(match == 1)),
                    "negatives256": int(np.sum(match == -1))})
    manifest["rpn"] = {"shape": list(shape), "scales": scales, "ratios": ratios,
                       "strides": strides, "anchor_stride": 1,
                       "std_dev": STD_DEV, "cases": out}


def main():
    for d in (IMAGE_DIR, ANCHOR_DIR, RPN_DIR):
        os.makedirs(d, exist_ok=True)
    for folder, fn in ((IMAGE_DIR, gen_image), (ANCHOR_DIR, gen_anchors), (RPN_DIR, gen_rpn)):
        manifest = {"generator": "tools/reference/gen.py", "versions": versions()}
        fn(manifest)
        with open(os.path.join(folder, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=1, sort_keys=True)
            f.write("\n")
    print(json.dumps(versions()))


if __name__ == "__main__":
    main()
