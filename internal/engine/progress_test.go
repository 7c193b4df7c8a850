package engine_test

import (
	"context"
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

// waitingControl waits (announcing it), then writes once.
type waitingControl struct{ fakeControl }

func (w *waitingControl) Apply(ctx context.Context, env *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	end := control.Waiting(ctx, "waiting for the widget to be READY")
	end()
	return w.fakeControl.Apply(ctx, env, t, j)
}

// Activity hears each write while it is in flight, by its step kind and
// target, and each wait a control announces; every activity ends. Without
// Activity, nothing is announced and the journal is the caller's own.
func TestActivity(t *testing.T) {
	type event struct {
		a     control.Activity
		ended bool
	}
	var mu sync.Mutex
	var events []event
	inFlight := map[string]bool{}
	c := &waitingControl{fakeControl{info: control.Info{ID: "c", Scope: control.Regional}, check: needsChange}}
	c.apply = func(region string) error {
		// The write is announced before it is made.
		mu.Lock()
		defer mu.Unlock()
		if !inFlight["c "+region+" Set"] {
			t.Errorf("write in %s not announced while in flight: %+v", region, events)
		}
		return nil
	}
	run := &engine.Run{Controls: []control.Control{c}, Regions: []string{"r1", "r2"}, HomeRegion: "r1",
		Activity: func(a control.Activity) func() {
			key := a.Control + " " + a.Region + " " + a.What
			mu.Lock()
			events = append(events, event{a: a})
			inFlight[key] = true
			mu.Unlock()
			return func() {
				mu.Lock()
				events = append(events, event{a: a, ended: true})
				delete(inFlight, key)
				mu.Unlock()
			}
		}}
	plan := run.Check(ctx)
	if len(events) != 0 {
		t.Fatalf("check announced %+v", events)
	}
	j := &controltest.MemJournal{}
	for _, r := range run.Apply(ctx, plan, j.For) {
		if r.Status != engine.Compliant {
			t.Fatalf("%s: %s %v", r.Key(), r.Status, r.Err)
		}
	}
	if len(j.Entries) != 2 {
		t.Fatalf("journal entries: %d", len(j.Entries))
	}
	for _, region := range []string{"r1", "r2"} {
		var write, wait, ends int
		for _, e := range events {
			if e.a.Control != "c" || e.a.Region != region || e.a.Started.IsZero() {
				continue
			}
			switch {
			case e.ended:
				ends++
			case e.a.What == "Set" && !e.a.Wait:
				write++
			case e.a.What == "waiting for the widget to be READY" && e.a.Wait:
				wait++
			}
		}
		if write != 1 || wait != 1 || ends != 2 {
			t.Errorf("%s: %d writes, %d waits, %d ends announced, want 1, 1, 2: %+v", region, write, wait, ends, events)
		}
	}
	if len(inFlight) != 0 {
		t.Errorf("still in flight after apply: %v", inFlight)
	}
}
