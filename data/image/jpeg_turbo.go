//go:build cgo

package image

/*
#cgo LDFLAGS: -lturbojpeg
#include <stdlib.h>
#include <turbojpeg.h>
*/
import "C"

import (
	"fmt"
	"unsafe"
)

const turbo = true

// decodeJPEG decodes with TurboJPEG's default (accurate integer DCT, fancy
// upsampling), the settings PIL uses.
func decodeJPEG(data []byte) (*RGB, error) {
	h := C.tjInitDecompress()
	if h == nil {
		return nil, fmt.Errorf("jpeg: cannot start libjpeg-turbo")
	}
	defer C.tjDestroy(h)
	src := (*C.uchar)(unsafe.Pointer(&data[0]))
	n := C.ulong(len(data))
	var w, ht, sub, cs C.int
	if C.tjDecompressHeader3(h, src, n, &w, &ht, &sub, &cs) != 0 {
		return nil, fmt.Errorf("jpeg: %s", C.GoString(C.tjGetErrorStr2(h)))
	}
	if w <= 0 || ht <= 0 || int64(w)*int64(ht) > MaxPixels {
		return nil, fmt.Errorf("jpeg: unsupported size %d×%d", w, ht)
	}
	if cs == C.TJCS_CMYK || cs == C.TJCS_YCCK {
		buf := make([]uint8, int(w)*int(ht)*4)
		if C.tjDecompress2(h, src, n, (*C.uchar)(unsafe.Pointer(&buf[0])), w, 0, ht, C.TJPF_CMYK, 0) != 0 && C.tjGetErrorCode(h) == C.TJERR_FATAL {
			return nil, fmt.Errorf("jpeg: %s", C.GoString(C.tjGetErrorStr2(h)))
		}
		out := NewRGB(int(ht), int(w))
		for i := 0; i < int(w)*int(ht); i++ {
			// Adobe CMYK JPEGs store inverted values; Pillow inverts them back.
			c := buf[4*i : 4*i+4]
			out.Pix[3*i], out.Pix[3*i+1], out.Pix[3*i+2] = cmykToRGB(255-c[0], 255-c[1], 255-c[2], 255-c[3])
		}
		return out, nil
	}
	out := NewRGB(int(ht), int(w))
	if C.tjDecompress2(h, src, n, (*C.uchar)(unsafe.Pointer(&out.Pix[0])), w, 0, ht, C.TJPF_RGB, 0) != 0 && C.tjGetErrorCode(h) == C.TJERR_FATAL {
		return nil, fmt.Errorf("jpeg: %s", C.GoString(C.tjGetErrorStr2(h)))
	}
	return out, nil
}
