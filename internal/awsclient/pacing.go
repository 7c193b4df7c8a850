package awsclient

import (
	"context"
	"fmt"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"golang.org/x/time/rate"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/waitqueue"
)

// Pacing: every attempt of every call waits for its (service, region)
// budget, which starts unlimited and adapts to AWS's throttling answers,
// as TCP adapts to a congested link: a throttling answer lowers the
// budget's rate (to paceBackoff of the rate calls were sent at, but not
// below paceKeep of the rate AWS accepted in the last second), answers to
// calls sent before the last lowering lower it no further, and successes
// raise it again by paceGrowth a second, but only successes of calls that
// had to wait for the budget: a budget that held no call back has not
// tried its rate and has no reason to raise it. (Growing on every success
// at 0.5 a second took a lightly used region from 3 to 18 calls a second,
// far over its limit of 5, and each return to the region's real rate cost
// a burst of throttling answers.) Setting the rate straight to the rate AWS
// accepted in the last second was measured and dropped: when a region's
// calls wait on each other the last second's successes undercount AWS's
// rate, and budgets fell to under 1 call a second (apply at 5.0 times the
// pacing bound).
//
// A budget lets calls go oldest first: each call keeps, for all its
// attempts, the time it first asked, and a throttled attempt that asks
// again goes before the calls that came after it. (A golang.org/x/time/rate
// limiter, used before, serves callers in the order they ask; a throttled
// call went to the back of the queue, and with many calls queued at 5 a
// second some calls waited behind the whole queue once per throttled
// attempt and ended at their 60 s deadline.) The budget is thus its own
// small queue; rate.Limit is kept as the rate's type.
//
// A throttled attempt is retried by the pacer itself, not by the SDK's
// retryer: it waits for its budget, which the answer just lowered, and
// goes again, with no backoff sleep on top of the budget's wait, until the
// call's deadline (Timeouts.Call) ends it. A throttled call thus never
// fails while it has time left; the SDK's attempt count and exponential
// backoff are left to the other retryable errors.
//
// Time queued behind calls that AWS answers does not run a call's
// deadline down; time on the wire, in backoff and in a queue without a
// success does (see callContext and budget.wait). Measured with a trace of
// BenchmarkThrottledApplyShared on 5c2441b (one 5 calls/s EC2 limit for
// all regions, 256 targets at once, about 780 EC2 calls, bound 155 s): the
// account-wide EC2 budget paced at 4 to 7 calls a second (AWS accepted 3
// to 5 each second) while up to 181 calls queued for it, so the last calls
// of each burst waited 36 s or more in harden's own queue even when paced
// exactly at the limit; 391 calls took over 20 s, the slowest 59.7 s, of
// which 50 to 57.5 s queued for the account-wide budget and under 0.2 s on
// the wire. A 60 s deadline counting that wait failed 3 to 4 targets
// (default-vpc, default-security-group, vpc-flow-logs) in some runs and
// none in others, by how deep the queue grew. A queue that lets calls
// through to AWS's answers is moving, not hung; one with no success for a
// call's whole time left still ends it, and Ctrl-C ends every wait at
// once.
//
// An account-wide budget grows at paceGrowth only up to paceCalm of the
// rate at which AWS last throttled it (its ceiling), and above that at
// paceCalmGrowth of paceGrowth: against a limit with little burst, a pace
// a little over the limit gets about every other call refused and the
// refused calls take the budget's turns, so probing up at full speed kept
// AWS accepting 3.4 calls a second on average from a 5 calls/s shared
// limit while calls queued for it (trace on 5c2441b, 68% of the limit).
// With the ceiling: 1.32 times the pacing bound instead of 1.46, and
// about 30% fewer throttling answers. Region budgets keep growing at
// full speed: with a shared limit they take throttling answers caused by
// other regions, and held under such a ceiling they stayed low, so that
// calls waited for retries without a success until their deadline
// (config-recorder failed in 2 regions of 18 in a run with the ceiling on
// every budget).
//
// A limit that all regions share (an account-wide quota) is learned as
// well: every call also waits for its service's account-wide budget. It
// is lowered, in the same way, only by a throttling answer to a region
// that paces below paceBelowPeak of the most AWS ever accepted from it in
// a second: a region throttled at the top of its own rate meets its own
// limit, one throttled well below what it was once allowed meets a limit
// that other regions take from. (Lowering it on any call throttled twice
// mistook the per-region budgets' overshoot for a shared limit and queued
// every region behind an account-wide budget of a few calls a second.) It
// never goes below what AWS accepted from all regions together in the last
// second; with limits per region that is their sum.
//
// Tried and dropped, measured with BenchmarkThrottledApply and
// BenchmarkThrottledApplyShared: telling a shared limit by several regions
// throttled in one second while AWS refused most of what they sent, then
// setting the account-wide rate to what all regions had accepted, and
// letting throttling answers to calls that waited for the account-wide
// budget lower it. Against fakeaws's limits (burst 1) calls paced close to
// a region's limit are refused often enough to look shared; the
// account-wide budget was then lowered by per-region answers down to 4
// calls a second and the per-region apply took 10.9 to 12.1 times its
// pacing bound in five runs of six (with a shared limit: 0 failures, 1.3
// times the bound).
//
// Also dropped: a throttling answer that shows a shared limit lowering the
// account-wide budget only, not the region's. A region whose pace was
// below its peak after its first burst then sent every answer to the
// account-wide budget, and the per-region apply took 3.5 times its bound
// in one run of two.
//
// The SDK's adaptive retry mode was not taken: the SDK labels it
// experimental, it keeps one budget per client that cannot be observed
// or tested here, and its token bucket also fails calls outright when
// empty (FailOnNoAttemptTokens) rather than waiting.
const (
	// paceBackoff is the most a budget lowers its rate on one throttling
	// answer: the new rate is paceBackoff times the old one.
	paceBackoff = 0.8
	// paceKeep is the part of the rate AWS accepted in the last second
	// that a throttling answer keeps.
	paceKeep = 0.95
	// paceGrowth is how much a budget raises its rate per second of
	// successes.
	paceGrowth = 0.2
	// paceCalm: a budget grows at paceGrowth up to paceCalm times the
	// rate AWS last throttled it at, and above that at paceCalmGrowth
	// times paceGrowth.
	paceCalm       = 0.9
	paceCalmGrowth = 0.1
	// paceFirst is the least rate a first throttling answer lowers from,
	// calls a second: a throttled burst of a few calls says little of the
	// rate AWS allows.
	paceFirst = 5
	// paceWindow is how far back the accepted calls count.
	paceWindow = time.Second
	// paceBelowPeak: a region throttled while it paces below this part of
	// the most AWS accepted from it in one paceWindow meets a limit shared
	// with other regions.
	paceBelowPeak = 0.8
	// paceFloor is the lowest rate a budget goes down to, calls a second:
	// low enough for 20 regions to share an account-wide limit of 2.
	paceFloor = 0.1
)

// allRegions names a service's account-wide budget.
const allRegions = "*"

// pacer holds one budget per service and region, and one per service for
// all regions.
type pacer struct {
	mu      sync.Mutex
	budgets map[string]*budget
}

func newPacer() *pacer { return &pacer{budgets: map[string]*budget{}} }

// budget returns the budget of service in region, made on first use.
func (p *pacer) budget(service, region string) *budget {
	key := service + "/" + region
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.budgets[key]
	if !ok {
		b = &budget{rate: rate.Inf, now: time.Now, allRegions: region == allRegions}
		p.budgets[key] = b
	}
	return b
}

// budget paces the calls of one service in one region.
type budget struct {
	mu sync.Mutex
	// rate is the calls a second the budget lets go (rate.Inf: all).
	rate rate.Limit
	// last is when the budget last let a call go.
	last time.Time
	// queue holds the calls waiting, the oldest call first.
	queue *waitqueue.Queue[*waiter]
	seq   uint64
	timer *time.Timer
	// now is the clock (tests set their own).
	now func() time.Time
	// sent are the send times of the last paceWindow, while unlimited: a
	// first throttling answer with no success to measure halves their rate.
	sent []time.Time
	// accepted are the times of the last paceWindow's successes.
	accepted []time.Time
	// lowered is when the rate was last lowered: answers to calls sent
	// before it were sent at the old rate and lower it no further.
	lowered time.Time
	// raised is when the rate was last raised.
	raised time.Time
	// peak is the most calls AWS accepted in one paceWindow.
	peak int
	// allRegions: the budget is a service's account-wide one.
	allRegions bool
	// ceiling is the rate a throttling answer last came at (0: none).
	ceiling rate.Limit
	// progress is the time of the budget's last success.
	progress time.Time
}

// wait blocks until the budget lets one more call go, and returns when it
// went and whether it had to wait. Calls go in the order of since, the
// time each call first asked: a throttled call that asks again goes before
// the calls that came after it, so that no call waits behind the queue
// once for each of its throttled attempts.
//
// The call's clock (nil: none) stops while it waits, and goes on from the
// budget's last success since the call began to wait: time queued behind
// calls that AWS answers does not run the call's deadline down, time
// without a success does. A wait whose budget has no success for the rest
// of the call's time ends the call (context.DeadlineExceeded). ctx's end
// (Ctrl-C) ends the wait at once.
func (b *budget) wait(ctx context.Context, since time.Time, clock *callContext) (sent time.Time, waited bool, err error) {
	b.mu.Lock()
	w := b.enqueue(since)
	began := b.now()
	b.dispatch(began)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return w.went, w.waited, nil
	default:
	}
	if clock != nil {
		return b.waitPaused(ctx, w, began, clock)
	}
	select {
	case <-w.ready:
		return w.went, w.waited, nil
	case <-ctx.Done():
		return b.leave(w, ctx.Err())
	}
}

// waitPaused waits for w with the call's clock stopped, and goes on with
// it from the budget's last progress when the wait ends.
func (b *budget) waitPaused(ctx context.Context, w *waiter, began time.Time, clock *callContext) (time.Time, bool, error) {
	left := clock.pause(began)
	stall := time.NewTimer(left)
	defer stall.Stop()
	// resume starts the clock again from the budget's last success while
	// the call waited: the time since then had no progress and counts.
	resume := func() {
		b.mu.Lock()
		from := b.progressSince(began)
		b.mu.Unlock()
		clock.resume(from)
	}
	for {
		select {
		case <-w.ready:
			resume()
			return w.went, w.waited, nil
		case <-ctx.Done():
			// Ctrl-C, or the run's end: the wait ends at once.
			return b.leave(w, ctx.Err())
		case <-stall.C:
			b.mu.Lock()
			from := b.progressSince(began)
			rest := from.Add(left).Sub(b.now())
			if rest > 0 {
				// AWS answered a call of this budget since the timer was
				// set: the queue moves, the wait goes on.
				b.mu.Unlock()
				stall.Reset(rest)
				continue
			}
			b.queue.Remove(w.entry)
			b.mu.Unlock()
			// No success for the call's whole time left: the queue does
			// not move, and the clock, going on from the last progress,
			// ends the call.
			clock.resume(from)
			return time.Time{}, false, context.DeadlineExceeded
		}
	}
}

// leave takes a waiting call out of the queue after err ended its wait.
// A call let go just as its wait ended has spent its slot and is not
// sent either.
func (b *budget) leave(w *waiter, err error) (time.Time, bool, error) {
	b.mu.Lock()
	b.queue.Remove(w.entry)
	b.mu.Unlock()
	return time.Time{}, false, err
}

// progressSince is the later of began and the budget's last success: the
// time from which a call waiting since began has seen no progress. b.mu
// is held.
func (b *budget) progressSince(began time.Time) time.Time {
	if b.progress.After(began) {
		return b.progress
	}
	return began
}

// enqueue adds a call that first asked at since. b.mu is held.
func (b *budget) enqueue(since time.Time) *waiter {
	if b.queue == nil {
		b.queue = waitqueue.New(func(a, b *waiter) bool {
			if !a.since.Equal(b.since) {
				return a.since.Before(b.since)
			}
			return a.seq < b.seq
		})
	}
	w := &waiter{since: since, seq: b.seq, ready: make(chan struct{})}
	b.seq++
	w.entry = b.queue.Push(w)
	return w
}

// dispatch lets go the calls whose turn has come at now, and sets a timer
// for the next one. b.mu is held.
func (b *budget) dispatch(now time.Time) {
	for b.queue != nil && b.queue.Len() > 0 {
		if b.rate != rate.Inf {
			next := b.last.Add(time.Duration(float64(time.Second) / float64(b.rate)))
			if now.Before(next) {
				b.queue.Head().Value.waited = true
				if b.timer == nil {
					b.timer = time.AfterFunc(next.Sub(now), b.tick)
				} else {
					b.timer.Reset(next.Sub(now))
				}
				return
			}
		}
		w := b.queue.Pop().Value
		b.last, w.went = now, now
		b.went(now)
		close(w.ready)
	}
}

func (b *budget) tick() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dispatch(b.now())
}

// setRate changes the rate at now. b.mu is held.
func (b *budget) setRate(now time.Time, r rate.Limit) {
	b.rate = r
	b.dispatch(now)
}

// waiter is a call waiting for its budget.
type waiter struct {
	since  time.Time
	seq    uint64
	entry  *waitqueue.Entry[*waiter]
	ready  chan struct{}
	went   time.Time
	waited bool
}

// went records a call let go at now. b.mu is held.
func (b *budget) went(now time.Time) {
	if b.rate == rate.Inf {
		b.sent = append(recent(b.sent, now), now)
	}
}

// recent drops the times older than paceWindow before now.
func recent(times []time.Time, now time.Time) []time.Time {
	i := 0
	for i < len(times) && now.Sub(times[i]) > paceWindow {
		i++
	}
	return times[i:]
}

// throttled lowers the rate after a throttling answer, at now, to a call
// sent at sentAt.
func (b *budget) throttled(sentAt, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if sentAt.Before(b.lowered) {
		return
	}
	cur := b.rate
	if cur == rate.Inf {
		cur = rate.Limit(max(paceFirst, len(recent(b.sent, now))))
		b.sent = nil
	}
	b.accepted = recent(b.accepted, now)
	next := max(cur*paceBackoff, rate.Limit(len(b.accepted))*paceKeep)
	b.setRate(now, max(paceFloor, min(cur, next)))
	b.ceiling = cur
	b.lowered, b.raised = now, now
}

// succeeded records a success at now. If the call waited for this budget
// (waited), the budget held calls back and it raises its rate by
// paceGrowth a second since it was last raised or lowered; a budget that
// held no call back has no reason to grow (its rate was not tried).
func (b *budget) succeeded(now time.Time, waited bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.accepted = append(recent(b.accepted, now), now)
	b.progress = now
	b.peak = max(b.peak, len(b.accepted))
	cur := b.rate
	elapsed := now.Sub(b.raised).Seconds()
	b.raised = now
	if cur == rate.Inf || !waited {
		return
	}
	next := cur * rate.Limit(1+paceGrowth*elapsed)
	if b.allRegions && b.ceiling > 0 {
		calm := b.ceiling * paceCalm
		if cur >= calm {
			next = cur * rate.Limit(1+paceGrowth*paceCalmGrowth*elapsed)
		} else {
			next = min(next, calm)
		}
	}
	b.setRate(now, next)
}

// belowPeak reports whether the budget paces below paceBelowPeak times the
// most calls AWS accepted from it in one paceWindow: a budget throttled at
// such a rate does not meet a limit of its own, but one it shares.
func (b *budget) belowPeak() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rate != rate.Inf && float64(b.rate) < paceBelowPeak*float64(b.peak)
}

// limit is the budget's rate now, calls a second (rate.Inf: unlimited).
func (b *budget) limit() rate.Limit {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rate
}

// middleware paces every attempt and retries throttled ones until the
// call's deadline. It runs inside the SDK's retry loop, so the SDK's
// retries of other errors wait for their budget as well.
func (p *pacer) middleware(stack *middleware.Stack) error {
	pace := middleware.FinalizeMiddlewareFunc("HardenPacing", p.handle)
	if _, ok := stack.Finalize.Get("Retry"); ok {
		return stack.Finalize.Insert(pace, "Retry", middleware.After)
	}
	return stack.Finalize.Add(pace, middleware.Before)
}

func (p *pacer) handle(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	service, region := awsmiddleware.GetServiceID(ctx), awsmiddleware.GetRegion(ctx)
	budgets := []*budget{p.budget(service, region), p.budget(service, allRegions)}
	clock := callClock(ctx)
	_, hasDeadline := ctx.Deadline()
	retryUntilDeadline := hasDeadline || clock != nil
	since := time.Now()
	// lastThrottle is the last throttling answer, with its output: when
	// the deadline ends while a retry waits for its turn, the call ends
	// with that answer (AWS kept refusing it), not with a bare deadline.
	var lastThrottle struct{ err error }
	for attempt := 1; ; attempt++ {
		var sentAt time.Time
		var waited [2]bool
		for i, b := range budgets {
			var err error
			if sentAt, waited[i], err = b.wait(ctx, since, clock); err != nil {
				switch {
				case lastThrottle.err != nil:
					// AWS kept refusing it: that is the call's answer.
					err = &PacedError{Service: service, Region: region, Err: lastThrottle.err}
				case b.limit() != rate.Inf:
					// Never sent: its turn in a budget that AWS's throttling
					// slowed down did not come before the deadline.
					err = &PacedError{Service: service, Region: region, Err: err}
				}
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
		}
		try := in
		if attempt > 1 {
			// Each attempt sends its own copy of the request, as the SDK's
			// retry loop does: signing and the transport change it.
			if req, ok := in.Request.(*smithyhttp.Request); ok {
				req = req.Clone()
				if err := req.RewindStream(); err != nil {
					return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("rewind request to retry it after throttling: %w", err)
				}
				try.Request = req
			}
		}
		out, md, err := next.HandleFinalize(ctx, try)
		now := time.Now()
		if err == nil {
			for i, b := range budgets {
				b.succeeded(now, waited[i])
			}
			return out, md, err
		}
		if !awserror.IsThrottled(err) {
			return out, md, err
		}
		lastThrottle.err = err
		// The budget that set the pace takes the answer: the account-wide
		// one if the call waited for it, else the region's, unless the
		// answers show a limit all regions share.
		shared := budgets[0].belowPeak()
		budgets[0].throttled(sentAt, now)
		if shared {
			budgets[1].throttled(sentAt, now)
		}
		if !retryUntilDeadline || ctx.Err() != nil {
			// Without a deadline of its own the call is left to the SDK's
			// retryer and its attempt count.
			return out, md, err
		}
	}
}

// PacedError is a call whose deadline ended while it waited for its turn
// in a budget slowed down by throttling answers: after AWS's last
// throttling answer to it (Err), or before it was ever sent (Err is the
// deadline). It counts as throttled (awserror.IsThrottled), and the SDK's
// retryer does not retry it: the call's time is up.
type PacedError struct {
	Service, Region string
	Err             error
}

func (e *PacedError) Error() string {
	return fmt.Sprintf("%s in %s: throttled: still waiting for its turn in the paced budget at the call's deadline: %v", e.Service, e.Region, e.Err)
}

func (e *PacedError) Unwrap() error { return e.Err }

// Throttled marks the error as throttling for awserror.IsThrottled.
func (e *PacedError) Throttled() bool { return true }
