//go:build !unix

package eval

func cpuSeconds() float64 { return 0 }
