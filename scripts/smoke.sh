#!/usr/bin/env bash
# The full-system test: graftrain with real TensorFlow, end to end. Runs in
# the dev image (docs/containers.md):
#
#   docker build --target dev -t graftrain-dev .
#   docker run --rm graftrain-dev scripts/smoke.sh
#
# Every step prints its command first, so a reviewer can run them one by one.
set -euo pipefail
cd "$(dirname "$0")/.."

work=${SMOKE_DIR:-$(mktemp -d)}
run=$work/run
step() { printf '\n+ %s\n' "$*"; "$@"; }

# Reads metrics.jsonl and fails unless every train row's losses are finite
# and the total loss fell from the first to the last five steps.
check_losses() {
	python3 - "$1" <<'PY'
import json, math, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
train = [r for r in rows if r.get("kind") == "train" and not r.get("non_finite")]
assert len(train) >= 10, "too few training rows: %d" % len(train)
for r in train:
    for name, v in r["losses"].items():
        assert math.isfinite(v), "step %d: %s = %r" % (r["step"], name, v)
first = sum(r["total_loss"] for r in train[:5]) / 5
last = sum(r["total_loss"] for r in train[-5:]) / 5
print("total loss: first five steps %.4f, last five %.4f" % (first, last))
assert last < first, "total loss did not fall"
PY
}

step graftrain version
graftrain version | grep -q 'device:CPU:0' || { echo "smoke: graftrain version lists no TensorFlow CPU device" >&2; exit 1; }
step graftrain-export --tiny --out "$work/tiny"
step graftrain inspect --require-contract --verify "$work/tiny"
step graftrain plan "$work/tiny" --config examples/shapes.yaml

# Two stages (heads, then all) on the sample dataset, then a resumed run
# that continues to a later step from the checkpoint.
step graftrain train --config examples/shapes.yaml \
	--set model.dir="$work/tiny" --set run.dir="$run" --set train.max_steps=30
step check_losses "$run/metrics.jsonl"
step graftrain checkpoints list "$run" --verify
step graftrain train --config examples/shapes.yaml --resume \
	--set model.dir="$work/tiny" --set run.dir="$run" --set train.max_steps=40
step check_losses "$run/metrics.jsonl"
python3 - "$run/metrics.jsonl" <<'PY'
import json, sys
steps = [json.loads(l)["step"] for l in open(sys.argv[1]) if '"kind":"train"' in l]
assert steps == sorted(set(steps)), "resumed run repeated or skipped steps"
assert steps[-1] == 40, "last step %d" % steps[-1]
print("resume continued to step", steps[-1])
PY

# Export the trained model and check it is a complete contract model again.
step graftrain export --run "$run" --out "$work/trained"
step graftrain inspect --require-contract --verify "$work/trained"

# COCO evaluation of the ground truth, as detections, against itself must
# give an AP of 1.
python3 - examples/shapes/instances_val.json "$work/gt_as_dt.json" <<'PY'
import json, sys
gt = json.load(open(sys.argv[1]))
dt = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1.0}
      for a in gt["annotations"] if not a.get("iscrowd")]
json.dump(dt, open(sys.argv[2], "w"))
PY
echo "+ graftrain eval --gt examples/shapes/instances_val.json --dt $work/gt_as_dt.json --type bbox --json"
graftrain eval --gt examples/shapes/instances_val.json --dt "$work/gt_as_dt.json" --type bbox --json >"$work/eval.json"
cat "$work/eval.json"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["stats"]; assert abs(s[0]-1) < 1e-12, s; print("AP", s[0])' "$work/eval.json"

# The exporter's own tests and the TensorFlow-tagged Go tests.
step python3 -m pytest -q graphs/python/tests
GRAFTRAIN_TINY_MODEL="$work/tiny" step go test -count=1 -tags tensorflow ./...
echo "smoke: ok ($work)"
