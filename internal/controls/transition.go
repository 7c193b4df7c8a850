package controls

import (
	"context"
	"fmt"

	"github.com/harden-dev/harden/internal/control"
)

// blindUndo adapts an undo written before rollback refreshed state: it
// restores without a drift or ownership check. Every control is moving to
// undos that compare with the journaled after state; this file goes when
// the last one has.
func blindUndo(f func(context.Context, *control.Env, control.Target, control.Step) error) control.UndoFunc {
	return func(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
		return control.Restored(fmt.Sprintf("undo %s", s.Kind), func(ctx context.Context) error {
			return f(ctx, env, t, s)
		}), nil
	}
}
