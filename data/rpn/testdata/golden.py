"""Writes the golden files of golden_test.go with numpy, following
matterport's utils.generate_pyramid_anchors, utils.compute_overlaps and
model.build_rpn_targets. RPN_TRAIN_ANCHORS_PER_IMAGE is set above the
anchor count so that no random subsampling happens and the targets are
fully determined.

Run from this folder:  python3 golden.py   (numpy)
"""
import json
import math

import numpy as np

SCALES = (8, 16, 32, 64, 128)
RATIOS = [0.5, 1, 2]
STRIDES = [4, 8, 16, 32, 64]
STD = np.array([0.1, 0.1, 0.2, 0.2])


def level_anchors(scale, shape, stride):
    """One pyramid level: positions row-major, ratios innermost, with the
    float64 arithmetic of matterport's generate_anchors."""
    r = np.array(RATIOS, dtype=np.float64)
    half_h = 0.5 * (scale / np.sqrt(r))
    half_w = 0.5 * (scale * np.sqrt(r))
    cy = (np.arange(shape[0]) * stride)[:, None, None]
    cx = (np.arange(shape[1]) * stride)[None, :, None]
    zero = np.zeros((shape[0], shape[1], len(RATIOS)))
    boxes = np.stack([cy - half_h + zero, cx - half_w + zero, cy + half_h + zero, cx + half_w + zero], axis=-1)
    return boxes.reshape(-1, 4)


def pyramid(h, w):
    levels = []
    for scale, stride in zip(SCALES, STRIDES):
        levels.append(level_anchors(scale, (int(math.ceil(h / stride)), int(math.ceil(w / stride))), stride))
    return np.concatenate(levels)


def compute_overlaps(anchors, boxes):
    """IoU [anchors, boxes]; union summed as box area + anchor area - overlap."""
    a_area = (anchors[:, 2] - anchors[:, 0]) * (anchors[:, 3] - anchors[:, 1])
    out = np.zeros((len(anchors), len(boxes)))
    for j, b in enumerate(boxes):
        b_area = (b[2] - b[0]) * (b[3] - b[1])
        dy = np.minimum(b[2], anchors[:, 2]) - np.maximum(b[0], anchors[:, 0])
        dx = np.minimum(b[3], anchors[:, 3]) - np.maximum(b[1], anchors[:, 1])
        inter = np.maximum(dx, 0) * np.maximum(dy, 0)
        out[:, j] = inter / (b_area + a_area - inter)
    return out


def build_rpn_targets(anchors, class_ids, boxes, train_anchors, rng=None):
    """matterport's labelling rules. Without rng it asserts that nothing
    would be subsampled, so the result does not depend on random draws;
    with rng (a numpy RandomState) it subsamples as matterport does."""
    match = np.zeros(len(anchors), dtype=np.int32)
    deltas = np.zeros((train_anchors, 4))
    crowd = class_ids < 0
    not_near_crowd = np.ones(len(anchors), dtype=bool)
    if crowd.any():
        not_near_crowd = compute_overlaps(anchors, boxes[crowd]).max(axis=1) < 0.001
    boxes = boxes[class_ids > 0]
    iou = compute_overlaps(anchors, boxes)
    best_box = iou.argmax(axis=1)
    best_iou = iou[np.arange(len(anchors)), best_box]
    match[(best_iou < 0.3) & not_near_crowd] = -1
    ties = (iou == iou.max(axis=0)).any(axis=1)
    match[ties] = 1
    match[best_iou >= 0.7] = 1
    positives = np.flatnonzero(match == 1)
    if rng is None:
        assert len(positives) <= train_anchors // 2
    else:
        extra = len(positives) - train_anchors // 2
        if extra > 0:
            match[rng.choice(positives, extra, replace=False)] = 0
        negatives = np.flatnonzero(match == -1)
        extra = len(negatives) - (train_anchors - np.sum(match == 1))
        if extra > 0:
            match[rng.choice(negatives, extra, replace=False)] = 0
        positives = np.flatnonzero(match == 1)
    for row, i in enumerate(positives):
        g, a = boxes[best_box[i]], anchors[i]
        gh, gw, ah, aw = g[2] - g[0], g[3] - g[1], a[2] - a[0], a[3] - a[1]
        d = np.array([((g[0] + 0.5 * gh) - (a[0] + 0.5 * ah)) / ah,
                      ((g[1] + 0.5 * gw) - (a[1] + 0.5 * aw)) / aw,
                      np.log(gh / ah), np.log(gw / aw)])
        deltas[row] = d / STD
    return match, deltas


if __name__ == "__main__":
    rng = np.random.RandomState(5)
    h, w = 128, 96
    anchors = pyramid(h, w)
    anchors.astype("<f8").tofile("anchors.bin")
    cases = []
    for c in range(6):
        n = rng.randint(1, 12)
        y1 = rng.randint(0, h - 2, size=n)
        x1 = rng.randint(0, w - 2, size=n)
        y2 = np.minimum(y1 + 1 + rng.randint(1, 70, size=n), h)
        x2 = np.minimum(x1 + 1 + rng.randint(1, 60, size=n), w)
        boxes = np.stack([y1, x1, y2, x2], axis=1).astype(np.int32)
        ids = rng.randint(1, 4, size=n).astype(np.int32)
        ids[rng.rand(n) < 0.2] *= -1
        ids[0] = abs(ids[0])
        if c == 5:  # duplicate boxes: ties between boxes, first index wins
            boxes = np.concatenate([boxes, boxes[:1]])
            ids = np.concatenate([ids, ids[:1]])
        train = 2 * anchors.shape[0]
        match, bbox = build_rpn_targets(anchors, ids, boxes, train)
        npos = int((match == 1).sum())
        match.astype("<i4").tofile(f"case{c}.match.bin")
        bbox[:npos].astype("<f4").tofile(f"case{c}.bbox.bin")
        cases.append({"name": f"case{c}", "class_ids": ids.tolist(), "boxes": boxes.tolist(), "positives": npos})
    json.dump({"height": h, "width": w, "anchors": int(anchors.shape[0]), "numpy": np.__version__,
               "cases": cases}, open("golden.json", "w"), indent=1)
