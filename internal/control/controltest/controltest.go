// Package controltest has test doubles for the control contract.
package controltest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/harden-dev/harden/internal/control"
)

// Entry is one journaled write.
type Entry struct {
	Control, Region string
	Step            control.Step
	Failed          bool
}

// MemJournal keeps journaled writes in memory, in order.
type MemJournal struct {
	// Run is the run id writes are journaled under; "" means
	// "20260101T000000Z-0000".
	Run string

	mu      sync.Mutex
	Entries []Entry
}

func (m *MemJournal) runID() string {
	if m.Run == "" {
		return "20260101T000000Z-0000"
	}
	return m.Run
}

// For returns the control.Journal of one target.
func (m *MemJournal) For(controlID, region string) control.Journal {
	return targetJournal{m, controlID, region}
}

type targetJournal struct {
	m               *MemJournal
	control, region string
}

func (t targetJournal) RunID() string { return t.m.runID() }

func (t targetJournal) Write(ctx context.Context, kind control.StepKind, prior, after any, write func(context.Context) (any, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := json.Marshal(prior)
	if err != nil {
		return err
	}
	a, err := json.Marshal(after)
	if err != nil {
		return err
	}
	if string(a) == "null" {
		a = nil
	}
	t.m.mu.Lock()
	i := len(t.m.Entries)
	t.m.Entries = append(t.m.Entries, Entry{Control: t.control, Region: t.region,
		Step: control.Step{Kind: kind, Prior: p, After: a, RunID: t.m.runID()}})
	t.m.mu.Unlock()
	result, werr := write(ctx)
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	if werr != nil {
		t.m.Entries[i].Failed = true
		return werr
	}
	if result != nil {
		if t.m.Entries[i].Step.Result, err = json.Marshal(result); err != nil {
			return err
		}
	}
	t.m.Entries[i].Step.Done = true
	return nil
}

// Reversed returns the entries that happened, newest first: what a
// rollback undoes.
func (m *MemJournal) Reversed() []Entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Entry
	for i := len(m.Entries) - 1; i >= 0; i-- {
		if !m.Entries[i].Failed {
			out = append(out, m.Entries[i])
		}
	}
	return out
}

// DriftError is what Undo returns for a step whose resource changed after
// harden wrote it (or is not the one harden created).
type DriftError struct{ What string }

func (e *DriftError) Error() string { return "drifted: " + e.What }

// Undo decides and makes the undo of one step as rollback does, without
// --force: a drifted step is returned as a *DriftError and left alone, a
// kept one as a *control.RetainedError, and nothing to do as nil.
func Undo(ctx context.Context, c control.Control, env *control.Env, t control.Target, s control.Step) error {
	u, err := c.Steps().Undo(ctx, c.Info().ID, env, t, s)
	if err != nil {
		return err
	}
	switch u.Verdict {
	case control.Restore, control.Delete:
		if u.Do == nil {
			return fmt.Errorf("%s %s: verdict %s without an undo", c.Info().ID, s.Kind, u.Verdict)
		}
		return u.Do(ctx)
	case control.Keep:
		return &control.RetainedError{Reason: u.What}
	case control.Drifted:
		return &DriftError{What: u.What}
	case control.Already:
		return nil
	}
	return fmt.Errorf("%s %s: unknown verdict %q", c.Info().ID, s.Kind, u.Verdict)
}

// UndoAll undoes every entry newest first, as rollback does, and returns
// the first error that is not a kept step.
func (m *MemJournal) UndoAll(ctx context.Context, c control.Control, env *control.Env, target func(region string) control.Target) error {
	for _, e := range m.Reversed() {
		err := Undo(ctx, c, env, target(e.Region), e.Step)
		var kept *control.RetainedError
		if err != nil && !errors.As(err, &kept) {
			return fmt.Errorf("undo %s in %s: %w", e.Step.Kind, e.Region, err)
		}
	}
	return nil
}
