package awsclient

import (
	"context"
	"sync"
	"time"
)

// callContext is the context of one AWS call, retries included. It ends
// when its parent ends (Ctrl-C: at once, with the parent's error) or when
// the call's clock runs out (context.DeadlineExceeded).
//
// The clock bounds a call's time on the wire, in backoff and without
// progress, but not its time in a budget's queue while that queue keeps
// serving calls: with hundreds of calls queued for an account-wide limit
// of a few calls a second, a call waits longer than its deadline behind
// calls that AWS answers one after another, and such a call is not hung.
// So the clock stops while the call waits for a budget (pause) and goes
// on when the budget lets it go (resume), from the budget's last success
// while the call waited: the time since then was time without progress
// and counts. A waiting call whose budget has no success for the rest of
// its time ends there (see budget.wait).
type callContext struct {
	parent context.Context
	done   chan struct{}
	// unwatch stops watching the parent.
	unwatch func() bool

	mu  sync.Mutex
	err error
	// end is when the clock runs out, while it runs.
	end time.Time
	// left is the time left, while the clock is paused.
	left   time.Duration
	paused bool
	timer  *time.Timer
}

// callContextKey finds a call's callContext among ctx's values.
type callContextKey struct{}

// newCallContext starts a call's clock of limit.
func newCallContext(parent context.Context, limit time.Duration) *callContext {
	c := &callContext{parent: parent, done: make(chan struct{}), end: time.Now().Add(limit)}
	c.mu.Lock()
	c.timer = time.AfterFunc(limit, c.tick)
	c.mu.Unlock()
	c.unwatch = context.AfterFunc(parent, func() { c.finish(parent.Err()) })
	return c
}

// callClock returns the clock of the call ctx belongs to, or nil.
func callClock(ctx context.Context) *callContext {
	c, _ := ctx.Value(callContextKey{}).(*callContext)
	return c
}

func (c *callContext) Deadline() (time.Time, bool) { return c.parent.Deadline() }
func (c *callContext) Done() <-chan struct{}       { return c.done }

func (c *callContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *callContext) Value(key any) any {
	if key == (callContextKey{}) {
		return c
	}
	return c.parent.Value(key)
}

// tick ends the call if its clock has run out (a timer may fire late,
// after a pause or a resume moved the end).
func (c *callContext) tick() {
	c.mu.Lock()
	out := !c.paused && !time.Now().Before(c.end)
	c.mu.Unlock()
	if out {
		c.finish(context.DeadlineExceeded)
	}
}

// finish ends the context with err, once.
func (c *callContext) finish(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = err
	c.timer.Stop()
	close(c.done)
}

// release ends the context when its call returns.
func (c *callContext) release() {
	c.unwatch()
	c.finish(context.Canceled)
}

// pause stops the clock at now and returns the time left.
func (c *callContext) pause(now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.paused {
		c.paused = true
		c.left = max(0, c.end.Sub(now))
		c.timer.Stop()
	}
	return c.left
}

// resume starts the clock again as if it had gone on from from, and ends
// the call if that leaves it no time.
func (c *callContext) resume(from time.Time) {
	c.mu.Lock()
	if !c.paused {
		c.mu.Unlock()
		return
	}
	c.paused = false
	c.end = from.Add(c.left)
	d := time.Until(c.end)
	if d > 0 && c.err == nil {
		c.timer.Reset(d)
	}
	c.mu.Unlock()
	if d <= 0 {
		c.finish(context.DeadlineExceeded)
	}
}
