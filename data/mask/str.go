package mask

import (
	"errors"
	"fmt"
	"strings"
)

// ErrSyntax reports a malformed compressed RLE string.
var ErrSyntax = errors.New("malformed compressed RLE")

// String returns the compressed form of r's counts used in COCO JSON
// (maskApi's rleToString): each count, minus the count two before it from
// the fourth on, as a little-endian sequence of signed 5-bit groups, each
// group a character from '0' (48) to 'o' (111) with 0x20 marking that more
// groups follow.
func (r RLE) String() string {
	var sb strings.Builder
	sb.Grow(len(r.Counts) * 2)
	for i, c := range r.Counts {
		x := int64(c)
		if i > 2 {
			x -= int64(r.Counts[i-2])
		}
		for more := true; more; {
			ch := byte(x & 0x1f)
			x >>= 5
			if ch&0x10 != 0 {
				more = x != -1
			} else {
				more = x != 0
			}
			if more {
				ch |= 0x20
			}
			sb.WriteByte(ch + 48)
		}
	}
	return sb.String()
}

// maxGroups bounds one count's 5-bit groups: 7 groups carry 35 bits, enough
// for any 32-bit count or difference of counts.
const maxGroups = 7

// FromString parses the compressed counts s of an h×w mask (maskApi's
// rleFrString). It returns an error wrapping ErrSyntax for characters
// outside '0'..'o', a count cut off at the end of s, a count longer than
// seven characters or one that falls outside 0..2³²-1, and one wrapping
// ErrSize when the counts do not cover h*w pixels.
func FromString(s string, h, w int) (RLE, error) {
	if err := checkDims(h, w); err != nil {
		return RLE{}, err
	}
	counts := make([]uint32, 0, len(s)/2+1)
	var sum uint64
	for p := 0; p < len(s); {
		start := p
		var x int64
		k := 0
		for more := true; more; {
			if p >= len(s) {
				return RLE{}, fmt.Errorf("%w: count %d starting at byte %d is cut off at the end", ErrSyntax, len(counts), start)
			}
			if k == maxGroups {
				return RLE{}, fmt.Errorf("%w: count %d starting at byte %d is longer than %d characters", ErrSyntax, len(counts), start, maxGroups)
			}
			ch := s[p]
			if ch < 48 || ch > 111 {
				return RLE{}, fmt.Errorf("%w: byte %d is %q, outside '0'..'o'", ErrSyntax, p, ch)
			}
			c := int64(ch - 48)
			x |= (c & 0x1f) << (5 * k)
			more = c&0x20 != 0
			p++
			k++
			if !more && c&0x10 != 0 {
				x |= -1 << (5 * k)
			}
		}
		if len(counts) > 2 {
			x += int64(counts[len(counts)-2])
		}
		if x < 0 || x > 1<<32-1 {
			return RLE{}, fmt.Errorf("%w: count %d starting at byte %d decodes to %d, outside 0..4294967295", ErrSyntax, len(counts), start, x)
		}
		counts = append(counts, uint32(x))
		sum += uint64(x)
	}
	if sum != uint64(h)*uint64(w) {
		return RLE{}, fmt.Errorf("%w: run lengths sum to %d, want %d×%d = %d", ErrSize, sum, h, w, h*w)
	}
	return RLE{H: h, W: w, Counts: counts}, nil
}
