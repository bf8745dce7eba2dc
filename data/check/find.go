package check

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// FindSplit locates a split's annotation file and image folder in a
// dataset folder, for `data check --dataset DIR`. Two layouts are known:
//
//   - DIR/instances_SPLIT*.json with images under DIR (file_name relative
//     to DIR), as examples/shapes;
//   - COCO's own: DIR/annotations/instances_SPLIT*.json (e.g.
//     instances_train2017.json) with images under DIR/train2017 when that
//     folder exists, else under DIR.
func FindSplit(dir, split string) (annotations, images string, err error) {
	pattern := "instances_" + split + "*.json"
	if m := glob(filepath.Join(dir, pattern)); m != "" {
		return m, dir, nil
	}
	if m := glob(filepath.Join(dir, "annotations", pattern)); m != "" {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "instances_"), ".json")
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil && st.IsDir() {
			return m, filepath.Join(dir, name), nil
		}
		return m, dir, nil
	}
	return "", "", fmt.Errorf("no %s annotations in %s: expected %s or annotations/%s", split, dir, pattern, pattern)
}

func glob(pattern string) string {
	m, _ := filepath.Glob(pattern)
	sort.Strings(m)
	if len(m) == 0 {
		return ""
	}
	return m[0]
}
