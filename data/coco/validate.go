package coco

import "fmt"

// validate checks ids and references across the file's sections.
func validate(f *File, off *offsets, probs *problems) {
	images := make(map[int64]int, len(f.Images))
	for i, im := range f.Images {
		where := fmt.Sprintf("images[%d] (id %d)", i, im.ID)
		if j, dup := images[im.ID]; dup {
			probs.add(off.images[i], where, fmt.Errorf("%w: image id %d is also images[%d]", ErrDuplicateID, im.ID, j))
			continue
		}
		images[im.ID] = i
		if im.Width <= 0 || im.Height <= 0 {
			probs.add(off.images[i], where, fmt.Errorf("%w: size %d×%d (width × height) must be positive", ErrImage, im.Width, im.Height))
		}
		if im.FileName == "" {
			probs.add(off.images[i], where, fmt.Errorf("%w: no file_name", ErrImage))
		}
	}
	cats := make(map[int64]int, len(f.Categories))
	for i, c := range f.Categories {
		if j, dup := cats[c.ID]; dup {
			probs.add(off.categories[i], fmt.Sprintf("categories[%d] (id %d)", i, c.ID), fmt.Errorf("%w: category id %d is also categories[%d]", ErrDuplicateID, c.ID, j))
			continue
		}
		cats[c.ID] = i
	}
	anns := make(map[int64]int, len(f.Annotations))
	for i, a := range f.Annotations {
		where := fmt.Sprintf("annotations[%d] (id %d)", i, a.ID)
		if j, dup := anns[a.ID]; dup {
			probs.add(off.annotations[i], where, fmt.Errorf("%w: annotation id %d is also annotations[%d]", ErrDuplicateID, a.ID, j))
		} else {
			anns[a.ID] = i
		}
		if _, ok := images[a.ImageID]; !ok {
			probs.add(off.annotations[i], where, fmt.Errorf("%w: image_id %d is not in images", ErrUnknownImage, a.ImageID))
		}
		if _, ok := cats[a.CategoryID]; !ok {
			probs.add(off.annotations[i], where, fmt.Errorf("%w: category_id %d is not in categories", ErrUnknownCategory, a.CategoryID))
		}
		if err := a.Segmentation.Validate(); err != nil {
			probs.add(off.annotations[i], where, err)
		}
	}
}
