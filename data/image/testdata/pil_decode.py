"""Writes small JPEG and PNG files with Pillow and pil_decode.json, the
SHA-256 of the RGB pixels Pillow decodes from each: the pixels matterport's
pipeline trains on (skimage.io.imread reads through Pillow; grayscale is
replicated to RGB, alpha dropped).

Run from this folder:  python3 pil_decode.py   (Pillow, numpy)
"""
import hashlib
import json

import numpy as np
import PIL
from PIL import Image

rng = np.random.RandomState(3)
h, w = 48, 64
yy, xx = np.mgrid[0:h, 0:w]
rgb = np.stack([xx * 4, yy * 5, (xx + yy) * 2], axis=-1) + rng.randint(0, 40, size=(h, w, 3))
rgb = np.clip(rgb, 0, 255).astype(np.uint8)
rgba = np.concatenate([rgb, rng.randint(0, 256, size=(h, w, 1)).astype(np.uint8)], axis=-1)

files = {
    "jpeg420.jpg": lambda p: Image.fromarray(rgb).save(p, quality=90, subsampling="4:2:0"),
    "jpeg444.jpg": lambda p: Image.fromarray(rgb).save(p, quality=90, subsampling="4:4:4"),
    "jpeg422.jpg": lambda p: Image.fromarray(rgb).save(p, quality=75, subsampling="4:2:2"),
    "gray.jpg": lambda p: Image.fromarray(rgb[..., 0]).save(p, quality=90),
    "progressive.jpg": lambda p: Image.fromarray(rgb).save(p, quality=85, progressive=True),
    "rgba.png": lambda p: Image.fromarray(rgba, "RGBA").save(p),
    "gray.png": lambda p: Image.fromarray(rgb[..., 1]).save(p),
}
out = {"pillow": PIL.__version__, "sha256": {}}
for name, save in files.items():
    save(name)
    a = np.asarray(Image.open(name))
    if a.ndim == 2:
        a = np.stack([a, a, a], axis=-1)
    a = np.ascontiguousarray(a[..., :3]).astype(np.uint8)
    out["sha256"][name] = hashlib.sha256(a.tobytes()).hexdigest()
json.dump(out, open("pil_decode.json", "w"), indent=1, sort_keys=True)
