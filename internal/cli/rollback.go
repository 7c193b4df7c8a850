package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/journal"
	"github.com/harden-dev/harden/internal/report"
	"github.com/harden-dev/harden/internal/run"
)

func newRollbackCmd(g *globals, stdio IO) *cobra.Command {
	var yes, list, force bool
	var runID string
	cmd := &cobra.Command{
		Use:     "rollback",
		Example: rollbackExample,
		Short:   "Undo what harden applied: every pending run, or --run ID",
		Long: `rollback undoes what apply changed, newest change first, across every apply run
that still has changes to undo (or only --run ID). It first reads the current state
of everything it would touch: a change is undone only while it is still as harden
left it, and a resource is deleted only when it is the one harden created (same id,
harden's tags). Anything else has drifted: it is reported and left alone, and
rollback exits 1. --force overwrites drifted settings (never deleting what harden
does not own). --controls, --skip and --regions limit what is undone; undoing what a
remaining change still uses (the log archive under a trail) is refused.

Rollback never deletes logs, nor schedules the deletion of the log-archive key.

Exit codes: 0 undone (or nothing left to undo), 1 a step drifted, failed or was
held, or the journal is unusable, 64 usage error, 130 interrupted.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.onlyListFormats("rollback"); err != nil {
				return err
			}
			if list {
				if runID != "" || yes || force {
					return usagef("--list takes neither --run, --yes nor --force")
				}
				return listRuns(cmd.Context(), g, stdio)
			}
			return rollbackRun(cmd.Context(), g, stdio, runID, yes, force)
		},
	}
	cmd.Flags().BoolVar(&list, "list", false, "list this account's journaled apply runs, newest first, and what is left to undo in each")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "roll back without asking")
	cmd.Flags().BoolVar(&force, "force", false, "undo drifted changes anyway, overwriting newer changes (never deletes what harden does not own)")
	cmd.Flags().StringVar(&runID, "run", "", "undo only this apply run (default: every run with changes left, newest first)")
	_ = cmd.RegisterFlagCompletionFunc("run", completeWords(g.runIDs))
	return cmd
}

// rollbackScope turns --controls, --skip and --regions into the controls
// and regions rollback may touch.
func (g *globals) rollbackScope() (ctls, regs []string, err error) {
	if len(g.only) > 0 || len(g.skip) > 0 {
		sel, err := g.selectControls()
		if err != nil {
			return nil, nil, err
		}
		for _, c := range sel {
			ctls = append(ctls, c.Info().ID)
		}
		if len(ctls) == 0 {
			return nil, nil, usagef("--controls and --skip leave no control to roll back")
		}
	}
	return ctls, g.regions, nil
}

func rollbackRun(ctx context.Context, g *globals, stdio IO, runID string, yes, force bool) error {
	if err := g.validate(); err != nil {
		return err
	}
	opts := g.reportOptions(stdio)
	if !yes && !stdio.StdinTTY {
		return usagef("refusing to change the account without a terminal to confirm on: pass --yes")
	}
	if !yes && opts.Format == report.JSON {
		return usagef("-o json cannot ask for confirmation: pass --yes")
	}
	ctls, regs, err := g.rollbackScope()
	if err != nil {
		return err
	}
	s, err := g.connect(ctx, false)
	if err != nil {
		return err
	}
	store, err := g.openJournal(s.account)
	if err != nil {
		return err
	}
	lock, err := store.Lock()
	if err != nil {
		return err
	}
	defer lock.Close()
	rb, err := run.PrepareRollback(ctx, s.env(), s.account, controls.All(), store, lock, run.RollbackOptions{
		RunID: runID, Controls: ctls, Regions: regs, Force: force, Concurrency: g.concurrency})
	if errors.Is(err, journal.ErrNoRuns) {
		err = nil
		rb = &run.Rollback{AccountID: s.account}
	}
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return &exitError{code: ExitInterrupted, err: errors.New("interrupted: nothing was changed")}
	}
	if len(rb.Steps) == 0 {
		return report.RenderRollback(stdio.Out, rb, false, opts)
	}
	if !yes {
		if err := report.RenderRollback(stdio.Out, rb, true, opts); err != nil {
			return err
		}
		if err := confirm(stdio, false, fmt.Sprintf("Undo %d change(s) in account %s?", len(rb.Steps), s.account)); err != nil {
			return err
		}
	}
	// The same status line as apply's: on stderr when it is a terminal,
	// never with a machine format.
	p := newStepProgress(stdio, "rolled back", opts.Format)
	progress := p.steps()
	err = rb.Execute(ctx, progress)
	p.done()
	if err != nil {
		return err
	}
	if err := report.RenderRollback(stdio.Out, rb, false, opts); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return &exitError{code: ExitInterrupted, err: errors.New("interrupted: run 'harden rollback' again to undo the rest")}
	}
	if rb.Failed() {
		return &exitError{code: ExitError, err: errors.New("some changes were not undone: see the lines above; fix what failed and run 'harden rollback' again, or --force to overwrite drifted changes")}
	}
	return nil
}

// listRuns prints the account's runs, newest first. A run whose journal
// cannot be read is listed with the reason rather than hiding the others.
func listRuns(ctx context.Context, g *globals, stdio IO) error {
	if err := g.validate(); err != nil {
		return err
	}
	s, err := g.connect(ctx, false)
	if err != nil {
		return err
	}
	store, err := g.openJournal(s.account)
	if err != nil {
		return err
	}
	runs, err := store.Runs()
	if err != nil {
		return err
	}
	var out []report.RunSummary
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		sum := report.RunSummary{Run: r.ID, Started: r.Header.Started.UTC().Format("2006-01-02T15:04:05Z"),
			Home: r.Header.HomeRegion, Harden: r.Header.Harden, Path: r.Path}
		if log, err := store.Load(r.ID); err != nil {
			sum.Error = oneLine(err.Error())
		} else {
			sum.Readable = true
			for _, st := range log.Steps {
				if !st.Failed {
					sum.Writes++
				}
			}
			sum.Pending = len(log.Pending())
			sum.State = runState(log, sum.Writes, sum.Pending)
		}
		out = append(out, sum)
	}
	return report.RenderRuns(stdio.Out, s.account, store.Dir(), out, g.reportOptions(stdio))
}

// runState names where a run stands.
func runState(l *journal.Log, writes, pending int) string {
	switch {
	case pending == 0 && writes > 0:
		return "rolled back"
	case pending == 0:
		return "no changes"
	case l.Interrupted() && pending < writes:
		return "interrupted, partly rolled back"
	case l.Interrupted():
		return "interrupted"
	case pending < writes:
		return "partly rolled back"
	}
	return "applied"
}
