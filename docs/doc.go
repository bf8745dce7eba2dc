// Package docs holds graftrain's user documentation, plain Markdown read on
// GitHub. It has no code of its own: its tests keep the pages honest. They
// run every `console` example against a freshly built graftrain, check that
// every `graftrain` command the pages name exists, that the YAML snippets
// marked with an examples/ file match that file and validate, and that every
// relative link resolves.
package docs
