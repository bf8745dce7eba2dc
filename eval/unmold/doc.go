// Package unmold turns the predict signature's output back into detections
// on the original images, as matterport's unmold_detections does: boxes
// from normalised molded-image coordinates through the resize window to
// original pixels, masks resized from the mask head's small grid to their
// box, thresholded at 0.5, pasted into the image and run-length encoded.
// It bridges the training loop (train.Prediction, batch.Batch) and eval.
package unmold
