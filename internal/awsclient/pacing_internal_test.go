package awsclient

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"

	"github.com/harden-dev/harden/internal/awserror"
)

// t0 is the fake clock's start: budgets take the time as an argument.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func TestBudgetLowersOnceForCallsSentTogether(t *testing.T) {
	b := newPacer().budget("EC2", "eu-west-1")
	if b.limit() != rate.Inf {
		t.Fatalf("a new budget is limited: %v", b.limit())
	}
	b.throttled(at(0), at(10))
	first := b.limit()
	if first != paceFirst*paceBackoff {
		t.Fatalf("first throttling answer: rate %v, want %v", first, paceFirst*paceBackoff)
	}
	// Another answer to a call sent before the rate was lowered says
	// nothing new.
	b.throttled(at(5), at(20))
	if b.limit() != first {
		t.Fatalf("an answer to a call sent at the old rate lowered it again: %v", b.limit())
	}
	b.throttled(at(30), at(40))
	if b.limit() >= first {
		t.Fatalf("a call sent at the lowered rate was throttled: rate %v, want below %v", b.limit(), first)
	}
}

func TestBudgetRisesWithSuccessesAndKeepsTheAcceptedRate(t *testing.T) {
	b := newPacer().budget("Config", "eu-west-1")
	b.throttled(at(0), at(0))
	low := b.limit()
	b.succeeded(at(20), true)
	if b.limit() <= low {
		t.Fatalf("a success did not raise the rate: %v", b.limit())
	}
	for i := range 10 {
		b.succeeded(at(30+i), true)
	}
	before := b.limit()
	b.throttled(at(50), at(50))
	if b.limit() != before {
		t.Fatalf("AWS accepted 11 calls in the last second at %v a second, yet a throttling answer lowered the rate to %v", before, b.limit())
	}
	// A second later those successes no longer count.
	b.throttled(at(1200), at(1200))
	if b.limit() != before*paceBackoff {
		t.Fatalf("rate %v, want %v", b.limit(), before*paceBackoff)
	}
}

func TestBudgetFloor(t *testing.T) {
	b := newPacer().budget("EC2", "eu-west-1")
	for i := range 50 {
		b.throttled(at(i), at(i))
	}
	if b.limit() != paceFloor {
		t.Fatalf("rate %v, want the floor %v", b.limit(), paceFloor)
	}
}

func TestBudgetGrowsOnlyWhenItHeldCallsBack(t *testing.T) {
	b := newPacer().budget("Config", "eu-west-1")
	b.throttled(at(0), at(0))
	low := b.limit()
	b.succeeded(at(500), false)
	if b.limit() != low {
		t.Fatalf("a success of a call that did not wait raised the rate from %v to %v", low, b.limit())
	}
	b.succeeded(at(1000), true)
	if b.limit() <= low {
		t.Fatalf("a success of a call that waited did not raise the rate: %v", b.limit())
	}
}

// A throttled call asks again with the time it first asked, and goes
// before the calls that came after it.
func TestBudgetLetsTheOldestCallGoFirst(t *testing.T) {
	b := newPacer().budget("EC2", "eu-west-1")
	released := func(w *waiter) bool {
		select {
		case <-w.ready:
			return true
		default:
			return false
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	clock := at(0)
	// The budget's timer reads the clock with b.mu held, as this test does.
	b.now = func() time.Time { return clock }
	b.setRate(at(0), 1)
	first := b.enqueue(at(0))
	b.dispatch(at(0))
	if !released(first) || first.waited {
		t.Fatalf("the first call at 1 a second waited (released %v)", released(first))
	}
	late := b.enqueue(at(100))
	retried := b.enqueue(at(50))
	clock = at(500)
	b.dispatch(clock)
	if released(late) || released(retried) {
		t.Fatal("a call went half a second after the last at 1 a second")
	}
	clock = at(1000)
	b.dispatch(clock)
	if !released(retried) || released(late) || !retried.waited {
		t.Fatalf("at 1 s: the call that first asked at 50 ms went %v (waited %v), the one at 100 ms went %v",
			released(retried), retried.waited, released(late))
	}
	clock = at(2000)
	b.dispatch(clock)
	if !released(late) {
		t.Fatal("at 2 s the last call has not gone")
	}
}

// A budget throttled while it paces well below what AWS once accepted
// from it meets a limit it shares; throttled at the top of its own rate,
// it meets its own.
func TestBudgetBelowPeak(t *testing.T) {
	b := newPacer().budget("EC2", "eu-west-1")
	if b.belowPeak() {
		t.Fatal("an unlimited budget is below its peak")
	}
	for i := range 5 {
		b.succeeded(at(i*100), false)
	}
	b.throttled(at(500), at(500))
	if b.belowPeak() {
		t.Fatalf("rate %v after AWS accepted 5 calls in a second: not below the peak", b.limit())
	}
	// A second later, with nothing accepted since.
	for i := range 10 {
		b.throttled(at(1500+i), at(1500+i))
	}
	if !b.belowPeak() {
		t.Fatalf("rate %v, peak 5 a second: below the peak", b.limit())
	}
}

// A throttling answer to a region at the top of its rate lowers the region's
// budget and leaves the account-wide one unlimited.
func TestPacerLowersTheRegionsBudget(t *testing.T) {
	p := newPacer()
	sends := 0
	next := middleware.FinalizeHandlerFunc(func(ctx context.Context, in middleware.FinalizeInput) (middleware.FinalizeOutput, middleware.Metadata, error) {
		sends++
		if sends == 1 {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, throttlingAnswer
		}
		return middleware.FinalizeOutput{Result: "ok"}, middleware.Metadata{}, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, _, err := p.handle(ctx, middleware.FinalizeInput{}, next); err != nil {
		t.Fatal(err)
	}
	// The test's context names no service or region.
	if r := p.budget("", "").limit(); r == rate.Inf {
		t.Fatal("the region's budget is unlimited after a throttling answer")
	}
	if r := p.budget("", allRegions).limit(); r != rate.Inf {
		t.Fatalf("the account-wide budget is limited to %v after one region's throttling answer", r)
	}
}

// throttlingAnswer is EC2's throttling error as the SDK reports it.
var throttlingAnswer = &smithy.GenericAPIError{Code: "RequestLimitExceeded", Message: "Request limit exceeded."}

// keepWaitsShort sets every budget of p to 1000 calls a second, for tests
// about retries rather than rates.
func keepWaitsShort(p *pacer) {
	for _, b := range p.budgets {
		b.mu.Lock()
		b.setRate(time.Now(), 1000)
		b.mu.Unlock()
	}
}

// The pacer retries a throttled attempt itself, with no attempt count,
// until the call succeeds or its deadline ends it.
func TestPacerRetriesThrottlingUntilSuccess(t *testing.T) {
	if !awserror.IsThrottled(throttlingAnswer) {
		t.Fatal("the test's throttling answer is not one")
	}
	p := newPacer()
	sends := 0
	next := middleware.FinalizeHandlerFunc(func(ctx context.Context, in middleware.FinalizeInput) (middleware.FinalizeOutput, middleware.Metadata, error) {
		sends++
		// This test is about the retries, not the rates.
		keepWaitsShort(p)
		if sends <= 12 {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, throttlingAnswer
		}
		return middleware.FinalizeOutput{Result: "ok"}, middleware.Metadata{}, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, _, err := p.handle(ctx, middleware.FinalizeInput{}, next)
	if err != nil || out.Result != "ok" || sends != 13 {
		t.Fatalf("12 throttling answers then success: result %v, error %v after %d sends", out.Result, err, sends)
	}
}

func TestPacerStopsAtTheDeadline(t *testing.T) {
	p := newPacer()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sends := 0
	next := middleware.FinalizeHandlerFunc(func(ctx context.Context, in middleware.FinalizeInput) (middleware.FinalizeOutput, middleware.Metadata, error) {
		sends++
		keepWaitsShort(p)
		if sends == 3 {
			cancel()
		}
		return middleware.FinalizeOutput{}, middleware.Metadata{}, throttlingAnswer
	})
	_, _, err := p.handle(ctx, middleware.FinalizeInput{}, next)
	if err == nil || sends != 3 {
		t.Fatalf("call ended during its third attempt: error %v after %d sends", err, sends)
	}
}

// Without a deadline of its own, a throttled attempt goes back to the SDK's
// retryer and its attempt count.
func TestPacerLeavesCallsWithoutDeadlineToTheRetryer(t *testing.T) {
	p := newPacer()
	sends := 0
	next := middleware.FinalizeHandlerFunc(func(ctx context.Context, in middleware.FinalizeInput) (middleware.FinalizeOutput, middleware.Metadata, error) {
		sends++
		return middleware.FinalizeOutput{}, middleware.Metadata{}, throttlingAnswer
	})
	_, _, err := p.handle(context.Background(), middleware.FinalizeInput{}, next)
	if !awserror.IsThrottled(err) || sends != 1 {
		t.Fatalf("error %v after %d sends, want the throttling answer after 1", err, sends)
	}
}

// paced runs n calls through p at once, each with its own call clock of
// limit, and returns each call's error and duration. send answers each
// attempt; the call's index is in its context.
func paced(p *pacer, parent context.Context, n int, limit time.Duration, send func(ctx context.Context, call int) error) ([]error, []time.Duration) {
	errs, took, _ := pacedAt(p, parent, n, limit, send)
	return errs, took
}

// pacedAt is paced, and also returns when each call ended.
func pacedAt(p *pacer, parent context.Context, n int, limit time.Duration, send func(ctx context.Context, call int) error) ([]error, []time.Duration, []time.Time) {
	errs, took, ended := make([]error, n), make([]time.Duration, n), make([]time.Time, n)
	done := make(chan struct{})
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			start := time.Now()
			call := newCallContext(parent, limit)
			defer call.release()
			ctx := context.WithValue(call, callIndexKey{}, i)
			next := middleware.FinalizeHandlerFunc(func(ctx context.Context, in middleware.FinalizeInput) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if err := send(ctx, i); err != nil {
					return middleware.FinalizeOutput{}, middleware.Metadata{}, err
				}
				return middleware.FinalizeOutput{Result: "ok"}, middleware.Metadata{}, nil
			})
			_, _, errs[i] = p.handle(ctx, middleware.FinalizeInput{}, next)
			took[i] = time.Since(start)
			ended[i] = time.Now()
			if errs[i] != nil && call.Err() == context.DeadlineExceeded {
				// As callDeadline reports it.
				errs[i] = &CallTimeoutError{After: limit, Err: errs[i]}
			}
		}()
		// Calls queue in the order they are started.
		time.Sleep(time.Millisecond)
	}
	for range n {
		<-done
	}
	return errs, took, ended
}

type callIndexKey struct{}

// limitedPacer is a pacer whose (test) region budget lets r calls a second go.
func limitedPacer(r rate.Limit) *pacer {
	p := newPacer()
	b := p.budget("", "")
	b.mu.Lock()
	b.setRate(time.Now(), r)
	b.mu.Unlock()
	return p
}

// A call queued behind calls that AWS answers one after another waits
// longer than its deadline, and is not ended by it: the queue moves.
func TestPacedCallOutlivesItsDeadlineInAMovingQueue(t *testing.T) {
	p := limitedPacer(20)
	const limit = 150 * time.Millisecond
	errs, took := paced(p, context.Background(), 12, limit, func(context.Context, int) error { return nil })
	longest := time.Duration(0)
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d after %s: %v", i, took[i], err)
		}
		longest = max(longest, took[i])
	}
	// 12 calls at 20 a second: the last waits about 550 ms.
	if longest < 3*limit {
		t.Fatalf("the last call took %s: the test did not queue calls past their deadline of %s", longest, limit)
	}
}

// A queue that lets no call through to a success ends the calls waiting in
// it within their deadline.
func TestPacedCallEndsInAStalledQueue(t *testing.T) {
	p := limitedPacer(paceFloor) // one call every 10 s
	const limit = 300 * time.Millisecond
	// The first call goes at once and hangs on the wire until its clock
	// ends it; the second waits for a turn 10 s away, with no success.
	errs, took := paced(p, context.Background(), 2, limit, func(ctx context.Context, _ int) error {
		<-ctx.Done()
		return ctx.Err()
	})
	for i, err := range errs {
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("call %d: %v, want its deadline", i, err)
		}
		if took[i] < limit-20*time.Millisecond || took[i] > 3*limit {
			t.Errorf("call %d took %s, want about its deadline of %s", i, took[i], limit)
		}
	}
}

// Ctrl-C ends every wait at once, with context.Canceled, not a deadline.
func TestPacedWaitsEndAtOnceOnInterrupt(t *testing.T) {
	p := limitedPacer(2)
	parent, interrupt := context.WithCancel(context.Background())
	var interrupted time.Time
	time.AfterFunc(100*time.Millisecond, func() {
		interrupted = time.Now()
		interrupt()
	})
	errs, _, ended := pacedAt(p, parent, 10, time.Minute, func(ctx context.Context, _ int) error { return nil })
	waited := 0
	for i, err := range errs {
		if err == nil {
			if ended[i].After(interrupted) {
				t.Errorf("call %d succeeded after the interrupt", i)
			}
			continue
		}
		waited++
		if !errors.Is(err, context.Canceled) || ended[i].Sub(interrupted) > 300*time.Millisecond {
			t.Errorf("call %d: %v %s after the interrupt, want context.Canceled at once", i, err, ended[i].Sub(interrupted))
		}
	}
	// At 2 calls a second, one call goes in the first 100 ms.
	if waited < 5 {
		t.Fatalf("only %d calls were waiting at the interrupt", waited)
	}
}

// The run ends: when AWS throttles every call, no call's wait counts as
// progress, and all calls end within about their deadline, not one
// deadline after another.
func TestPacedCallsEndWhenAWSThrottlesEverything(t *testing.T) {
	p := limitedPacer(50)
	const limit = 300 * time.Millisecond
	errs, took := paced(p, context.Background(), 20, limit, func(context.Context, int) error { return throttlingAnswer })
	for i, err := range errs {
		var te *CallTimeoutError
		if !awserror.IsThrottled(err) || !errors.As(err, &te) {
			t.Errorf("call %d: %v, want throttled at its deadline", i, err)
		}
		if took[i] > 4*limit {
			t.Errorf("call %d took %s, want about its deadline of %s", i, took[i], limit)
		}
	}
}

// The run ends: a call that AWS keeps refusing while it would answer the
// others ends within about its deadline. It goes first each time (oldest
// first), so its budget has no success meanwhile: the calls behind it
// have no progress either and end at their deadline too, not one
// deadline after another.
func TestPacedCallThrottledAloneEnds(t *testing.T) {
	p := limitedPacer(50)
	const limit = 300 * time.Millisecond
	errs, took := paced(p, context.Background(), 20, limit, func(ctx context.Context, call int) error {
		if call == 0 {
			return throttlingAnswer
		}
		return nil
	})
	var te *CallTimeoutError
	if !awserror.IsThrottled(errs[0]) || !errors.As(errs[0], &te) {
		t.Errorf("the refused call: %v, want throttled at its deadline", errs[0])
	}
	for i, err := range errs {
		if err != nil && !errors.As(err, &te) {
			t.Errorf("call %d: %v, want success or its deadline", i, err)
		}
		if took[i] > 4*limit {
			t.Errorf("call %d took %s, want at most about its deadline of %s", i, took[i], limit)
		}
	}
}

// An account-wide budget grows fast up to paceCalm of the rate AWS last
// throttled it at, and slowly above; a region's budget grows fast.
func TestAccountWideBudgetGrowsSlowlyNearItsCeiling(t *testing.T) {
	p := newPacer()
	shared, regional := p.budget("EC2", allRegions), p.budget("EC2", "eu-west-1")
	for _, b := range []*budget{shared, regional} {
		b.mu.Lock()
		b.setRate(at(0), 10)
		b.mu.Unlock()
		b.throttled(at(0), at(0)) // at 10 a second: down to 8
	}
	if shared.limit() != 8 || regional.limit() != 8 {
		t.Fatalf("rates %v and %v after a throttling answer at 10, want 8", shared.limit(), regional.limit())
	}
	// Successes of calls that waited, a second apart.
	for i := 1; i <= 3; i++ {
		shared.succeeded(at(i*1000), true)
		regional.succeeded(at(i*1000), true)
	}
	calm := rate.Limit(10 * paceCalm)
	// Full speed would be 8 × 1.2³ ≈ 13.8; 2 s at the slow growth over 9
	// is 9 × 1.02² ≈ 9.36.
	if r := shared.limit(); r < calm || r > calm*1.05 {
		t.Errorf("account-wide budget at %v after 3 s of successes, want from %v to just over it", r, calm)
	}
	if r := regional.limit(); r < 10 {
		t.Errorf("region budget at %v after 3 s of successes, want back over 10", r)
	}
}
