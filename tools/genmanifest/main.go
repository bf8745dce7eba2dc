// Command genmanifest writes the variables manifest (graftrain_variables.json)
// of matterport's Mask R-CNN from the architecture's naming rules, without
// Keras: every variable's path, Keras layer, shape, dtype, trainable flag
// and BatchNorm flag, in the order matterport's Keras model lists its
// weights. It lets `graftrain plan` run on matterport's model before any
// export exists.
//
//	go run ./tools/genmanifest -classes 81 -backbone resnet101 -o examples/matterport_resnet101_coco_variables.json
package main

//go:generate go run . -classes 81 -backbone resnet101 -o ../../examples/matterport_resnet101_coco_variables.json

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/graftrain/graftrain/graphs"
)

func main() {
	classes := flag.Int("classes", 81, "NUM_CLASSES, background included")
	backbone := flag.String("backbone", "resnet101", "resnet50 | resnet101")
	out := flag.String("o", "", "output file (default: standard output)")
	flag.Parse()
	if err := run(*classes, *backbone, *out, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "genmanifest:", err)
		os.Exit(1)
	}
}

func run(classes int, backbone, out string, stdout io.Writer) error {
	m, err := matterport(classes, backbone)
	if err != nil {
		return err
	}
	data, err := encode(m)
	if err != nil {
		return err
	}
	if out == "" {
		_, err = stdout.Write(data)
		return err
	}
	return os.WriteFile(out, data, 0o644)
}

// builder appends variables in order.
type builder struct {
	vars []graphs.Variable
}

func (b *builder) add(layer, name string, shape []int64, trainable, bn bool) {
	b.vars = append(b.vars, graphs.Variable{
		Index: len(b.vars), Path: layer + "/" + name, Layer: layer,
		Shape: shape, DType: "float32", Trainable: trainable, BatchNorm: bn,
	})
}

// conv adds a convolution's kernel [kh, kw, in, out] and bias [out]. Every
// convolution of matterport's model has a bias (use_bias defaults to true
// in its ResNet graph).
func (b *builder) conv(layer string, kh, kw, in, out int64) {
	b.add(layer, "kernel", []int64{kh, kw, in, out}, true, false)
	b.add(layer, "bias", []int64{out}, true, false)
}

// dense adds a fully connected layer's kernel [in, out] and bias [out].
func (b *builder) dense(layer string, in, out int64) {
	b.add(layer, "kernel", []int64{in, out}, true, false)
	b.add(layer, "bias", []int64{out}, true, false)
}

// bn adds a BatchNormalization layer: gamma and beta train, the moving
// statistics never do.
func (b *builder) bn(layer string, c int64) {
	b.add(layer, "gamma", []int64{c}, true, true)
	b.add(layer, "beta", []int64{c}, true, true)
	b.add(layer, "moving_mean", []int64{c}, false, true)
	b.add(layer, "moving_variance", []int64{c}, false, true)
}

// block adds one bottleneck block of ResNet stage s. Names follow
// matterport's resnet_graph: res{s}{block}_branch2a/2b/2c (1x1, 3x3, 1x1)
// with bn{s}{block}_branch…; a conv block (the first of a stage) also has
// the projection shortcut branch1. Keras lists a conv block's weights as
// 2a, 2b, 2c, branch1, then the 2c and branch1 BatchNorms.
func (b *builder) block(s int, block string, in, f1, f2, f3 int64, shortcut bool) {
	conv := fmt.Sprintf("res%d%s_branch", s, block)
	norm := fmt.Sprintf("bn%d%s_branch", s, block)
	b.conv(conv+"2a", 1, 1, in, f1)
	b.bn(norm+"2a", f1)
	b.conv(conv+"2b", 3, 3, f1, f2)
	b.bn(norm+"2b", f2)
	b.conv(conv+"2c", 1, 1, f2, f3)
	if shortcut {
		b.conv(conv+"1", 1, 1, in, f3)
	}
	b.bn(norm+"2c", f3)
	if shortcut {
		b.bn(norm+"1", f3)
	}
}

// matterport returns the manifest of matterport's training model for the
// given class count (background included) and backbone.
func matterport(classes int, backbone string) (*graphs.VariablesManifest, error) {
	stage4 := map[string]int{"resnet50": 5, "resnet101": 22}
	extra, ok := stage4[backbone]
	if !ok {
		return nil, fmt.Errorf("backbone %q: want resnet50 or resnet101", backbone)
	}
	if classes < 2 {
		return nil, fmt.Errorf("classes %d: want at least 2 (background and one class)", classes)
	}
	n := int64(classes)
	var b builder

	// ResNet backbone (C1..C5).
	b.conv("conv1", 7, 7, 3, 64)
	b.bn("bn_conv1", 64)
	stages := []struct {
		s          int
		blocks     int
		f1, f2, f3 int64
	}{
		{2, 3, 64, 64, 256},
		{3, 4, 128, 128, 512},
		{4, 1 + extra, 256, 256, 1024},
		{5, 3, 512, 512, 2048},
	}
	in := int64(64)
	for _, st := range stages {
		for k := range st.blocks {
			// Blocks are lettered a, b, c, ...; matterport's ResNet-101
			// names stage 4's 23 blocks res4a … res4w.
			b.block(st.s, string(rune('a'+k)), in, st.f1, st.f2, st.f3, k == 0)
			in = st.f3
		}
	}

	// Feature pyramid: lateral 1x1 convolutions C5..C2, then the 3x3
	// output convolutions in the order Keras lists them.
	for _, l := range []struct {
		name string
		in   int64
	}{{"fpn_c5p5", 2048}, {"fpn_c4p4", 1024}, {"fpn_c3p3", 512}, {"fpn_c2p2", 256}} {
		b.conv(l.name, 1, 1, l.in, 256)
	}
	for _, p := range []string{"fpn_p5", "fpn_p2", "fpn_p3", "fpn_p4"} {
		b.conv(p, 3, 3, 256, 256)
	}

	// RPN, shared over pyramid levels: 3 anchors per location.
	const anchors = 3
	b.conv("rpn_conv_shared", 3, 3, 256, 512)
	b.conv("rpn_class_raw", 1, 1, 512, 2*anchors)
	b.conv("rpn_bbox_pred", 1, 1, 512, 4*anchors)

	// Classifier head: a 7x7 "FC" convolution over the ROI-aligned
	// features, a 1x1 one, then class logits and per-class box deltas.
	b.conv("mrcnn_class_conv1", 7, 7, 256, 1024)
	b.bn("mrcnn_class_bn1", 1024)
	b.conv("mrcnn_class_conv2", 1, 1, 1024, 1024)
	b.bn("mrcnn_class_bn2", 1024)
	b.dense("mrcnn_class_logits", 1024, n)
	b.dense("mrcnn_bbox_fc", 1024, 4*n)

	// Mask head: four 3x3 convolutions, a 2x2 transposed convolution
	// (Keras kernel layout [kh, kw, out, in]) and per-class 1x1 masks.
	for k := 1; k <= 4; k++ {
		b.conv(fmt.Sprintf("mrcnn_mask_conv%d", k), 3, 3, 256, 256)
		b.bn(fmt.Sprintf("mrcnn_mask_bn%d", k), 256)
	}
	b.conv("mrcnn_mask_deconv", 2, 2, 256, 256)
	b.conv("mrcnn_mask", 1, 1, 256, n)

	return &graphs.VariablesManifest{
		ContractVersion: graphs.ContractVersion,
		Model:           fmt.Sprintf("matterport Mask R-CNN, %s FPN backbone, %d classes", backbone, classes),
		Variables:       b.vars,
	}, nil
}

// encode writes the manifest as JSON with one variable per line, so that
// diffs of the committed file stay readable.
func encode(m *graphs.VariablesManifest) ([]byte, error) {
	var buf bytes.Buffer
	model, err := json.Marshal(m.Model)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(&buf, "{\n  \"contract_version\": %d,\n  \"model\": %s,\n  \"variables\": [\n", m.ContractVersion, model)
	for i, v := range m.Variables {
		line, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		buf.WriteString("    ")
		buf.Write(line)
		if i < len(m.Variables)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("  ]\n}\n")
	return buf.Bytes(), nil
}
