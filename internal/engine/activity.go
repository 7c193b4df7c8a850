package engine

import (
	"context"

	"github.com/harden-dev/harden/internal/control"
)

// monitor returns Run.Activity for one target: it fills in the control and
// region. Nil when no one watches.
func (r *Run) monitor(controlID, region string) control.Monitor {
	if r.Activity == nil {
		return nil
	}
	return func(a control.Activity) func() {
		a.Control, a.Region = controlID, region
		return r.Activity(a)
	}
}

// monitored returns ctx under which a target's control announces its waits
// (control.Waiting) to Run.Activity.
func (r *Run) monitored(ctx context.Context, controlID, region string) context.Context {
	return control.WithMonitor(ctx, r.monitor(controlID, region))
}

// announcing wraps journal so that every write is announced to
// Run.Activity while it is in flight.
func (r *Run) announcing(journal JournalFor) JournalFor {
	if r.Activity == nil {
		return journal
	}
	return func(controlID, region string) control.Journal {
		return announcingJournal{Journal: journal(controlID, region), monitor: r.monitor(controlID, region)}
	}
}

// announcingJournal announces each write, by its step kind, from just
// before it is journaled until it has ended.
type announcingJournal struct {
	control.Journal
	monitor control.Monitor
}

func (j announcingJournal) Write(ctx context.Context, kind control.StepKind, prior, after any, write func(context.Context) (any, error)) error {
	end := control.Announce(control.WithMonitor(ctx, j.monitor), control.Activity{What: string(kind)})
	defer end()
	return j.Journal.Write(ctx, kind, prior, after, write)
}
