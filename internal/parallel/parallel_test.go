package parallel_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/harden-dev/harden/internal/parallel"
)

func TestDoRunsTogether(t *testing.T) {
	var running, most atomic.Int32
	step := func(ctx context.Context) error {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
		return nil
	}
	start := time.Now()
	if err := parallel.Do(context.Background(), step, step, step); err != nil {
		t.Fatal(err)
	}
	if most.Load() != 3 {
		t.Fatalf("at most %d ran at once, want 3", most.Load())
	}
	if d := time.Since(start); d > 140*time.Millisecond {
		t.Fatalf("three 50 ms steps took %s: not together", d)
	}
}

func TestDoStopsSiblingsAndKeepsOnlyRealErrors(t *testing.T) {
	denied := errors.New("read policy: access denied")
	fail := func(context.Context) error { return denied }
	wait := func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
			return errors.New("not stopped")
		}
	}
	err := parallel.Do(context.Background(), wait, fail, wait)
	if !errors.Is(err, denied) || err.Error() != denied.Error() {
		t.Fatalf("err = %v, want only %v", err, denied)
	}
}

func TestDoReturnsTheFirstFailureInOrder(t *testing.T) {
	a, b := errors.New("read key: denied"), errors.New("read bucket: denied")
	// Both fail before either sees the other's stop.
	var ready atomic.Int32
	both := func(err error) func(context.Context) error {
		return func(context.Context) error {
			ready.Add(1)
			for ready.Load() < 2 {
				time.Sleep(time.Millisecond)
			}
			return err
		}
	}
	err := parallel.Do(context.Background(), both(a), both(b))
	if err != a {
		t.Fatalf("err = %v, want the first in order, %v, alone", err, a)
	}
}

func TestDoKeepsTheCallersCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := parallel.Do(ctx, func(ctx context.Context) error { return ctx.Err() }, func(ctx context.Context) error { return ctx.Err() })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the caller's cancellation", err)
	}
}

func TestDoRaisesPanicsInTheCaller(t *testing.T) {
	defer func() {
		if v := recover(); v != "boom" {
			t.Fatalf("recovered %v, want boom", v)
		}
	}()
	_ = parallel.Do(context.Background(), func(context.Context) error { return nil }, func(context.Context) error { panic("boom") })
	t.Fatal("no panic")
}

func TestAllLetsEveryCallFinish(t *testing.T) {
	denied := errors.New("create alias: denied")
	var finished atomic.Bool
	err := parallel.All(context.Background(),
		func(context.Context) error { return denied },
		func(ctx context.Context) error {
			time.Sleep(20 * time.Millisecond)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			finished.Store(true)
			return nil
		})
	if !errors.Is(err, denied) || !finished.Load() {
		t.Fatalf("err = %v, finished = %v: the other write must run to its end", err, finished.Load())
	}
}
