"""Exports the tiny model and trains it through the SavedModel signatures.

Runs where TensorFlow 2.18 and tf_keras are installed (the dev image);
skipped elsewhere.
"""

import json
import os

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
tf = pytest.importorskip("tensorflow", reason="TensorFlow is not installed")
pytest.importorskip("tf_keras", reason="tf_keras is not installed")
np = pytest.importorskip("numpy")

from graftrain_export import contract, export  # noqa: E402
from graftrain_export import tiny_model  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    cfg = tiny_model.tiny_config()
    training, inference = tiny_model.build(cfg)
    out = str(tmp_path_factory.mktemp("tiny") / "model")
    export(training, cfg, out, inference_model=inference)
    return cfg, out


def _batch(cfg, seed=0):
    rng = np.random.RandomState(seed)
    b, h, w = cfg.BATCH_SIZE, cfg.IMAGE_SHAPE[0], cfg.IMAGE_SHAPE[1]
    a = cfg.anchor_count()
    m = cfg.MAX_GT_INSTANCES
    mh, mw = cfg.mask_input_shape
    rpn_match = np.zeros([b, a, 1], np.int32)
    rpn_match[:, :20, 0] = 1
    rpn_match[:, 20:64, 0] = -1
    class_ids = np.zeros([b, m], np.int32)
    class_ids[:, :3] = [1, 2, 3]
    boxes = np.zeros([b, m, 4], np.float32)
    boxes[:, :3] = [[10, 10, 50, 60], [40, 70, 100, 120], [80, 20, 120, 60]]
    masks = np.zeros([b, mh, mw, m], bool)
    masks[:, 4:24, 4:24, :3] = True
    return dict(
        input_image=tf.constant(rng.normal(size=[b, h, w, 3]).astype(np.float32) * 50),
        input_image_meta=tf.zeros([b, cfg.image_meta_size]),
        input_rpn_match=tf.constant(rpn_match),
        input_rpn_bbox=tf.constant(rng.normal(size=[b, cfg.RPN_TRAIN_ANCHORS_PER_IMAGE, 4]).astype(np.float32)),
        input_gt_class_ids=tf.constant(class_ids),
        input_gt_boxes=tf.constant(boxes),
        input_gt_masks=tf.constant(masks),
    )


def _controls(v, lr=0.01, mult=None):
    return dict(
        learning_rate=tf.constant(lr),
        lr_multipliers=tf.constant(np.ones([v], np.float32) if mult is None else mult),
        loss_weights=tf.ones([5]),
        weight_decay=tf.constant(1e-4),
        momentum=tf.constant(0.9),
        clip_norm=tf.constant(5.0),
    )


def test_signatures_and_assets(exported):
    cfg, out = exported
    loaded = tf.saved_model.load(out)
    for name in (contract.SIGNATURE_TRAIN, contract.SIGNATURE_EVAL, contract.SIGNATURE_PREDICT,
                 contract.SIGNATURE_SERVING):
        assert name in loaded.signatures
    train = loaded.signatures[contract.SIGNATURE_TRAIN]
    _, kwargs = train.structured_input_signature
    assert set(contract.DATA_INPUTS) <= set(kwargs)
    assert set(contract.TRAIN_OUTPUTS) <= set(train.structured_outputs)
    with open(os.path.join(out, "assets", contract.ASSET_VARIABLES)) as f:
        manifest = json.load(f)
    assert kwargs["lr_multipliers"].shape[0] == len(manifest["variables"])
    with open(os.path.join(out, "assets", contract.ASSET_CONTRACT)) as f:
        asset = json.load(f)
    assert asset["model"]["BATCH_SIZE"] == cfg.BATCH_SIZE
    # graftrain requires every optional input the asset lists on both
    # train_step and eval_step, and update_skipped as a bool.
    _, eval_kwargs = loaded.signatures[contract.SIGNATURE_EVAL].structured_input_signature
    for name in asset["optional_inputs"]:
        assert name in kwargs and name in eval_kwargs, name
    assert train.structured_outputs["update_skipped"].dtype == tf.bool


def test_losses_fall_and_frozen_variables_stay(exported):
    cfg, out = exported
    loaded = tf.saved_model.load(out)
    train = loaded.signatures[contract.SIGNATURE_TRAIN]
    with open(os.path.join(out, "assets", contract.ASSET_VARIABLES)) as f:
        variables = json.load(f)["variables"]
    mult = np.array([0.0 if v["path"].startswith("conv1") else 1.0 for v in variables], np.float32)
    frozen = [v for v in loaded.model_variables if v.name.startswith("conv1")]
    before = [v.numpy().copy() for v in frozen]
    batch = _batch(cfg)
    totals = []
    for _ in range(30):
        out_ = train(**batch, **_controls(len(variables), mult=mult))
        for name in contract.LOSS_NAMES:
            assert np.isfinite(out_[name].numpy())
        totals.append(float(out_["total_loss"]))
    assert totals[-1] < totals[0]
    for v, b in zip(frozen, before):
        np.testing.assert_array_equal(v.numpy(), b)
    assert int(out_["step"]) == 30
    assert not bool(out_["update_skipped"])
    # Frozen variables report their gradient but no update.
    grad_norms = out_["var_grad_norms"].numpy()
    update_norms = out_["var_update_norms"].numpy()
    assert np.all(update_norms[mult == 0] == 0)
    assert np.any(grad_norms[mult == 0] > 0)
    assert np.any(update_norms[mult == 1] > 0)


def test_predict_shapes(exported):
    cfg, out = exported
    loaded = tf.saved_model.load(out)
    predict = loaded.signatures[contract.SIGNATURE_PREDICT]
    b = cfg.BATCH_SIZE
    res = predict(
        input_image=tf.zeros([b] + cfg.IMAGE_SHAPE),
        input_image_meta=tf.zeros([b, cfg.image_meta_size]),
        input_anchors=tf.random.uniform([b, cfg.anchor_count(), 4]),
    )
    assert res["detections"].shape == (b, cfg.DETECTION_MAX_INSTANCES, 6)
    assert res["mrcnn_mask"].shape[-1] == cfg.NUM_CLASSES
