// Package logs owns graftrain's logger setup: zerolog writing human console
// lines on a terminal and JSON lines otherwise, and, for a command working
// in a run directory, a copy of every event as JSON in that directory's
// log.jsonl. Carry the logger through a context with zerolog's
// Logger.WithContext and zerolog.Ctx; log typed fields, not formatted text.
package logs
