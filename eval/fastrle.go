package eval

// scanRLE reads the compressed RLE object {"size": [h, w], "counts": "..."}
// (keys in either order, JSON whitespace anywhere) straight from b, the
// form results files almost always use, without encoding/json's several
// passes. It reports ok false for anything else (other keys, escapes other
// than \\, \/, \" and \u0000-\u007f, numbers that are not plain
// non-negative integers), which the general decoder then handles.
func scanRLE(b []byte) (h, w int, counts string, ok bool) {
	p := 0
	space := func() {
		for p < len(b) && (b[p] == ' ' || b[p] == '\t' || b[p] == '\n' || b[p] == '\r') {
			p++
		}
	}
	lit := func(c byte) bool {
		space()
		if p < len(b) && b[p] == c {
			p++
			return true
		}
		return false
	}
	num := func() (int, bool) {
		space()
		start, v := p, 0
		for p < len(b) && b[p] >= '0' && b[p] <= '9' && p-start < 9 {
			v = v*10 + int(b[p]-'0')
			p++
		}
		if p == start || (p < len(b) && (b[p] >= '0' && b[p] <= '9' || b[p] == '.' || b[p] == 'e' || b[p] == 'E')) {
			return 0, false
		}
		return v, true
	}
	str := func() (string, bool) {
		if !lit('"') {
			return "", false
		}
		start := p
		for p < len(b) && b[p] != '"' && b[p] != '\\' {
			if b[p] < 0x20 || b[p] >= 0x7f {
				return "", false // not the RLE alphabet; encoding/json decides
			}
			p++
		}
		if p < len(b) && b[p] == '"' {
			p++
			return string(b[start : p-1]), true
		}
		// Escapes: \\, \/ and \u00XX (Go's encoder writes < and > so).
		out := append([]byte(nil), b[start:p]...)
		for p < len(b) && b[p] != '"' {
			c := b[p]
			if c < 0x20 || c >= 0x7f {
				return "", false
			}
			if c != '\\' {
				out = append(out, c)
				p++
				continue
			}
			if p+1 >= len(b) {
				return "", false
			}
			switch b[p+1] {
			case '\\', '/', '"':
				out = append(out, b[p+1])
				p += 2
			case 'u':
				if p+6 > len(b) || b[p+2] != '0' || b[p+3] != '0' {
					return "", false
				}
				hi, lo := unhex(b[p+4]), unhex(b[p+5])
				if hi < 0 || lo < 0 || hi > 7 {
					return "", false
				}
				out = append(out, byte(hi<<4|lo))
				p += 6
			default:
				return "", false
			}
		}
		if p >= len(b) {
			return "", false
		}
		p++
		return string(out), true
	}
	if !lit('{') {
		return 0, 0, "", false
	}
	var haveSize, haveCounts bool
	for !haveSize || !haveCounts {
		if haveSize || haveCounts {
			if !lit(',') {
				return 0, 0, "", false
			}
		}
		key, kok := str()
		if !kok || !lit(':') {
			return 0, 0, "", false
		}
		switch {
		case key == "size" && !haveSize:
			var hok, wok bool
			if !lit('[') {
				return 0, 0, "", false
			}
			if h, hok = num(); !hok || !lit(',') {
				return 0, 0, "", false
			}
			if w, wok = num(); !wok || !lit(']') {
				return 0, 0, "", false
			}
			haveSize = true
		case key == "counts" && !haveCounts:
			var cok bool
			if counts, cok = str(); !cok {
				return 0, 0, "", false
			}
			haveCounts = true
		default:
			return 0, 0, "", false
		}
	}
	if !lit('}') {
		return 0, 0, "", false
	}
	space()
	return h, w, counts, p == len(b)
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
