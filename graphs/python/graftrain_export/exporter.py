"""Wraps a Keras Mask R-CNN training model into the graftrain contract.

The exported train_step computes matterport's five losses, weights them with
the fed loss_weights, adds matterport's L2 weight decay, clips by global norm
and applies the optimiser per variable with learning rate
learning_rate * lr_multipliers[i]. A multiplier of 0 skips every update of
that variable: gradient step, momentum or Adam moments, and weight decay.
"""

import json
import os
import tempfile

import tensorflow as tf

from . import contract
from .config import ExportConfig

_ADAM_BETA1 = 0.9
_ADAM_BETA2 = 0.999
_ADAM_EPSILON = 1e-7  # Keras 2's default

# The optional input through which a Keras model opts into proposal
# filtering: an Input layer of this name, shape [1], read by its proposal
# layer. See docs/exporting.md.
MIN_PROPOSAL_INPUT = "input_rpn_min_proposal_size"


def _variable_path(v):
    name = v.name
    return name[:-2] if name.endswith(":0") else name


def _layers(model):
    """Every layer of model, nested models' layers included, depth first."""
    out = []
    for layer in model.layers:
        out.append(layer)
        if hasattr(layer, "layers"):
            out.extend(_layers(layer))
    return out


def _is_batch_norm(layer):
    # TimeDistributed(BatchNorm) (matterport's mrcnn_class_bn1, mrcnn_mask_bn1,
    # ...) counts: the wrapper carries the name, the wrapped layer the kind.
    for candidate in (layer, getattr(layer, "layer", None)):
        if candidate is not None and "BatchNormalization" in [c.__name__ for c in type(candidate).__mro__]:
            return True
    return False


def _weight_decay_applies(v):
    # matterport regularises every trainable weight except BatchNorm's
    # gamma and beta.
    path = _variable_path(v)
    return v.trainable and "gamma" not in path and "beta" not in path


def variables_manifest(model, model_name=""):
    """The variables of model in lr_multipliers order, as the manifest asset lists them."""
    # _layers lists outer layers before the layers nested in them, so the
    # last writer is the innermost layer (rpn_conv_shared, not rpn_model).
    owner = {}
    for layer in _layers(model):
        for w in layer.weights:
            owner[id(w)] = layer
    entries = []
    for i, v in enumerate(model.weights):
        layer = owner.get(id(v))
        entries.append(
            {
                "index": i,
                "path": _variable_path(v),
                "layer": layer.name if layer is not None else "",
                "shape": [int(d) for d in v.shape],
                "dtype": v.dtype.name,
                "trainable": bool(v.trainable),
                "batch_norm": bool(layer is not None and _is_batch_norm(layer)),
            }
        )
    return {"contract_version": contract.CONTRACT_VERSION, "model": model_name, "variables": entries}


class TrainingModule(tf.Module):
    """The object tf.saved_model.save writes: the models, every optimiser
    slot, the step counter and the contract signatures."""

    def __init__(self, training_model, config, optimizer="sgd", inference_model=None, train_bn=None):
        super().__init__(name="graftrain")
        config.validate()
        if optimizer not in ("sgd", "adam"):
            raise ValueError("optimizer must be 'sgd' or 'adam', not %r" % (optimizer,))
        self.config = config
        self.optimizer_name = optimizer
        self.train_bn = config.TRAIN_BN if train_bn is None else bool(train_bn)

        top = {layer.name for layer in training_model.layers}
        missing = [n for n in contract.LOSS_NAMES if n not in top]
        if missing:
            raise ValueError(
                "the training model has no layer named %s; the five loss layers must carry "
                "matterport's names (%s)" % (", ".join(missing), ", ".join(contract.LOSS_NAMES))
            )
        input_names = list(training_model.input_names)
        absent = [n for n in contract.DATA_INPUTS if n not in input_names]
        if absent:
            raise ValueError(
                "the training model lacks the inputs %s (matterport's build(mode='training') has all seven)"
                % ", ".join(absent)
            )
        extra = [n for n in input_names if n not in contract.DATA_INPUTS and n != MIN_PROPOSAL_INPUT]
        if extra:
            raise ValueError("the training model has inputs the contract cannot feed: %s" % ", ".join(extra))
        self.has_min_proposal = MIN_PROPOSAL_INPUT in input_names
        self._input_names = input_names

        # Optional statistics a model may expose as layers of these names.
        self._stat_outputs = [n for n in ("small_proposal_fraction", "roi_positive_fraction") if n in top]
        self.loss_model = _output_model(training_model, contract.LOSS_NAMES + tuple(self._stat_outputs))
        self.inference_model = inference_model
        if inference_model is not None:
            names = {layer.name for layer in inference_model.layers}
            for n in ("mrcnn_detection", "mrcnn_mask"):
                if n not in names:
                    raise ValueError(
                        "the inference model has no layer %s (matterport's build(mode='inference') has it)" % n
                    )
            self.predict_model = _output_model(inference_model, ["mrcnn_detection", "mrcnn_mask"])

        # Manifest order: lr_multipliers[i] belongs to model_variables[i].
        self.model_variables = list(training_model.weights)
        # Kept as JSON text: a dict attribute of a tf.Module is wrapped for
        # tracking, and the wrapper is not a plain dict to json.dump.
        self._manifest_json = json.dumps(variables_manifest(training_model))
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="graftrain_step")

        # Every optimiser slot exists before export: the SavedModel's saver
        # then checkpoints them and a resumed run continues exactly.
        self.slots_m = []
        self.slots_v = []
        self.slots_t = []
        for i, v in enumerate(self.model_variables):
            if not v.trainable:
                continue
            self.slots_m.append(tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False, name="slot_m_%d" % i))
            if optimizer == "adam":
                self.slots_v.append(tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False, name="slot_v_%d" % i))
                self.slots_t.append(tf.Variable(0.0, trainable=False, name="slot_t_%d" % i))

        self._sync_pairs = []
        if inference_model is not None:
            by_path = {_variable_path(v): v for v in self.model_variables}
            for w in inference_model.weights:
                src = by_path.get(_variable_path(w))
                if src is not None and src is not w:
                    if tuple(src.shape) != tuple(w.shape):
                        raise ValueError(
                            "inference weight %s has shape %s, training weight %s"
                            % (_variable_path(w), w.shape, src.shape)
                        )
                    self._sync_pairs.append((src, w))

        self._build_signatures()

    # ----------------------------------------------------------------- specs
    def _data_specs(self):
        c = self.config
        b, h, w = c.BATCH_SIZE, c.IMAGE_SHAPE[0], c.IMAGE_SHAPE[1]
        mh, mw = c.mask_input_shape
        a = c.anchor_count()
        m = c.MAX_GT_INSTANCES
        return [
            tf.TensorSpec([b, h, w, 3], tf.float32, name="input_image"),
            tf.TensorSpec([b, c.image_meta_size], tf.float32, name="input_image_meta"),
            tf.TensorSpec([b, a, 1], tf.int32, name="input_rpn_match"),
            tf.TensorSpec([b, c.RPN_TRAIN_ANCHORS_PER_IMAGE, 4], tf.float32, name="input_rpn_bbox"),
            tf.TensorSpec([b, m], tf.int32, name="input_gt_class_ids"),
            tf.TensorSpec([b, m, 4], tf.float32, name="input_gt_boxes"),
            tf.TensorSpec([b, mh, mw, m], tf.bool, name="input_gt_masks"),
        ]

    def optional_inputs(self):
        names = ["weight_decay", "momentum", "clip_norm"]
        if self.has_min_proposal:
            names.append("rpn_min_proposal_size")
        return names

    def optional_outputs(self):
        return ["rpn_positive_anchors", "update_skipped"] + list(self._stat_outputs)

    def _build_signatures(self):
        v = len(self.model_variables)
        data = self._data_specs()

        def scalar(name):
            return tf.TensorSpec([], tf.float32, name=name)

        weights_spec = [tf.TensorSpec([5], tf.float32, name="loss_weights")]
        optional = [scalar(n) for n in self.optional_inputs()]
        control = [
            scalar("learning_rate"),
            tf.TensorSpec([v], tf.float32, name="lr_multipliers"),
        ] + weights_spec + optional
        # eval_step declares the same optional inputs as train_step: the
        # contract asset lists them for both signatures, and graftrain
        # refuses a model whose eval_step lacks one. Evaluation reads only
        # rpn_min_proposal_size.
        eval_specs = data + weights_spec + optional

        # Explicit parameter lists: the SavedModel's input keys are these
        # names (and the TensorSpec names, which match them).
        if self.has_min_proposal:

            def train_step(input_image, input_image_meta, input_rpn_match, input_rpn_bbox,
                           input_gt_class_ids, input_gt_boxes, input_gt_masks, learning_rate,
                           lr_multipliers, loss_weights, weight_decay, momentum, clip_norm,
                           rpn_min_proposal_size):
                return self._train_step(dict(locals()))

            def eval_step(input_image, input_image_meta, input_rpn_match, input_rpn_bbox,
                          input_gt_class_ids, input_gt_boxes, input_gt_masks, loss_weights,
                          weight_decay, momentum, clip_norm, rpn_min_proposal_size):
                return self._eval_step(dict(locals()))

        else:

            def train_step(input_image, input_image_meta, input_rpn_match, input_rpn_bbox,
                           input_gt_class_ids, input_gt_boxes, input_gt_masks, learning_rate,
                           lr_multipliers, loss_weights, weight_decay, momentum, clip_norm):
                return self._train_step(dict(locals()))

            def eval_step(input_image, input_image_meta, input_rpn_match, input_rpn_bbox,
                          input_gt_class_ids, input_gt_boxes, input_gt_masks, loss_weights,
                          weight_decay, momentum, clip_norm):
                return self._eval_step(dict(locals()))

        self.train_step = tf.function(train_step, input_signature=data + control, autograph=False)
        self.eval_step = tf.function(eval_step, input_signature=eval_specs, autograph=False)

        if self.inference_model is not None:
            c = self.config
            b, h, w = c.BATCH_SIZE, c.IMAGE_SHAPE[0], c.IMAGE_SHAPE[1]
            predict_specs = [
                tf.TensorSpec([b, h, w, 3], tf.float32, name="input_image"),
                tf.TensorSpec([b, c.image_meta_size], tf.float32, name="input_image_meta"),
                tf.TensorSpec([b, c.anchor_count(), 4], tf.float32, name="input_anchors"),
            ]

            def predict(input_image, input_image_meta, input_anchors):
                return self._predict(input_image, input_image_meta, input_anchors)

            self.predict = tf.function(predict, input_signature=predict_specs, autograph=False)

    # ------------------------------------------------------------- forward
    def _feed(self, inputs):
        feed = []
        for n in self._input_names:
            if n == MIN_PROPOSAL_INPUT:
                b = self.config.BATCH_SIZE
                feed.append(tf.fill([b, 1], inputs["rpn_min_proposal_size"]))
            else:
                feed.append(inputs[n])
        return feed

    def _losses(self, inputs, training):
        outs = self.loss_model(self._feed(inputs), training=training)
        losses = [tf.reduce_mean(tf.cast(o, tf.float32)) for o in outs[: len(contract.LOSS_NAMES)]]
        extra = outs[len(contract.LOSS_NAMES):]
        stats = {n: tf.reduce_mean(tf.cast(o, tf.float32)) for n, o in zip(self._stat_outputs, extra)}
        return losses, stats

    def _train_step(self, inputs):
        lr = inputs["learning_rate"]
        mult = inputs["lr_multipliers"]
        weights = inputs["loss_weights"]
        wd = inputs["weight_decay"]
        clip = inputs["clip_norm"]
        momentum = inputs["momentum"]
        trainable = [(i, v) for i, v in enumerate(self.model_variables) if v.trainable]

        with tf.GradientTape() as tape:
            losses, stats = self._losses(inputs, training=self.train_bn)
            weighted = tf.add_n([weights[k] * losses[k] for k in range(len(losses))])
            reg_terms = [
                tf.cast(mult[i] > 0, tf.float32) * tf.reduce_sum(tf.square(v)) / tf.cast(tf.size(v), tf.float32)
                for i, v in trainable
                if _weight_decay_applies(v)
            ]
            reg = wd * tf.add_n(reg_terms) if reg_terms else tf.constant(0.0)
            total = weighted + reg
        grads = tape.gradient(total, [v for _, v in trainable])

        grad_norms = [tf.constant(0.0)] * len(self.model_variables)
        update_norms = [tf.constant(0.0)] * len(self.model_variables)
        active = []
        masked = []
        for (i, v), g in zip(trainable, grads):
            g = tf.zeros_like(v) if g is None else tf.convert_to_tensor(g)
            # Every trainable variable's gradient before clipping, frozen
            # ones included: diagnosis compares frozen groups' gradients
            # with those of the groups that train.
            grad_norms[i] = tf.norm(g)
            on = mult[i] > 0
            active.append(on)
            masked.append(tf.where(on, g, tf.zeros_like(g)))
        grad_norm = tf.linalg.global_norm(masked)
        finite = tf.reduce_all(tf.math.is_finite(tf.stack(losses + [total, grad_norm])))
        # tf.clip_by_global_norm's scale, with clip_norm <= 0 meaning no clipping.
        scale = tf.where(clip > 0, clip / tf.maximum(grad_norm, clip), 1.0)

        for k, ((i, v), g, on) in enumerate(zip(trainable, masked, active)):
            apply = tf.logical_and(on, finite)
            g = g * scale
            lr_i = lr * mult[i]
            m = self.slots_m[k]
            if self.optimizer_name == "sgd":
                m_new = momentum * m - lr_i * g
                delta = tf.where(apply, m_new, tf.zeros_like(m_new))
                m.assign(tf.where(apply, m_new, m))
            else:
                vv, t = self.slots_v[k], self.slots_t[k]
                t_new = tf.where(apply, t + 1.0, t)
                m_new = _ADAM_BETA1 * m + (1 - _ADAM_BETA1) * g
                v_new = _ADAM_BETA2 * vv + (1 - _ADAM_BETA2) * tf.square(g)
                lr_t = lr_i * tf.sqrt(1 - tf.pow(_ADAM_BETA2, t_new)) / (1 - tf.pow(_ADAM_BETA1, t_new))
                step = -lr_t * m_new / (tf.sqrt(v_new) + _ADAM_EPSILON)
                delta = tf.where(apply, step, tf.zeros_like(step))
                m.assign(tf.where(apply, m_new, m))
                vv.assign(tf.where(apply, v_new, vv))
                t.assign(t_new)
            v.assign_add(delta)
            update_norms[i] = tf.norm(delta)
        self.step.assign_add(tf.cast(finite, tf.int64))

        out = {name: losses[k] for k, name in enumerate(contract.LOSS_NAMES)}
        out.update(
            total_loss=total,
            grad_norm=grad_norm,
            var_grad_norms=tf.stack(grad_norms),
            var_update_norms=tf.stack(update_norms),
            step=self.step.read_value(),
            rpn_positive_anchors=tf.reduce_sum(tf.cast(tf.equal(inputs["input_rpn_match"], 1), tf.float32))
            / float(self.config.BATCH_SIZE),
            update_skipped=tf.logical_not(finite),  # bool, as the contract declares it
        )
        out.update(stats)
        return out

    def _eval_step(self, inputs):
        losses, _ = self._losses(inputs, training=False)
        weights = inputs["loss_weights"]
        out = {name: losses[k] for k, name in enumerate(contract.LOSS_NAMES)}
        out["total_loss"] = tf.add_n([weights[k] * losses[k] for k in range(len(losses))])
        return out

    def _predict(self, input_image, input_image_meta, input_anchors):
        # Separately built inference models hold their own copies of the
        # weights: bring them up to date with training first.
        for src, dst in self._sync_pairs:
            dst.assign(src)
        outs = self.predict_model([input_image, input_image_meta, input_anchors], training=False)
        return {"detections": outs[0], "mrcnn_mask": outs[1]}

    # -------------------------------------------------------------- assets
    def contract_asset(self, exporter_versions=None):
        return {
            "contract_version": contract.CONTRACT_VERSION,
            "model": self.config.contract_model(),
            "optional_inputs": self.optional_inputs(),
            "optional_outputs": self.optional_outputs(),
            "optimizer": "sgd-momentum" if self.optimizer_name == "sgd" else "adam",
            "train_bn": self.train_bn,
            "exporter": exporter_versions or {},
        }

    def manifest(self):
        """The variables manifest, a new plain dict on each call."""
        return json.loads(self._manifest_json)


def _output_model(model, names):
    """A functional model over model's inputs returning the named layers'
    outputs, built with the Keras flavour the model comes from (tf_keras for
    Keras 2 code, which matterport-style models are)."""
    if type(model).__module__.startswith("tf_keras"):
        import tf_keras as keras
    else:
        keras = tf.keras
    return keras.Model(model.inputs, [model.get_layer(n).output for n in names])


def export(training_model, config, out_dir, optimizer="sgd", inference_model=None, train_bn=None, model_name=""):
    """Writes a SavedModel with the graftrain contract to out_dir.

    training_model: the Keras model of matterport's build(mode="training"):
      the seven inputs and the five loss layers by name.
    config: an ExportConfig, a dict of matterport names, or a matterport Config.
    inference_model: the model of build(mode="inference") with layers
      mrcnn_detection and mrcnn_mask, for the predict signature. Required:
      graftrain refuses a model without predict and serving_default.
    """
    if inference_model is None:
        raise ValueError(
            "inference_model is required: graftrain needs the predict signature; pass the model of "
            "matterport's build(mode='inference') built with the same config"
        )
    if isinstance(config, dict):
        config = ExportConfig.from_dict(config)
    elif not isinstance(config, ExportConfig):
        config = ExportConfig.from_matterport(config)
    if os.path.exists(out_dir) and os.listdir(out_dir):
        raise FileExistsError("%s exists and is not empty: choose a new directory" % out_dir)

    module = TrainingModule(training_model, config, optimizer, inference_model, train_bn)
    manifest = module.manifest()
    manifest["model"] = model_name or training_model.name
    versions = {"tensorflow": tf.__version__, "graftrain_export": _version()}

    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, content in (
            (contract.ASSET_CONTRACT, module.contract_asset(versions)),
            (contract.ASSET_VARIABLES, manifest),
        ):
            paths[name] = os.path.join(tmp, name)
            with open(paths[name], "w") as f:
                json.dump(content, f, indent=1)
        # Tracked assets are copied into assets/ and listed in the MetaGraph.
        module.contract_file = tf.saved_model.Asset(paths[contract.ASSET_CONTRACT])
        module.variables_file = tf.saved_model.Asset(paths[contract.ASSET_VARIABLES])

        signatures = {
            contract.SIGNATURE_TRAIN: module.train_step.get_concrete_function(),
            contract.SIGNATURE_EVAL: module.eval_step.get_concrete_function(),
        }
        fn = module.predict.get_concrete_function()
        signatures[contract.SIGNATURE_PREDICT] = fn
        signatures[contract.SIGNATURE_SERVING] = fn
        tf.saved_model.save(module, out_dir, signatures=signatures)
    return out_dir


def _version():
    try:
        from importlib.metadata import version

        return version("graftrain-export")
    except Exception:  # not installed: running from the source tree
        return "source"
