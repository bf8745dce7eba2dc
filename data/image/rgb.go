package image

import (
	"bytes"
	"errors"
	"fmt"
	goimage "image"
	"image/color"
	"image/png"
	"os"
)

// RGB is an 8-bit RGB image, row-major H×W×3 (matterport's HWC uint8).
type RGB struct {
	H, W int
	Pix  []uint8
}

// NewRGB returns a zeroed h×w image.
func NewRGB(h, w int) *RGB { return &RGB{H: h, W: w, Pix: make([]uint8, h*w*3)} }

// MaxPixels bounds the size of an image Decode accepts (the largest COCO
// images have about 0.4 million pixels).
const MaxPixels = 1 << 26

// ErrFormat reports bytes that are neither JPEG nor PNG.
var ErrFormat = errors.New("image: unknown format (want JPEG or PNG)")

// BitExactJPEG reports whether JPEG decoding goes through libjpeg-turbo.
const BitExactJPEG = turbo

// DecodeFile reads and decodes a JPEG or PNG file.
func DecodeFile(path string) (*RGB, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	img, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return img, nil
}

// Decode decodes JPEG or PNG bytes to RGB. Grayscale is replicated to three
// channels, alpha is dropped (not premultiplied), CMYK is converted with
// Pillow's formula. EXIF orientation is ignored, as COCO's tools ignore it.
func Decode(data []byte) (*RGB, error) {
	switch {
	case len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		return decodeJPEG(data)
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		c, err := png.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		if int64(c.Width)*int64(c.Height) > MaxPixels {
			return nil, fmt.Errorf("png: %d×%d exceeds %d pixels", c.Width, c.Height, MaxPixels)
		}
		m, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		return FromImage(m), nil
	}
	return nil, ErrFormat
}

// FromImage converts a decoded Go image to RGB, taking the stored colour
// channels as they are (no premultiplication, alpha dropped).
func FromImage(m goimage.Image) *RGB {
	b := m.Bounds()
	out := NewRGB(b.Dy(), b.Dx())
	p := out.Pix
	i := 0
	switch src := m.(type) {
	case *goimage.NRGBA:
		dropAlpha(p, src.Pix, src.Stride, b.Dy(), b.Dx())
	case *goimage.RGBA:
		// image/png returns RGBA only for opaque images: no premultiplication.
		dropAlpha(p, src.Pix, src.Stride, b.Dy(), b.Dx())
	case *goimage.Gray:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := src.Pix[(y-b.Min.Y)*src.Stride:]
			for x := 0; x < b.Dx(); x++ {
				v := row[x]
				p[i], p[i+1], p[i+2] = v, v, v
				i += 3
			}
		}
	case *goimage.YCbCr:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := src.YCbCrAt(x, y)
				p[i], p[i+1], p[i+2] = color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
				i += 3
			}
		}
	case *goimage.CMYK:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := src.Pix[(y-b.Min.Y)*src.Stride:]
			for x := 0; x < b.Dx(); x++ {
				p[i], p[i+1], p[i+2] = cmykToRGB(row[4*x], row[4*x+1], row[4*x+2], row[4*x+3])
				i += 3
			}
		}
	case *goimage.Paletted:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl := straight(src.Palette[src.ColorIndexAt(x, y)])
				p[i], p[i+1], p[i+2] = r, g, bl
				i += 3
			}
		}
	default:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl := straight(m.At(x, y))
				p[i], p[i+1], p[i+2] = r, g, bl
				i += 3
			}
		}
	}
	return out
}

// straight returns a colour's stored 8-bit channels without alpha
// premultiplication where the colour type carries them.
func straight(c color.Color) (uint8, uint8, uint8) {
	switch v := c.(type) {
	case color.NRGBA:
		return v.R, v.G, v.B
	case color.RGBA:
		return v.R, v.G, v.B
	case color.Gray:
		return v.Y, v.Y, v.Y
	case color.NRGBA64:
		return uint8(v.R >> 8), uint8(v.G >> 8), uint8(v.B >> 8)
	case color.Gray16:
		return uint8(v.Y >> 8), uint8(v.Y >> 8), uint8(v.Y >> 8)
	case color.RGBA64:
		return uint8(v.R >> 8), uint8(v.G >> 8), uint8(v.B >> 8)
	}
	n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
	return uint8(n.R >> 8), uint8(n.G >> 8), uint8(n.B >> 8)
}

// cmykToRGB is Pillow's cmyk2rgb: nk = 255-k, out = nk - c*nk/255 with its
// rounded integer division.
func cmykToRGB(c, m, y, k uint8) (uint8, uint8, uint8) {
	nk := 255 - int(k)
	f := func(v uint8) uint8 {
		t := int(v)*nk + 128
		return uint8(nk - ((t>>8)+t)>>8)
	}
	return f(c), f(m), f(y)
}

// dropAlpha copies the h×w RGBA-ordered pixels of src (rows stride bytes
// apart) into the packed RGB buffer dst.
func dropAlpha(dst, src []uint8, stride, h, w int) {
	i := 0
	for y := 0; y < h; y++ {
		row := src[y*stride:]
		for x := 0; x < w; x++ {
			dst[i], dst[i+1], dst[i+2] = row[4*x], row[4*x+1], row[4*x+2]
			i += 3
		}
	}
}
