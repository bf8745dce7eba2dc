package coco

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
)

// Write writes f as a COCO instances JSON document, one entry a line, with
// iscrowd as 0 or 1 and each segmentation in the form it has. The output
// depends only on f, so generated datasets are reproducible byte for byte.
func Write(w io.Writer, f *File) error {
	bw := bufio.NewWriter(w)
	section := func(name string, n int, entry func(i int) any, last bool) error {
		fmt.Fprintf(bw, "%q: [", name)
		for i := 0; i < n; i++ {
			b, err := json.Marshal(entry(i))
			if err != nil {
				return fmt.Errorf("write %s[%d]: %w", name, i, err)
			}
			if i > 0 {
				bw.WriteByte(',')
			}
			bw.WriteString("\n  ")
			bw.Write(b)
		}
		bw.WriteString("\n]")
		if !last {
			bw.WriteByte(',')
		}
		bw.WriteByte('\n')
		return nil
	}
	bw.WriteString("{\n")
	if err := section("images", len(f.Images), func(i int) any { return f.Images[i] }, false); err != nil {
		return err
	}
	if err := section("annotations", len(f.Annotations), func(i int) any {
		a := f.Annotations[i]
		crowd := 0
		if a.IsCrowd {
			crowd = 1
		}
		return struct {
			ID           int64        `json:"id"`
			ImageID      int64        `json:"image_id"`
			CategoryID   int64        `json:"category_id"`
			Segmentation Segmentation `json:"segmentation"`
			Area         float64      `json:"area"`
			BBox         [4]float64   `json:"bbox"`
			IsCrowd      int          `json:"iscrowd"`
		}{a.ID, a.ImageID, a.CategoryID, a.Segmentation, a.Area, a.BBox, crowd}
	}, false); err != nil {
		return err
	}
	if err := section("categories", len(f.Categories), func(i int) any { return f.Categories[i] }, true); err != nil {
		return err
	}
	bw.WriteString("}\n")
	return bw.Flush()
}
