package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/journal"
	"github.com/harden-dev/harden/internal/planfile"
	"github.com/harden-dev/harden/internal/report"
	"github.com/harden-dev/harden/internal/run"
	"github.com/harden-dev/harden/internal/version"
)

func newApplyCmd(g *globals, stdio IO) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:     "apply [PLANFILE]",
		Example: applyExample,
		Short:   "Change the account to match the baseline",
		Long: `apply runs a plan, shows it and asks for confirmation on a terminal (without a
terminal it refuses unless --yes), then makes only the planned changes. Every write
is journaled before it is made, so 'harden rollback' can undo it. Each changed
target is checked again and reported compliant or not.

With -o json, apply needs --yes: JSON output shows no plan to approve.
Ctrl-C or Ctrl-D at the prompt ends harden with exit 130 and changes nothing.

With a plan file from 'harden plan -out FILE', apply uses the file's account,
controls, regions and settings, checks every target again and refuses, changing
nothing and naming them, when any target no longer matches what the plan saw (a
stale plan). A matching plan is applied without asking: it was reviewed already.

Exit codes: 0 every planned change applied and compliant (or nothing to do),
1 any target errored, was blocked, was not checked or is still not compliant
(a change that could not be made, e.g. its region was disabled meanwhile),
64 usage error, 130 interrupted (the journal stays consistent: roll back what was done).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("apply takes at most one plan file, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			path := ""
			if len(args) == 1 {
				path = args[0]
			}
			return applyRun(cmd.Context(), g, stdio, yes, path)
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "apply without asking")
	return cmd
}

func applyRun(ctx context.Context, g *globals, stdio IO, yes bool, planPath string) error {
	var saved *planfile.File
	if planPath != "" {
		f, err := planfile.Read(planPath)
		if err != nil {
			return &usageError{err}
		}
		if err := g.usePlan(f); err != nil {
			return err
		}
		saved, yes = &f, true
	}
	if err := g.validate(); err != nil {
		return err
	}
	opts := g.reportOptions(stdio)
	if !yes && opts.Format.Machine() {
		return usagef("apply -o %s does not show the plan before asking: pass --yes (or review 'harden plan' first)", opts.Format)
	}
	if !yes && !stdio.StdinTTY {
		return usagef("refusing to change the account without a terminal to confirm on: pass --yes")
	}
	s, err := g.connect(ctx, true)
	if err != nil {
		g.reportFailure(stdio, "apply", err)
		return err
	}
	// The account's lock is taken before planning, so that what is shown
	// for approval is what is applied: a second apply or a rollback cannot
	// change the account in between.
	store, err := g.openJournal(s.AccountID)
	if err != nil {
		return err
	}
	lock, err := store.Lock()
	if err != nil {
		return err
	}
	defer lock.Close()
	p := newProgress(stdio, "checked")
	s.Progress = p.callback()
	plan := s.Plan(ctx)
	p.done()
	if saved != nil && ctx.Err() == nil {
		if err := checkPlan(*saved, planPath, s, plan); err != nil {
			return err
		}
	}
	counts := run.Count(plan)
	if counts.Total() == 0 {
		if err := g.emit(stdio, s.report("plan", plan)); err != nil {
			return err
		}
	} else if !opts.Format.Machine() {
		if err := report.Render(stdio.Out, s.report("plan", plan), opts); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return &exitError{code: ExitInterrupted, err: errors.New("interrupted: nothing was changed")}
	}
	if counts.Total() == 0 {
		return checkExit(ctx, "plan", plan, "")
	}
	if err := confirm(stdio, yes, approvalQuestion(s.Session, counts)); err != nil {
		return err
	}
	// The journal run begins only once the change is approved, so that an
	// answer other than yes leaves no file.
	jr, err := lock.Begin(s.HomeRegion, version.String())
	if err != nil {
		return err
	}
	p = newProgress(stdio, "applied")
	s.Progress = p.callback()
	results := s.Apply(ctx, plan, jr.For)
	p.done()
	outcome := journal.OutcomeCompleted
	if ctx.Err() != nil {
		outcome = journal.OutcomeInterrupted
	}
	closeErr := errors.Join(jr.Finish(outcome), jr.Close())
	if err := g.emit(stdio, s.report("apply", results)); err != nil {
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
		if r.Status == engine.Error || r.Status == engine.Blocked ||
			(r.Status == engine.NotChecked && !r.NotChecked.Expected()) {
			return &exitError{code: ExitError}
		}
	}
	return nil
}

// approvalQuestion names who changes which account, and how much.
func approvalQuestion(s *run.Session, c run.Counts) string {
	account := s.AccountID
	if s.AccountAlias != "" {
		account += " (" + s.AccountAlias + ")"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Apply %d change(s) to account %s as %s?\n", c.Total(), account, s.CallerARN)
	fmt.Fprintf(&b, "  %d to create, %d to update, ", c.Create, c.Update)
	if c.Adopt > 0 {
		fmt.Fprintf(&b, "%d existing to adopt, ", c.Adopt)
	}
	fmt.Fprintf(&b, "%d to delete, %d destructive", c.Delete, c.Destructive)
	if len(c.DestructiveControls) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(c.DestructiveControls, ", "))
	}
	b.WriteString(".")
	return b.String()
}
