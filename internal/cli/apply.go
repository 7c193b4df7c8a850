package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/journal"
	"github.com/harden-dev/harden/internal/report"
	"github.com/harden-dev/harden/internal/version"
)

func newApplyCmd(g *globals, stdio IO) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Change the account to match the baseline",
		Long: `apply runs a plan, shows it and asks for confirmation on a terminal (without a
terminal it refuses unless --yes), then makes only the planned changes. Every write
is journaled before it is made, so 'harden rollback' can undo it. Each changed
target is checked again and reported compliant or not.

Exit codes: 0 every planned change applied and compliant (or nothing to do),
1 any target errored, was blocked or is still not compliant, 64 usage error,
130 interrupted (the journal stays consistent: roll back what was done).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return applyRun(cmd.Context(), g, stdio, yes)
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "apply without asking")
	return cmd
}

func applyRun(ctx context.Context, g *globals, stdio IO, yes bool) error {
	if err := g.validate(); err != nil {
		return err
	}
	if !yes && !stdio.StdinTTY {
		return usagef("refusing to change the account without a terminal to confirm on: pass --yes")
	}
	s, err := g.connect(ctx, true)
	if err != nil {
		return err
	}
	run := s.run(g.concurrency)
	plan := run.Check(ctx)
	opts := g.reportOptions(stdio)
	pending, planErrs := 0, 0
	for _, r := range plan {
		switch r.Status {
		case engine.NonCompliant:
			pending++
		case engine.Error:
			planErrs++
		}
	}
	if opts.Format != report.JSON || pending == 0 {
		rep := report.New("plan", s.account, s.home, s.regions.Enabled, s.regions.Skipped, plan)
		if err := report.Render(stdio.Out, rep, opts); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return &exitError{code: ExitInterrupted, err: errors.New("interrupted: nothing was changed")}
	}
	if pending == 0 {
		if planErrs > 0 {
			return &exitError{code: ExitError}
		}
		return nil
	}
	if err := confirm(stdio, yes, fmt.Sprintf("Apply %d change(s) to account %s?", pending, s.account)); err != nil {
		return err
	}
	store, err := g.openJournal(s.account)
	if err != nil {
		return err
	}
	jr, err := store.Begin(s.home, version.Version)
	if err != nil {
		return err
	}
	results := run.Apply(ctx, plan, jr.For)
	outcome := journal.OutcomeCompleted
	if ctx.Err() != nil {
		outcome = journal.OutcomeInterrupted
	}
	finishErr := jr.Finish(outcome)
	closeErr := errors.Join(finishErr, jr.Close())
	rep := report.New("apply", s.account, s.home, s.regions.Enabled, s.regions.Skipped, results)
	if err := report.Render(stdio.Out, rep, opts); err != nil {
		return err
	}
	fmt.Fprintf(stdio.Err, "Journal: %s\nUndo with: harden rollback --run %s\n", jr.Path(), jr.ID())
	if closeErr != nil {
		return fmt.Errorf("close journal %s: %w", jr.Path(), closeErr)
	}
	if ctx.Err() != nil {
		return &exitError{code: ExitInterrupted, err: fmt.Errorf("interrupted: the journal records what was done; undo it with 'harden rollback --run %s'", jr.ID())}
	}
	for _, r := range results {
		if r.Status == engine.Error || r.Status == engine.Blocked {
			return &exitError{code: ExitError}
		}
	}
	return nil
}
