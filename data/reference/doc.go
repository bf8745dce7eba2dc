// Package reference runs the Python reference of matterport's data pipeline
// (tools/reference: numpy, scipy, scikit-image and Pillow, the libraries
// matterport's generator uses) so graftrain's Go pipeline can be timed against
// it on the same images. Its benchmark prints Go and numpy milliseconds per
// image on one core and their ratio.
package reference
