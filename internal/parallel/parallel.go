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
// the errors in fn order, joined; an error that only reports the early
// stop caused by a sibling's failure is left out. Each fn wraps its own
// error with what it was doing. A panic in a fn is raised again in the
// caller's goroutine, where the engine reports it as a bug.
func Do(ctx context.Context, fns ...func(context.Context) error) error {
	switch len(fns) {
	case 0:
		return nil
	case 1:
		return fns[0](ctx)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
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
	return joinFailures(ctx, errs)
}

// errSibling is the cause of the early stop after one fn failed.
var errSibling = errors.New("stopped: another call failed")

// joinFailures joins errs, leaving out those that only report the early
// stop (their context ended because of a sibling, not of the caller).
func joinFailures(ctx context.Context, errs []error) error {
	stoppedEarly := errors.Is(context.Cause(ctx), errSibling)
	var kept []error
	for _, err := range errs {
		if err == nil || (stoppedEarly && errors.Is(err, context.Canceled)) {
			continue
		}
		kept = append(kept, err)
	}
	switch len(kept) {
	case 0:
		return firstError(errs)
	case 1:
		return kept[0]
	}
	return errors.Join(kept...)
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
