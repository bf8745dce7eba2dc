"""Command line: python -m graftrain_export (installed as graftrain-export).

    graftrain-export --tiny --out DIR
    graftrain-export --model-module my_model.py --weights coco.h5 --config cfg.json --out DIR
    graftrain-export ... --weights mask_rcnn_coco.h5 --skip-mismatch   (another NUM_CLASSES than COCO's)

A model module defines build(config, mode) returning the Keras model of
matterport's build(mode=...) for mode "training" or "inference", or
build_models(config) returning (training_model, inference_model).
"""

import os

# matterport-style models are Keras 2 code: tf.keras must mean tf_keras.
# The package's __init__, which Python runs before this file, already set
# this before importing TensorFlow; repeated here for readers of the CLI.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import sys  # noqa: E402


def _parser():
    p = argparse.ArgumentParser(
        prog="graftrain-export",
        description="Export a Keras Mask R-CNN as a SavedModel with the graftrain training contract.",
    )
    p.add_argument("--out", required=True, help="output SavedModel directory (must not exist or be empty)")
    p.add_argument("--tiny", action="store_true", help="export the built-in tiny model (tests, smoke runs)")
    p.add_argument("--model-module", help="Python file defining build(config, mode) or build_models(config)")
    p.add_argument("--weights", help="Keras weights (.h5) to load into the training model, by layer name")
    p.add_argument(
        "--skip-mismatch",
        action="store_true",
        help="with --weights, skip layers whose weights differ in shape (the class-dependent heads "
        "when NUM_CLASSES differs from the weights', e.g. COCO's 81)",
    )
    p.add_argument("--config", help="JSON file of matterport config names (NUM_CLASSES, BATCH_SIZE, IMAGE_SHAPE, ...)")
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    p.add_argument("--train-bn", action="store_true", help="train BatchNorm layers (matterport's TRAIN_BN)")
    p.add_argument("--num-classes", type=int, default=4, help="classes of the tiny model, background included")
    p.add_argument("--batch-size", type=int, default=2, help="batch size of the tiny model")
    return p


def _load_module(path):
    spec = importlib.util.spec_from_file_location("graftrain_user_model", path)
    if spec is None or spec.loader is None:
        raise SystemExit("graftrain-export: cannot import %s" % path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(argv=None):
    args = _parser().parse_args(argv)
    from .config import ExportConfig
    from .exporter import export

    if args.tiny:
        from . import tiny_model

        cfg = tiny_model.tiny_config(num_classes=args.num_classes, batch_size=args.batch_size)
        training, inference = tiny_model.build(cfg)
        name = "tiny_mask_rcnn"
    else:
        if not args.model_module or not args.config:
            raise SystemExit("graftrain-export: give --tiny, or --model-module and --config")
        cfg = ExportConfig.from_json(args.config)
        mod = _load_module(args.model_module)
        if hasattr(mod, "build_models"):
            training, inference = mod.build_models(cfg)
        elif hasattr(mod, "build"):
            training, inference = mod.build(cfg, "training"), mod.build(cfg, "inference")
        else:
            raise SystemExit("graftrain-export: %s defines neither build(config, mode) nor build_models(config)"
                             % args.model_module)
        name = os.path.splitext(os.path.basename(args.model_module))[0]
    if args.weights:
        # skip_mismatch is Keras 2's by-name option for fine-tuning on
        # another class count: the heads keep their fresh initialisation.
        training.load_weights(args.weights, by_name=True, skip_mismatch=args.skip_mismatch)
    export(training, cfg, args.out, optimizer=args.optimizer, inference_model=inference,
           train_bn=args.train_bn or None, model_name=name)
    print("exported %s to %s" % (name, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
