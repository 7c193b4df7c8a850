// Package parallel runs independent AWS calls together: a control's reads
// that do not need each other's answers (and writes AWS lets run at once)
// cost one round trip instead of one each.
package parallel

import (
	"context"
	"errors"
	"sync"
)

// Do runs every fn at once and waits for all of them. Each gets a context
// that ends when ctx does or when another fn fails, so a failed read
// stops its siblings early. It returns nil when every fn succeeded, else
// the first real failure; an error that only reports the early stop
// caused by a sibling's failure is never it. Each fn wraps its own
// error with what it was doing. A panic in a fn is raised again in the
// caller's goroutine, where the engine reports it as a bug.
//
// Only the first failure, in fn order, is returned, as calls made one
// after another would have: a target's error is one line, and the first
// names what was denied or missing.
func Do(ctx context.Context, fns ...func(context.Context) error) error {
	return run(ctx, true, fns)
}

// All runs every fn at once and waits for all of them, each to its end
// whatever the others do: for writes, where stopping one halfway would
// leave its outcome unknown. It returns the first failure in fn order.
func All(ctx context.Context, fns ...func(context.Context) error) error {
	return run(ctx, false, fns)
}

func run(ctx context.Context, stopOnFailure bool, fns []func(context.Context) error) error {
	switch len(fns) {
	case 0:
		return nil
	case 1:
		return fns[0](ctx)
	}
	ctx, cancelCause := context.WithCancelCause(ctx)
	defer cancelCause(nil)
	cancel := func(cause error) {
		if stopOnFailure {
			cancelCause(cause)
		}
	}
	errs := make([]error, len(fns))
	panics := make([]any, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if v := recover(); v != nil {
					panics[i] = v
					cancel(errSibling)
				}
			}()
			if errs[i] = fn(ctx); errs[i] != nil {
				cancel(errSibling)
			}
		}()
	}
	wg.Wait()
	for _, v := range panics {
		if v != nil {
			panic(v)
		}
	}
	return firstFailure(ctx, errs)
}

// errSibling is the cause of the early stop after one fn failed.
var errSibling = errors.New("stopped: another call failed")

// firstFailure returns the first error of errs that is not only the
// early stop (its context ended because of a sibling, not of the caller).
func firstFailure(ctx context.Context, errs []error) error {
	stoppedEarly := errors.Is(context.Cause(ctx), errSibling)
	for _, err := range errs {
		if err != nil && !(stoppedEarly && errors.Is(err, context.Canceled)) {
			return err
		}
	}
	return firstError(errs)
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
