package awsclient

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"

	"github.com/harden-dev/harden/internal/awserror"
)

// Pacing: every attempt of every call waits for its (service, region)
// budget, a golang.org/x/time/rate limiter that starts unlimited and
// adapts to AWS's throttling answers, as TCP adapts to a congested link:
// a throttling answer lowers the budget's rate (to 80% of the rate calls
// were sent at, but not below 95% of the rate AWS accepted in the last
// second), and successes raise it again (by half a second). A
// throttled run is thus paced near the rate AWS accepts instead of being
// retried into failure. A limit that all regions share (an account-wide
// quota) is learned as well: every call also waits for its service's
// account-wide budget, which every throttling answer lowers in the same
// way but never below 95% of what AWS accepted from all regions together
// in the last second; with limits per region that is their sum, and the
// account-wide budget stays out of the way.
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
	// sent are the send times of the last second, while unlimited: the
	// rate a first throttling answer lowers.
	sent []time.Time
	// accepted are the times of the last second's successes.
	accepted []time.Time
	// lowered is when the rate was last lowered: answers to calls sent
	// before it were sent at the old rate and lower it no further.
	lowered time.Time
	// raised is when the rate was last raised.
	raised time.Time
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
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.limiter.Limit() == rate.Inf {
		b.sent = append(recent(b.sent, now), now)
	}
	return now, nil
}

// recent drops the times older than a second before now.
func recent(times []time.Time, now time.Time) []time.Time {
	i := 0
	for i < len(times) && now.Sub(times[i]) > time.Second {
		i++
	}
	return times[i:]
}

// throttled lowers the rate after a throttling answer to a call sent at
// sentAt.
func (b *budget) throttled(sentAt time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if sentAt.Before(b.lowered) {
		return
	}
	now := time.Now()
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

// succeeded raises a lowered rate by paceGrowth a second since it was
// last raised or lowered.
func (b *budget) succeeded() {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	b.accepted = append(recent(b.accepted, now), now)
	cur := b.limiter.Limit()
	if cur == rate.Inf {
		return
	}
	elapsed := now.Sub(b.raised).Seconds()
	b.raised = now
	b.limiter.SetLimitAt(now, cur*rate.Limit(1+paceGrowth*elapsed))
}

// limit is the budget's rate now, calls a second (rate.Inf: unlimited).
func (b *budget) limit() rate.Limit { return b.limiter.Limit() }

// middleware paces every attempt: it runs inside the SDK's retry loop, so
// a retried call waits for its budget again.
func (p *pacer) middleware(stack *middleware.Stack) error {
	pace := middleware.FinalizeMiddlewareFunc("HardenPacing",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			service := awsmiddleware.GetServiceID(ctx)
			budgets := []*budget{p.budget(service, awsmiddleware.GetRegion(ctx)), p.budget(service, allRegions)}
			call, _ := ctx.Value(lastAttemptKey{}).(*lastAttempt)
			var sentAt time.Time
			for _, b := range budgets {
				var err error
				if sentAt, err = b.wait(ctx); err != nil {
					return middleware.FinalizeOutput{}, middleware.Metadata{}, err
				}
			}
			out, md, err := next.HandleFinalize(ctx, in)
			if err == nil {
				for _, b := range budgets {
					b.succeeded()
				}
				return out, md, err
			}
			if awserror.IsThrottled(err) {
				budgets[0].throttled(sentAt)
				// A call throttled again although its region lowered its
				// rate after the first answer: the limit is shared.
				if call != nil && call.throttledAgain() {
					budgets[1].throttled(sentAt)
				}
			}
			return out, md, err
		})
	if _, ok := stack.Finalize.Get("Retry"); ok {
		return stack.Finalize.Insert(pace, "Retry", middleware.After)
	}
	return stack.Finalize.Add(pace, middleware.Before)
}

// pacedBackoff retries a throttled attempt almost at once: the pacer makes
// it wait for its budget, which the throttling answer just lowered.
// Other errors back off as next says.
type pacedBackoff struct{ next retry.BackoffDelayer }

func (b pacedBackoff) BackoffDelay(attempt int, err error) (time.Duration, error) {
	if awserror.IsThrottled(err) {
		return time.Duration(rand.Int64N(int64(50 * time.Millisecond))), nil
	}
	return b.next.BackoffDelay(attempt, err)
}
