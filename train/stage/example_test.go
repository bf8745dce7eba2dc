package stage

import (
	"path/filepath"
	"testing"

	"github.com/graftrain/graftrain/config"
)

// The shipped example configs plan with nothing else: they name the
// manifest through model.variables, relative to the config file.
func TestExampleConfigs(t *testing.T) {
	type stageWant struct {
		name         string
		epochs       int
		lr, startLR  float64
		vars         int
		params       int64
		groupsFrozen []string
	}
	backbone := []string{"conv1", "res2", "res3", "res4", "res5"}
	for _, tc := range []struct {
		file   string
		stages []stageWant
	}{
		{"matterport_coco.yaml", []stageWant{
			// heads: fpn, rpn and mrcnn_* kernels and biases.
			{"heads", 40, 0.001, 0.001, 42, 21_488_120, backbone},
			// 4+ adds res4 and res5 convolutions (70 + 10, kernel and bias).
			{"resnet4+", 80, 0.001, 0.001, 42 + 160, 21_488_120 + 26_054_144 + 14_953_472, []string{"conv1", "res2", "res3"}},
			// all: every trainable variable but the BatchNorm parameters:
			// 64,047,096 trainable in Keras minus 111,488 gamma and beta.
			{"all", 40, 0.0001, 0.0001, 250, 64_047_096 - 111_488, nil},
		}},
		{"stuck_finetune_fix.yaml", []stageWant{
			{"heads", 5, 0.001, 0.001 / 500, 42, 21_488_120, backbone},
			{"finetune", 20, 0.001, 0.001 / 1000, 250, 64_047_096 - 111_488, nil},
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			cfg, err := config.Load(config.Sources{File: filepath.Join("..", "..", "examples", tc.file), Environ: []string{}})
			if err != nil {
				t.Fatal(err)
			}
			m, err := ReadManifest(cfg.Model.Variables)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Build(cfg, m)
			if err != nil {
				t.Fatal(err)
			}
			if p.Params != 64_158_584 {
				t.Errorf("params %d, want 64158584", p.Params)
			}
			if len(p.Stages) != len(tc.stages) {
				t.Fatalf("%d stages, want %d", len(p.Stages), len(tc.stages))
			}
			for i, w := range tc.stages {
				s := p.Stages[i]
				if s.Name != w.name || s.Epochs != w.epochs || s.LearningRate != w.lr || !near(s.StartLR, w.startLR) {
					t.Errorf("stage %d: %s, %d epochs, lr %v from %v; want %s, %d, %v from %v", i, s.Name, s.Epochs, s.LearningRate, s.StartLR, w.name, w.epochs, w.lr, w.startLR)
				}
				if s.TrainableVariables != w.vars || s.TrainableParams != w.params {
					t.Errorf("stage %s trains %d variables, %d params; want %d, %d", s.Name, s.TrainableVariables, s.TrainableParams, w.vars, w.params)
				}
				for gi, g := range p.Groups {
					frozen := !s.Groups[gi].Trains()
					want := false
					for _, f := range w.groupsFrozen {
						want = want || f == g.Name
					}
					if frozen != want {
						t.Errorf("stage %s, group %s: frozen %v, want %v", s.Name, g.Name, frozen, want)
					}
				}
				if s.LossWeights != [5]float32{1, 1, 1, 1, 1} {
					t.Errorf("stage %s: loss weights %v", s.Name, s.LossWeights)
				}
			}
			if tc.file == "stuck_finetune_fix.yaml" {
				ft := p.Stages[1]
				for gi, g := range p.Groups {
					want := 1.0
					switch g.Name {
					case "conv1", "res2", "res3", "res4", "res5":
						want = 0.1
					case "rpn":
						want = 0.2
					}
					if ft.Groups[gi].Multiplier != want {
						t.Errorf("finetune %s: multiplier %v, want %v", g.Name, ft.Groups[gi].Multiplier, want)
					}
				}
			}
		})
	}
}

func near(a, b float64) bool {
	d := a - b
	return d < 1e-15 && d > -1e-15
}
