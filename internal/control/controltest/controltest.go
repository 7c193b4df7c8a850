// Package controltest has test doubles for the control contract.
package controltest

import (
	"context"
	"encoding/json"
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
	mu      sync.Mutex
	Entries []Entry
}

// For returns the control.Journal of one target.
func (m *MemJournal) For(controlID, region string) control.Journal {
	return targetJournal{m, controlID, region}
}

type targetJournal struct {
	m               *MemJournal
	control, region string
}

func (t targetJournal) Write(ctx context.Context, action string, prior any, write func(context.Context) (any, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := json.Marshal(prior)
	if err != nil {
		return err
	}
	t.m.mu.Lock()
	i := len(t.m.Entries)
	t.m.Entries = append(t.m.Entries, Entry{Control: t.control, Region: t.region, Step: control.Step{Action: action, Prior: p}})
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
