"""Reference implementation of the data side of matterport's Mask R-CNN.

Written from the documented behaviour of matterport's mrcnn/utils.py and
mrcnn/model.py (resize_image, resize_mask, minimize_mask, extract_bboxes,
compute_overlaps, generate_anchors, generate_pyramid_anchors, norm_boxes,
load_image_gt, build_rpn_targets, mold_image, compose_image_meta), computed
with the same libraries: numpy, scipy.ndimage, scikit-image and Pillow.

Every function here keeps the dtypes and the order of operations of the
original, since the goldens it writes are compared bit for bit.
"""
import math
import random
import warnings

import numpy as np
import scipy.ndimage
import skimage.color
import skimage.io
import skimage.transform


def load_image(path, **imread_args):
    """dataset.load_image: skimage.io.imread (imageio, then Pillow), grayscale
    replicated to RGB, alpha dropped. imread_args go to the imageio reader."""
    image = skimage.io.imread(path, **imread_args)
    if image.ndim != 3:
        image = skimage.color.gray2rgb(image)
    if image.shape[-1] == 4:
        image = image[..., :3]
    return np.ascontiguousarray(image)


def sk_resize(image, shape, preserve_range=False):
    """utils.resize: skimage.transform.resize, bilinear, no anti-aliasing."""
    return skimage.transform.resize(
        image, shape, order=1, mode="constant", cval=0, clip=True,
        preserve_range=preserve_range, anti_aliasing=False,
        anti_aliasing_sigma=None)


def resize_image(image, min_dim=None, max_dim=None, min_scale=None,
                 mode="square", crop_offset=None):
    """utils.resize_image. crop mode draws its offset with random.randint;
    crop_offset=(y, x) replaces that draw so the result is reproducible."""
    image_dtype = image.dtype
    h, w = image.shape[:2]
    window = (0, 0, h, w)
    scale = 1
    padding = [(0, 0), (0, 0), (0, 0)]
    crop = None
    if mode == "none":
        return image, window, scale, padding, crop
    if min_dim:
        scale = max(1, min_dim / min(h, w))
    if min_scale and scale < min_scale:
        scale = min_scale
    if max_dim and mode == "square":
        image_max = max(h, w)
        if round(image_max * scale) > max_dim:
            scale = max_dim / image_max
    if scale != 1:
        image = sk_resize(image, (round(h * scale), round(w * scale)),
                          preserve_range=True)
    h, w = image.shape[:2]
    if mode == "square":
        top = (max_dim - h) // 2
        bottom = max_dim - h - top
        left = (max_dim - w) // 2
        right = max_dim - w - left
        padding = [(top, bottom), (left, right), (0, 0)]
        image = np.pad(image, padding, mode="constant", constant_values=0)
        window = (top, left, h + top, w + left)
    elif mode == "pad64":
        assert min_dim % 64 == 0
        top = bottom = left = right = 0
        if h % 64 > 0:
            mh = h - (h % 64) + 64
            top = (mh - h) // 2
            bottom = mh - h - top
        if w % 64 > 0:
            mw = w - (w % 64) + 64
            left = (mw - w) // 2
            right = mw - w - left
        padding = [(top, bottom), (left, right), (0, 0)]
        image = np.pad(image, padding, mode="constant", constant_values=0)
        window = (top, left, h + top, w + left)
    elif mode == "crop":
        if crop_offset is None:
            y = random.randint(0, h - min_dim)
            x = random.randint(0, w - min_dim)
        else:
            y, x = crop_offset
            assert 0 <= y <= h - min_dim and 0 <= x <= w - min_dim, "crop offset out of range"
        crop = (y, x, min_dim, min_dim)
        image = image[y:y + min_dim, x:x + min_dim]
        window = (0, 0, min_dim, min_dim)
    else:
        raise ValueError("mode {} not supported".format(mode))
    return image.astype(image_dtype), window, scale, padding, crop


def resize_mask(mask, scale, padding, crop=None):
    """utils.resize_mask: nearest zoom of the H×W×N bool stack, then pad or crop."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mask = scipy.ndimage.zoom(mask, zoom=[scale, scale, 1], order=0)
    if crop is not None:
        y, x, h, w = crop
        mask = mask[y:y + h, x:x + w]
    else:
        mask = np.pad(mask, padding, mode="constant", constant_values=0)
    return mask


def extract_bboxes(mask):
    """utils.extract_bboxes: int32 y1, x1, y2, x2 (exclusive ends), zeros if empty."""
    boxes = np.zeros([mask.shape[-1], 4], dtype=np.int32)
    for i in range(mask.shape[-1]):
        m = mask[:, :, i]
        cols = np.where(np.any(m, axis=0))[0]
        rows = np.where(np.any(m, axis=1))[0]
        if cols.shape[0]:
            x1, x2 = cols[[0, -1]]
            y1, y2 = rows[[0, -1]]
            x2 += 1
            y2 += 1
        else:
            x1, x2, y1, y2 = 0, 0, 0, 0
        boxes[i] = np.array([y1, x1, y2, x2])
    return boxes.astype(np.int32)


def minimize_mask(bbox, mask, mini_shape):
    """utils.minimize_mask. The crop is read as 0/1 floats (what skimage did
    with bool input before 0.19 refused bilinear resizing of bool arrays)."""
    mini = np.zeros(tuple(mini_shape) + (mask.shape[-1],), dtype=bool)
    for i in range(mask.shape[-1]):
        m = mask[:, :, i].astype(bool)
        y1, x1, y2, x2 = bbox[i][:4]
        m = m[y1:y2, x1:x2]
        if m.size == 0:
            raise ValueError("invalid bounding box with area of zero")
        m = sk_resize(m.astype(np.float64), tuple(mini_shape))
        mini[:, :, i] = np.around(m).astype(bool)
    return mini


def mold_image(images, mean_pixel):
    """model.mold_image on a float32 image; the data generator stores float32."""
    return (images.astype(np.float32) - np.asarray(mean_pixel)).astype(np.float32)


def compose_image_meta(image_id, original_shape, image_shape, window, scale,
                       active_class_ids):
    return np.array([image_id] + list(original_shape) + list(image_shape) +
                    list(window) + [scale] + list(active_class_ids))


def compute_backbone_shapes(image_shape, strides):
    return np.array([[int(math.ceil(image_shape[0] / s)),
                      int(math.ceil(image_shape[1] / s))] for s in strides])


def generate_anchors(scales, ratios, shape, feature_stride, anchor_stride):
    scales, ratios = np.meshgrid(np.array(scales), np.array(ratios))
    scales = scales.flatten()
    ratios = ratios.flatten()
    heights = scales / np.sqrt(ratios)
    widths = scales * np.sqrt(ratios)
    shifts_y = np.arange(0, shape[0], anchor_stride) * feature_stride
    shifts_x = np.arange(0, shape[1], anchor_stride) * feature_stride
    shifts_x, shifts_y = np.meshgrid(shifts_x, shifts_y)
    box_widths, box_centers_x = np.meshgrid(widths, shifts_x)
    box_heights, box_centers_y = np.meshgrid(heights, shifts_y)
    centers = np.stack([box_centers_y, box_centers_x], axis=2).reshape([-1, 2])
    sizes = np.stack([box_heights, box_widths], axis=2).reshape([-1, 2])
    return np.concatenate([centers - 0.5 * sizes, centers + 0.5 * sizes], axis=1)


def generate_pyramid_anchors(scales, ratios, feature_shapes, feature_strides,
                             anchor_stride):
    return np.concatenate([
        generate_anchors(scales[i], ratios, feature_shapes[i],
                         feature_strides[i], anchor_stride)
        for i in range(len(scales))], axis=0)


def norm_boxes(boxes, shape):
    h, w = shape
    scale = np.array([h - 1, w - 1, h - 1, w - 1])
    shift = np.array([0, 0, 1, 1])
    return np.divide((boxes - shift), scale).astype(np.float32)


def compute_iou(box, boxes, box_area, boxes_area):
    y1 = np.maximum(box[0], boxes[:, 0])
    y2 = np.minimum(box[2], boxes[:, 2])
    x1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[3], boxes[:, 3])
    intersection = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    union = box_area + boxes_area[:] - intersection[:]
    return intersection / union


def compute_overlaps(boxes1, boxes2):
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    overlaps = np.zeros((boxes1.shape[0], boxes2.shape[0]))
    for i in range(overlaps.shape[1]):
        overlaps[:, i] = compute_iou(boxes2[i], boxes1, area2[i], area1)
    return overlaps


def rpn_labels(anchors, gt_class_ids, gt_boxes):
    """The deterministic part of build_rpn_targets: match labels before
    subsampling, each anchor's best non-crowd box and the kept boxes."""
    match = np.zeros([anchors.shape[0]], dtype=np.int32)
    crowd_ix = np.where(gt_class_ids < 0)[0]
    if crowd_ix.shape[0] > 0:
        non_crowd_ix = np.where(gt_class_ids > 0)[0]
        crowd_boxes = gt_boxes[crowd_ix]
        gt_class_ids = gt_class_ids[non_crowd_ix]
        gt_boxes = gt_boxes[non_crowd_ix]
        crowd_iou_max = np.amax(compute_overlaps(anchors, crowd_boxes), axis=1)
        no_crowd = crowd_iou_max < 0.001
    else:
        no_crowd = np.ones([anchors.shape[0]], dtype=bool)
    overlaps = compute_overlaps(anchors, gt_boxes)
    argmax = np.argmax(overlaps, axis=1)
    iou_max = overlaps[np.arange(overlaps.shape[0]), argmax]
    match[(iou_max < 0.3) & no_crowd] = -1
    best = np.argwhere(overlaps == np.max(overlaps, axis=0))[:, 0]
    match[best] = 1
    match[iou_max >= 0.7] = 1
    return match, argmax, gt_boxes


def rpn_deltas(anchors, gt_boxes, argmax, ids, std_dev, rows):
    """Deltas of the anchors ids (in order) against their best box, divided
    by std_dev, in a rows×4 float64 array (zeros after them)."""
    bbox = np.zeros((rows, 4))
    ix = 0
    for i, a in zip(ids, anchors[ids]):
        gt = gt_boxes[argmax[i]]
        gt_h = gt[2] - gt[0]
        gt_w = gt[3] - gt[1]
        gt_cy = gt[0] + 0.5 * gt_h
        gt_cx = gt[1] + 0.5 * gt_w
        a_h = a[2] - a[0]
        a_w = a[3] - a[1]
        a_cy = a[0] + 0.5 * a_h
        a_cx = a[1] + 0.5 * a_w
        bbox[ix] = [(gt_cy - a_cy) / a_h, (gt_cx - a_cx) / a_w,
                    np.log(gt_h / a_h), np.log(gt_w / a_w)]
        bbox[ix] /= std_dev
        ix += 1
    return bbox


def build_rpn_targets(anchors, gt_class_ids, gt_boxes, train_anchors, std_dev,
                      rng=np.random):
    """model.build_rpn_targets; rng supplies choice() for the subsampling."""
    match, argmax, boxes = rpn_labels(anchors, gt_class_ids, gt_boxes)
    ids = np.where(match == 1)[0]
    extra = len(ids) - (train_anchors // 2)
    if extra > 0:
        match[rng.choice(ids, extra, replace=False)] = 0
    ids = np.where(match == -1)[0]
    extra = len(ids) - (train_anchors - np.sum(match == 1))
    if extra > 0:
        match[rng.choice(ids, extra, replace=False)] = 0
    ids = np.where(match == 1)[0]
    return match, rpn_deltas(anchors, boxes, argmax, ids, np.asarray(std_dev),
                             train_anchors)


class Config:
    """The model settings load_image_gt and build_rpn_targets read."""
    IMAGE_MIN_DIM = 800
    IMAGE_MAX_DIM = 1024
    IMAGE_MIN_SCALE = 0
    IMAGE_RESIZE_MODE = "square"
    RPN_ANCHOR_SCALES = (32, 64, 128, 256, 512)
    RPN_ANCHOR_RATIOS = [0.5, 1, 2]
    BACKBONE_STRIDES = [4, 8, 16, 32, 64]
    RPN_ANCHOR_STRIDE = 1
    RPN_TRAIN_ANCHORS_PER_IMAGE = 256
    RPN_BBOX_STD_DEV = np.array([0.1, 0.1, 0.2, 0.2])
    USE_MINI_MASK = True
    MINI_MASK_SHAPE = (56, 56)
    MEAN_PIXEL = np.array([123.7, 116.8, 103.9])
    NUM_CLASSES = 81


def load_image_gt(image, mask, class_ids, image_id, config, num_classes):
    """model.load_image_gt without augmentation, on an already loaded image
    and H×W×N bool mask stack."""
    original_shape = image.shape
    image, window, scale, padding, crop = resize_image(
        image, min_dim=config.IMAGE_MIN_DIM, min_scale=config.IMAGE_MIN_SCALE,
        max_dim=config.IMAGE_MAX_DIM, mode=config.IMAGE_RESIZE_MODE)
    mask = resize_mask(mask, scale, padding, crop)
    keep = np.sum(mask, axis=(0, 1)) > 0
    mask = mask[:, :, keep]
    class_ids = class_ids[keep]
    bbox = extract_bboxes(mask)
    active = np.ones([num_classes], dtype=np.int32)
    if config.USE_MINI_MASK:
        mask = minimize_mask(bbox, mask, config.MINI_MASK_SHAPE)
    meta = compose_image_meta(image_id, original_shape, image.shape, window,
                              scale, active)
    return image, meta, class_ids, bbox, mask
