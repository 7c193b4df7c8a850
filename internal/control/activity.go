package control

import (
	"context"
	"time"
)

// Activity is one thing an apply has in flight, for live progress on a
// terminal: a write, or a wait a control announces (Waiting).
type Activity struct {
	// Control and Region name the target; the engine fills them.
	Control, Region string
	// What is the activity in words: a write's step kind
	// ("CreateBucket"), or what a wait waits for ("waiting for CIS AWS
	// Foundations Benchmark v5.0.0 to be READY").
	What string
	// Wait marks a wait: the time it has taken so far is worth showing.
	Wait bool
	// Started is when the activity began.
	Started time.Time
}

// Monitor is told when an activity starts, and returns the function to
// call when it ends. It is called from any goroutine.
type Monitor func(Activity) (end func())

type monitorKey struct{}

// WithMonitor returns ctx carrying m: Announce and Waiting under it report
// to m. A nil m leaves ctx as it is.
func WithMonitor(ctx context.Context, m Monitor) context.Context {
	if m == nil {
		return ctx
	}
	return context.WithValue(ctx, monitorKey{}, m)
}

// Announce tells ctx's monitor that a starts (Started defaults to now),
// and returns the function to call when it ends. Without a monitor it
// does nothing: nothing is shown when no one watches (a pipe, -o json).
func Announce(ctx context.Context, a Activity) (end func()) {
	m, _ := ctx.Value(monitorKey{}).(Monitor)
	if m == nil {
		return func() {}
	}
	if a.Started.IsZero() {
		a.Started = time.Now()
	}
	if end := m(a); end != nil {
		return end
	}
	return func() {}
}

// Waiting announces that a control waits, what saying for what in words
// ("waiting for CIS AWS Foundations Benchmark v5.0.0 to be READY"); call
// the returned function when the wait is over. A wait that can take more
// than a few seconds (a resource becoming ready) should say so, so that a
// terminal shows what the apply is doing and for how long.
func Waiting(ctx context.Context, what string) (end func()) {
	return Announce(ctx, Activity{What: what, Wait: true})
}
