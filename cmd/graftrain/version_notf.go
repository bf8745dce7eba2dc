//go:build !tensorflow

package main

// tensorflowVersion reports that this binary was built without the
// tensorflow tag and so cannot load SavedModels.
func tensorflowVersion() (string, bool) { return "", false }
