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
)

// Pacing: every attempt of every call waits for its (service, region)
// budget, a golang.org/x/time/rate limiter that starts unlimited and
// adapts to AWS's throttling answers, as TCP adapts to a congested link:
// a throttling answer lowers the budget's rate (to paceBackoff of the rate
// calls were sent at, but not below paceKeep of the rate AWS accepted in
// the last second), answers to calls sent before the last lowering lower
// it no further, and successes raise it again (by paceGrowth a second).
// Setting the rate straight to the rate AWS accepted in the last second
// was measured and dropped: when a region's calls wait on each other the
// last second's successes undercount AWS's rate, and budgets fell to
// under 1 call a second (apply at 5.0 times the pacing bound).
//
// A throttled attempt is retried by the pacer itself, not by the SDK's
// retryer: it waits for its budget, which the answer just lowered, and
// goes again, with no backoff sleep on top of the budget's wait, until the
// call's overall deadline (Timeouts.Call) ends it. A throttled call thus
// never fails while it has time left, and never outlives its deadline;
// the SDK's attempt count and exponential backoff are left to the other
// retryable errors.
//
// A limit that all regions share (an account-wide quota) is learned as
// well: every call also waits for its service's account-wide budget. It
// is lowered, in the same way, only by a throttling answer to a region
// that paces below paceShared of the most AWS ever accepted from it in a
// second: a region throttled at the top of its own rate meets its own
// limit, one throttled well below what it was once allowed meets a limit
// that other regions take from. (Lowering it on any call throttled twice,
// as before, mistook the per-region budgets' overshoot for a shared limit
// and queued every region behind an account-wide budget of a few calls a
// second.) It never goes below what AWS accepted from all regions together
// in the last second; with limits per region that is their sum.
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
	paceGrowth = 0.5
	// paceFirst is the least rate a first throttling answer lowers from,
	// calls a second: a throttled burst of a few calls says little of the
	// rate AWS allows.
	paceFirst = 5
	// paceWindow is how far back the accepted calls count.
	paceWindow = time.Second
	// paceShared: a region throttled while it paces below this part of
	// the most AWS accepted from it in one paceWindow meets a limit shared
	// with other regions.
	paceShared = 0.8
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
		b = &budget{limiter: rate.NewLimiter(rate.Inf, 1)}
		p.budgets[key] = b
	}
	return b
}

// budget paces the calls of one service in one region.
type budget struct {
	limiter *rate.Limiter
	mu      sync.Mutex
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
}

// wait blocks until the budget lets one more call go and returns when it
// went.
// A wait cut short by ctx ends with ctx's error when ctx ends (not
// earlier, as rate.Limiter.Wait does when the wait would pass ctx's
// deadline), so that the call's deadline reports itself as usual.
func (b *budget) wait(ctx context.Context) (time.Time, error) {
	r := b.limiter.Reserve()
	if delay := r.Delay(); delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			r.Cancel()
			return time.Time{}, ctx.Err()
		}
	}
	now := time.Now()
	b.went(now)
	return now, nil
}

// went records a call let go at now.
func (b *budget) went(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.limiter.Limit() == rate.Inf {
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
	cur := b.limiter.Limit()
	if cur == rate.Inf {
		cur = rate.Limit(max(paceFirst, len(recent(b.sent, now))))
		b.sent = nil
	}
	b.accepted = recent(b.accepted, now)
	next := max(cur*paceBackoff, rate.Limit(len(b.accepted))*paceKeep)
	b.limiter.SetLimitAt(now, max(paceFloor, min(cur, next)))
	b.lowered, b.raised = now, now
}

// succeeded records a success at now and raises a lowered rate by
// paceGrowth a second since it was last raised or lowered.
func (b *budget) succeeded(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.accepted = append(recent(b.accepted, now), now)
	b.peak = max(b.peak, len(b.accepted))
	cur := b.limiter.Limit()
	if cur == rate.Inf {
		return
	}
	elapsed := now.Sub(b.raised).Seconds()
	b.raised = now
	b.limiter.SetLimitAt(now, cur*rate.Limit(1+paceGrowth*elapsed))
}

// belowPeak reports whether the budget paces below paceShared times the
// most calls AWS accepted from it in one paceWindow: a budget throttled
// at such a rate does not meet a limit of its own, but one it shares.
func (b *budget) belowPeak() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.limiter.Limit()
	return cur != rate.Inf && float64(cur) < paceShared*float64(b.peak)
}

// limit is the budget's rate now, calls a second (rate.Inf: unlimited).
func (b *budget) limit() rate.Limit { return b.limiter.Limit() }

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
	_, retryUntilDeadline := ctx.Deadline()
	for attempt := 1; ; attempt++ {
		var sentAt time.Time
		for _, b := range budgets {
			var err error
			if sentAt, err = b.wait(ctx); err != nil {
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
			for _, b := range budgets {
				b.succeeded(now)
			}
			return out, md, err
		}
		if !awserror.IsThrottled(err) {
			return out, md, err
		}
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
