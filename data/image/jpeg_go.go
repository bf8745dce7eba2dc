//go:build !cgo

package image

import (
	"bytes"
	"fmt"
	"image/jpeg"
)

const turbo = false

// decodeJPEG uses Go's image/jpeg: not bit-exact with libjpeg-turbo.
func decodeJPEG(data []byte) (*RGB, error) {
	c, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if int64(c.Width)*int64(c.Height) > MaxPixels {
		return nil, fmt.Errorf("jpeg: %d×%d exceeds %d pixels", c.Width, c.Height, MaxPixels)
	}
	m, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return FromImage(m), nil
}
