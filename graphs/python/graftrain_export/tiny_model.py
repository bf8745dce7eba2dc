"""A small Mask R-CNN-shaped Keras model for integration tests and the
container smoke run.

It has matterport's seven training inputs, its five loss layers by name and
layers named like matterport's variable groups (conv1, res2..res5, fpn_*,
rpn_*, mrcnn_class_*, mrcnn_bbox_*, mrcnn_mask*), at 128x128 and a few
thousand parameters. The heads are simplified: instead of sampled
proposals, each ground-truth box shifted by a tenth of its size is the
region of interest, so the class, box and mask losses are real functions of
the weights and the data that training drives down.
"""

import tensorflow as tf
import tf_keras as keras

from .config import ExportConfig

L = keras.layers

POOL = 7  # region features, as matterport's POOL_SIZE
MASK_POOL = 7  # mask head input; the deconvolution doubles it


def tiny_config(num_classes=4, batch_size=2):
    """The configuration the tiny model is built and exported with."""
    return ExportConfig(
        NUM_CLASSES=num_classes,
        BATCH_SIZE=batch_size,
        IMAGE_SHAPE=[128, 128, 3],
        IMAGE_RESIZE_MODE="square",
        IMAGE_MIN_DIM=128,
        IMAGE_MAX_DIM=128,
        RPN_ANCHOR_SCALES=[8, 16, 32, 64, 128],
        RPN_TRAIN_ANCHORS_PER_IMAGE=64,
        MAX_GT_INSTANCES=10,
        MINI_MASK_SHAPE=[28, 28],
        MASK_SHAPE=[14, 14],
        BACKBONE="tiny",
        CLASS_NAMES=["BG", "square", "circle", "triangle"][:num_classes],
        DETECTION_MAX_INSTANCES=10,
    )


class BatchNorm(L.BatchNormalization):
    """BatchNorm frozen in inference mode, as matterport's BatchNorm with
    TRAIN_BN = False: the statistics never update, whatever training says."""

    def call(self, inputs, training=None):
        return super().call(inputs, training=False)


def _conv_bn(x, filters, stride, conv_name, bn_name):
    x = L.Conv2D(filters, 3, strides=stride, padding="same", name=conv_name)(x)
    x = BatchNorm(name=bn_name)(x)
    return L.Activation("relu")(x)


def _norm_boxes(boxes, shape):
    """Pixel boxes to matterport's normalised coordinates."""
    h, w = float(shape[0]), float(shape[1])
    scale = tf.constant([h - 1, w - 1, h - 1, w - 1])
    shift = tf.constant([0.0, 0.0, 1.0, 1.0])
    return (boxes - shift) / scale


def _flat_rois(boxes):
    """[B, N, 4] -> ([B*N, 4], box indices [B*N])."""
    b = tf.shape(boxes)[0]
    n = tf.shape(boxes)[1]
    idx = tf.reshape(tf.repeat(tf.range(b), n), [-1])
    return tf.reshape(boxes, [-1, 4]), idx


class _Backbone:
    """Layers shared by the training and inference models."""

    def __init__(self, cfg):
        c = cfg.NUM_CLASSES
        a = len(cfg.RPN_ANCHOR_RATIOS)
        self.cfg = cfg
        self.rpn_conv = L.Conv2D(16, 3, padding="same", activation="relu", name="rpn_conv_shared")
        self.rpn_class = L.Conv2D(2 * a, 1, name="rpn_class_raw")
        self.rpn_bbox = L.Conv2D(4 * a, 1, name="rpn_bbox_pred")
        self.class_fc = L.Dense(32, activation="relu", name="mrcnn_class_conv1")
        self.class_logits = L.Dense(c, name="mrcnn_class_logits")
        self.bbox_fc = L.Dense(4 * c, name="mrcnn_bbox_fc")
        self.mask_conv = L.Conv2D(16, 3, padding="same", activation="relu", name="mrcnn_mask_conv1")
        self.mask_deconv = L.Conv2DTranspose(16, 2, strides=2, activation="relu", name="mrcnn_mask_deconv")
        self.mask_out = L.Conv2D(c, 1, activation="sigmoid", name="mrcnn_mask_conv_out")

    def features(self, image):
        x = L.Conv2D(8, 3, strides=2, padding="same", name="conv1")(image)
        x = BatchNorm(name="bn_conv1")(x)
        x = L.Activation("relu")(x)
        c2 = _conv_bn(x, 16, 2, "res2a_branch2a", "bn2a_branch2a")  # stride 4
        c3 = _conv_bn(c2, 16, 2, "res3a_branch2a", "bn3a_branch2a")  # 8
        c4 = _conv_bn(c3, 24, 2, "res4a_branch2a", "bn4a_branch2a")  # 16
        c5 = _conv_bn(c4, 32, 2, "res5a_branch2a", "bn5a_branch2a")  # 32
        f = 16
        p5 = L.Conv2D(f, 1, name="fpn_c5p5")(c5)
        up = L.UpSampling2D(2, name="fpn_p5upsampled")(p5)
        p4 = L.Add(name="fpn_p4add")([up, L.Conv2D(f, 1, name="fpn_c4p4")(c4)])
        up = L.UpSampling2D(2, name="fpn_p4upsampled")(p4)
        p3 = L.Add(name="fpn_p3add")([up, L.Conv2D(f, 1, name="fpn_c3p3")(c3)])
        up = L.UpSampling2D(2, name="fpn_p3upsampled")(p3)
        p2 = L.Add(name="fpn_p2add")([up, L.Conv2D(f, 1, name="fpn_c2p2")(c2)])
        p2 = L.Conv2D(f, 3, padding="same", name="fpn_p2")(p2)
        p3 = L.Conv2D(f, 3, padding="same", name="fpn_p3")(p3)
        p4 = L.Conv2D(f, 3, padding="same", name="fpn_p4")(p4)
        p5 = L.Conv2D(f, 3, padding="same", name="fpn_p5")(p5)
        p6 = L.MaxPooling2D(pool_size=(1, 1), strides=2, name="fpn_p6")(p5)
        return [p2, p3, p4, p5, p6]

    def rpn(self, pyramid):
        logits, deltas = [], []
        for p in pyramid:
            shared = self.rpn_conv(p)
            logits.append(L.Reshape([-1, 2])(self.rpn_class(shared)))
            deltas.append(L.Reshape([-1, 4])(self.rpn_bbox(shared)))
        rpn_class_logits = L.Concatenate(axis=1, name="rpn_class_logits")(logits)
        rpn_bbox = L.Concatenate(axis=1, name="rpn_bbox")(deltas)
        return rpn_class_logits, rpn_bbox

    def heads(self, p2, rois, names):
        """rois: [B, N, 4] normalised. Returns class logits [B, N, C],
        box deltas [B, N, C, 4] and masks [B, N, 14, 14, C]. names maps the
        unshared layers to their names in this model."""
        cfg = self.cfg
        c = cfg.NUM_CLASSES

        def crop(args, size):
            fmap, boxes = args
            flat, idx = _flat_rois(boxes)
            return tf.image.crop_and_resize(fmap, flat, idx, [size, size])

        n = rois.shape[1]
        pooled = L.Lambda(lambda a: crop(a, POOL), name=names["roi_align_classifier"])([p2, rois])
        x = L.Flatten()(pooled)
        x = self.class_fc(x)
        logits = L.Reshape([n, c], name=names["class"])(self.class_logits(x))
        deltas = L.Reshape([n, c, 4], name=names["bbox"])(self.bbox_fc(x))
        mpool = L.Lambda(lambda a: crop(a, MASK_POOL), name=names["roi_align_mask"])([p2, rois])
        m = self.mask_out(self.mask_deconv(self.mask_conv(mpool)))
        masks = L.Reshape([n, 2 * MASK_POOL, 2 * MASK_POOL, c], name=names["mask"])(m)
        return logits, deltas, masks


def _shifted_rois(gt_boxes_px, image_shape):
    """The tiny model's regions of interest: GT boxes shifted by a tenth of
    their size, so the box head has a non-zero refinement to learn."""
    h = gt_boxes_px[..., 2] - gt_boxes_px[..., 0]
    w = gt_boxes_px[..., 3] - gt_boxes_px[..., 1]
    shift = tf.stack([0.1 * h, 0.1 * w, 0.1 * h, 0.1 * w], axis=-1)
    return gt_boxes_px + shift


def _box_refinement(box, gt):
    """matterport's box_refinement_graph: deltas from box to gt (y1 x1 y2 x2)."""
    h = box[..., 2] - box[..., 0]
    w = box[..., 3] - box[..., 1]
    cy = box[..., 0] + 0.5 * h
    cx = box[..., 1] + 0.5 * w
    gh = gt[..., 2] - gt[..., 0]
    gw = gt[..., 3] - gt[..., 1]
    gcy = gt[..., 0] + 0.5 * gh
    gcx = gt[..., 1] + 0.5 * gw
    safe_h = tf.maximum(h, 1e-3)
    safe_w = tf.maximum(w, 1e-3)
    return tf.stack(
        [
            (gcy - cy) / safe_h,
            (gcx - cx) / safe_w,
            tf.math.log(tf.maximum(gh, 1e-3) / safe_h),
            tf.math.log(tf.maximum(gw, 1e-3) / safe_w),
        ],
        axis=-1,
    )


def _smooth_l1(y_true, y_pred):
    diff = tf.abs(y_true - y_pred)
    less = tf.cast(diff < 1.0, tf.float32)
    return less * 0.5 * diff**2 + (1 - less) * (diff - 0.5)


def _rpn_class_loss(args):
    rpn_match, logits = args
    rpn_match = tf.squeeze(rpn_match, -1)
    target = tf.cast(tf.equal(rpn_match, 1), tf.int32)
    idx = tf.where(tf.not_equal(rpn_match, 0))
    loss = keras.losses.sparse_categorical_crossentropy(
        tf.gather_nd(target, idx), tf.gather_nd(logits, idx), from_logits=True
    )
    return tf.cond(tf.size(loss) > 0, lambda: tf.reduce_mean(loss), lambda: tf.constant(0.0))


def _rpn_bbox_loss(batch_size):
    def loss_fn(args):
        target_bbox, rpn_match, rpn_bbox = args
        rpn_match = tf.squeeze(rpn_match, -1)
        losses = []
        for b in range(batch_size):
            pos = tf.where(tf.equal(rpn_match[b], 1))[:, 0]
            pred = tf.gather(rpn_bbox[b], pos)
            # matterport packs each image's positive targets at the front.
            tgt = target_bbox[b, : tf.shape(pos)[0]]
            losses.append(tf.reshape(_smooth_l1(tgt, pred), [-1]))
        loss = tf.concat(losses, 0)
        return tf.cond(tf.size(loss) > 0, lambda: tf.reduce_mean(loss), lambda: tf.constant(0.0))

    return loss_fn


def _head_losses(cfg):
    std = tf.constant(cfg.BBOX_STD_DEV, tf.float32)

    def class_loss(args):
        class_ids, logits = args
        valid = tf.cast(class_ids >= 0, tf.float32)  # crowd instances are ignored
        target = tf.maximum(class_ids, 0)
        loss = keras.losses.sparse_categorical_crossentropy(target, logits, from_logits=True)
        return tf.reduce_sum(loss * valid) / tf.maximum(tf.reduce_sum(valid), 1.0)

    def bbox_loss(args):
        class_ids, gt_boxes, rois, deltas = args
        target = _box_refinement(rois, gt_boxes) / std
        pos = tf.cast(class_ids > 0, tf.float32)
        pred = tf.gather(deltas, tf.maximum(class_ids, 0), axis=2, batch_dims=2)
        loss = tf.reduce_sum(_smooth_l1(target, pred), axis=-1) * pos
        return tf.reduce_sum(loss) / tf.maximum(tf.reduce_sum(pos), 1.0)

    def mask_loss(args):
        class_ids, gt_masks, masks = args
        # gt_masks [B, mh, mw, N] -> [B, N, 14, 14]
        m = tf.transpose(tf.cast(gt_masks, tf.float32), [0, 3, 1, 2])
        shape = tf.shape(m)
        m = tf.reshape(m, [-1, shape[2], shape[3], 1])
        size = 2 * MASK_POOL
        m = tf.round(tf.image.resize(m, [size, size], method="bilinear"))
        m = tf.reshape(m, [shape[0], shape[1], size, size])
        pred = tf.gather(tf.transpose(masks, [0, 1, 4, 2, 3]), tf.maximum(class_ids, 0), axis=2, batch_dims=2)
        bce = keras.losses.binary_crossentropy(m[..., None], pred[..., None])
        pos = tf.cast(class_ids > 0, tf.float32)
        per_roi = tf.reduce_mean(bce, axis=[2, 3]) * pos
        return tf.reduce_sum(per_roi) / tf.maximum(tf.reduce_sum(pos), 1.0)

    return class_loss, bbox_loss, mask_loss


def build(cfg=None, mode="training"):
    """Builds the tiny model in matterport's "training" or "inference" mode.

    Returns (training_model, inference_model) sharing every layer, so the
    two share their weights.
    """
    cfg = cfg or tiny_config()
    cfg.validate()
    b = cfg.BATCH_SIZE
    h, w = cfg.IMAGE_SHAPE[0], cfg.IMAGE_SHAPE[1]
    m = cfg.MAX_GT_INSTANCES
    mh, mw = cfg.mask_input_shape
    parts = _Backbone(cfg)

    input_image = L.Input([h, w, 3], batch_size=b, name="input_image")
    input_image_meta = L.Input([cfg.image_meta_size], batch_size=b, name="input_image_meta")
    input_rpn_match = L.Input([None, 1], batch_size=b, dtype=tf.int32, name="input_rpn_match")
    input_rpn_bbox = L.Input([None, 4], batch_size=b, name="input_rpn_bbox")
    input_gt_class_ids = L.Input([m], batch_size=b, dtype=tf.int32, name="input_gt_class_ids")
    input_gt_boxes = L.Input([m, 4], batch_size=b, name="input_gt_boxes")
    input_gt_masks = L.Input([mh, mw, m], batch_size=b, dtype=tf.bool, name="input_gt_masks")

    pyramid = parts.features(input_image)
    rpn_class_logits, rpn_bbox = parts.rpn(pyramid)

    rois_px = L.Lambda(lambda x: _shifted_rois(x, cfg.IMAGE_SHAPE), name="tiny_rois")(input_gt_boxes)
    rois = L.Lambda(lambda x: _norm_boxes(x, cfg.IMAGE_SHAPE), name="tiny_rois_norm")(rois_px)
    logits, deltas, masks = parts.heads(pyramid[0], rois, {
        "roi_align_classifier": "roi_align_classifier",
        "roi_align_mask": "roi_align_mask",
        "class": "mrcnn_class_reshape",
        "bbox": "mrcnn_bbox_reshape",
        "mask": "mrcnn_mask_reshape",
    })

    class_loss, bbox_loss, mask_loss = _head_losses(cfg)
    losses = [
        L.Lambda(_rpn_class_loss, name="rpn_class_loss")([input_rpn_match, rpn_class_logits]),
        L.Lambda(_rpn_bbox_loss(b), name="rpn_bbox_loss")([input_rpn_bbox, input_rpn_match, rpn_bbox]),
        L.Lambda(class_loss, name="mrcnn_class_loss")([input_gt_class_ids, logits]),
        L.Lambda(bbox_loss, name="mrcnn_bbox_loss")([input_gt_class_ids, input_gt_boxes, rois_px, deltas]),
        L.Lambda(mask_loss, name="mrcnn_mask_loss")([input_gt_class_ids, input_gt_masks, masks]),
    ]
    training = keras.Model(
        [input_image, input_image_meta, input_rpn_match, input_rpn_bbox, input_gt_class_ids, input_gt_boxes,
         input_gt_masks],
        [rpn_class_logits, rpn_bbox] + losses,
        name="tiny_mask_rcnn",
    )

    input_anchors = L.Input([cfg.anchor_count(), 4], batch_size=b, name="input_anchors")
    n = cfg.DETECTION_MAX_INSTANCES

    def top_boxes(args):
        logits_, deltas_, anchors_ = args
        score = tf.nn.softmax(logits_)[..., 1]
        top = tf.math.top_k(score, k=n)
        anc = tf.gather(anchors_, top.indices, batch_dims=1)
        d = tf.gather(deltas_, top.indices, batch_dims=1) * tf.constant(cfg.RPN_BBOX_STD_DEV, tf.float32)
        hh = anc[..., 2] - anc[..., 0]
        ww = anc[..., 3] - anc[..., 1]
        cy = anc[..., 0] + 0.5 * hh + d[..., 0] * hh
        cx = anc[..., 1] + 0.5 * ww + d[..., 1] * ww
        hh = hh * tf.exp(d[..., 2])
        ww = ww * tf.exp(d[..., 3])
        boxes = tf.stack([cy - 0.5 * hh, cx - 0.5 * ww, cy + 0.5 * hh, cx + 0.5 * ww], axis=-1)
        return tf.clip_by_value(boxes, 0.0, 1.0)

    det_rois = L.Lambda(top_boxes, name="tiny_proposals")([rpn_class_logits, rpn_bbox, input_anchors])
    det_logits, _, mrcnn_mask = parts.heads(pyramid[0], det_rois, {
        "roi_align_classifier": "roi_align_classifier_det",
        "roi_align_mask": "roi_align_mask_det",
        "class": "mrcnn_class_reshape_det",
        "bbox": "mrcnn_bbox_reshape_det",
        "mask": "mrcnn_mask",  # the layer the predict signature reads
    })

    def detections(args):
        boxes, logits_ = args
        probs = tf.nn.softmax(logits_)
        cls = tf.argmax(probs[..., 1:], axis=-1, output_type=tf.int32) + 1
        score = tf.gather(probs, cls, axis=2, batch_dims=2)
        return tf.concat([boxes, tf.cast(cls, tf.float32)[..., None], score[..., None]], axis=-1)

    mrcnn_detection = L.Lambda(detections, name="mrcnn_detection")([det_rois, det_logits])
    inference = keras.Model([input_image, input_image_meta, input_anchors], [mrcnn_detection, mrcnn_mask],
                            name="tiny_mask_rcnn_inference")
    return training, inference
