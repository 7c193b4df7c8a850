package engine_test

import (
	"sync"
	"testing"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/engine"
)

// Progress hears every target once, ending at total, for Check and Apply.
func TestProgress(t *testing.T) {
	c := &fakeControl{info: control.Info{ID: "c", Scope: control.Regional}, check: needsChange, apply: func(string) error { return nil }}
	var mu sync.Mutex
	var seen [][2]int
	run := &engine.Run{Controls: []control.Control{c}, Regions: []string{"r1", "r2", "r3"}, HomeRegion: "r1",
		Progress: func(done, total int) { mu.Lock(); seen = append(seen, [2]int{done, total}); mu.Unlock() }}
	plan := run.Check(ctx)
	if len(seen) != 3 || seen[2] != [2]int{3, 3} {
		t.Fatalf("check progress: %v", seen)
	}
	seen = nil
	j := &controltest.MemJournal{}
	run.Apply(ctx, plan, j.For)
	if len(seen) != 3 || seen[2] != [2]int{3, 3} {
		t.Fatalf("apply progress: %v", seen)
	}
}
