package config

import "strings"

// levenshtein is the edit distance between a and b (insertions, deletions
// and substitutions of bytes; keys are ASCII).
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// nearest returns the candidate closest to s, and false when none is close
// enough to be a plausible typo (more than a third of the longer name
// differs, with at least two edits always allowed).
func nearest(s string, candidates []string) (string, bool) {
	best, bestD := "", -1
	for _, c := range candidates {
		d := levenshtein(s, c)
		if bestD < 0 || d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	if bestD < 0 {
		return "", false
	}
	limit := max(2, max(len(s), len(best))/3)
	if bestD <= limit {
		return best, true
	}
	// A name that is part of exactly one candidate (mask_loss in
	// mrcnn_mask_loss) is a shortened form of it.
	var part []string
	for _, c := range candidates {
		if len(s) >= 3 && strings.Contains(c, s) {
			part = append(part, c)
		}
	}
	if len(part) == 1 {
		return part[0], true
	}
	return "", false
}
