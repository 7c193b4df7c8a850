package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/journal"
	"github.com/harden-dev/harden/internal/planfile"
	"github.com/harden-dev/harden/internal/report"
	"github.com/harden-dev/harden/internal/run"
	"github.com/harden-dev/harden/internal/version"
)

func newApplyCmd(g *globals, stdio IO) *cobra.Command {
	var yes, allowDestructive bool
	cmd := &cobra.Command{
		Use:     "apply [PLANFILE]",
		Example: applyExample,
		Short:   "Change the account to match the baseline",
		Long: `apply runs a plan, shows it and asks for confirmation on a terminal (without a
terminal it refuses unless --yes), then makes only the planned changes. Every write
is journaled before it is made, so 'harden rollback' can undo it. Each changed
target is checked again and reported compliant or not.

Ctrl-C or Ctrl-D at either prompt ends harden with exit 130 and changes nothing.

Destructive changes (a default VPC deleted, a protection turned off: the plan
lists them apart, with what each loses) are asked for separately, after the
others: type their number to make them; any other answer leaves them out and
the rest is applied. With --yes (or a plan file) they are made only with
--allow-destructive or 'allow_destructive: true' in harden.yaml; otherwise they
are left out, and apply says how to allow them and exits 2.

With -o json, apply needs --yes: JSON output shows no plan to approve.

With a plan file from 'harden plan -out FILE', apply uses the file's account,
controls, regions and settings, checks every target again and refuses, changing
nothing and naming them, when any target no longer matches what the plan saw (a
stale plan). A matching plan is applied without asking: it was reviewed already.

Exit codes: 0 every planned change applied and compliant (or nothing to do),
2 destructive changes were left out (not allowed, or not confirmed): the account
is not at the baseline, 1 any target errored, was blocked, was not checked or is
still not compliant (a change that could not be made, e.g. its region was
disabled meanwhile; wins over 2), 64 usage error, 130 interrupted (the journal
stays consistent: roll back what was done).`,
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
			return applyRun(cmd.Context(), g, stdio, yes, allowDestructive, path)
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "apply without asking")
	cmd.Flags().BoolVar(&allowDestructive, "allow-destructive", false,
		"with --yes or a plan file, also make destructive changes (delete default VPCs, turn off a protection); also 'allow_destructive: true' in harden.yaml")
	return cmd
}

func applyRun(ctx context.Context, g *globals, stdio IO, yes, allowDestructive bool, planPath string) error {
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
	p := newProgress(stdio, "checked", opts.Format)
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
	lines := newLineReader(stdio.In)
	if counts.NotDestructive() > 0 {
		if err := confirmWith(stdio, lines, yes, approvalQuestion(s.Session, counts)); err != nil {
			return err
		}
	}
	withheld := ""
	if counts.Destructive > 0 {
		switch {
		case !yes:
			ok, err := confirmDestructive(stdio, lines, counts)
			if err != nil {
				return err
			}
			if !ok {
				withheld = "destructive: not confirmed at the prompt, left as it is"
			}
		case !allowDestructive && !g.cfg.AllowDestructive:
			withheld = "destructive: left out, as apply --yes makes destructive changes only with --allow-destructive or allow_destructive: true in harden.yaml"
		}
	}
	if withheld != "" {
		plan = run.Withhold(plan, withheld)
	}
	if run.Count(plan).Total() == 0 {
		// Only destructive changes, all left out: nothing to journal.
		if err := g.emit(stdio, s.report("apply", plan)); err != nil {
			return err
		}
		return withheldExit(counts, yes)
	}
	// The journal run begins only once the change is approved, so that an
	// answer other than yes leaves no file.
	jr, err := lock.Begin(s.HomeRegion, version.String())
	if err != nil {
		return err
	}
	p = newProgress(stdio, "applied", opts.Format)
	p.start(run.Count(plan).Total())
	s.Progress = p.callback()
	s.Activity = p.monitor()
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
	if withheld != "" {
		return withheldExit(counts, yes)
	}
	return nil
}

// withheldExit is apply's exit when it left the destructive changes out:
// 2, the account is not at the baseline, saying how to make them.
func withheldExit(c run.Counts, yes bool) error {
	how := "run apply again and type the number at the second prompt"
	if yes {
		how = "allow them with --allow-destructive or 'allow_destructive: true' in harden.yaml, or run apply on a terminal without --yes to be asked"
	}
	return &exitError{code: ExitChanges, err: fmt.Errorf("%s left out (%s): the account is not at the baseline; to make them, %s",
		plural(c.Destructive, "destructive change", "destructive changes"), strings.Join(c.DestructiveControls, ", "), how)}
}

// confirmDestructive asks, apart, for the destructive changes: the user
// types their number ("Type 3 to delete 3 default VPCs"). Any other
// answer declines them (false); Ctrl-C or Ctrl-D is errPromptInterrupted.
func confirmDestructive(stdio IO, lines *lineReader, c run.Counts) (bool, error) {
	if !stdio.StdinTTY {
		return false, usagef("refusing to change the account without a terminal to confirm on: pass --yes")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s: what is lost cannot all be brought back by rollback:\n",
		plural(c.Destructive, "destructive change", "destructive changes"))
	for _, l := range c.Losses {
		fmt.Fprintf(&b, "  - %s\n", l.What)
	}
	n := len(c.Losses)
	fmt.Fprintf(&b, "  Type %d to %s (anything else leaves them as they are; the other changes are applied).\n\n  Enter a value: ", n, lossPhrase(c.Losses))
	answer, err := ask(stdio, lines, b.String())
	if err != nil {
		return false, err
	}
	if answer != strconv.Itoa(n) {
		fmt.Fprintf(stdio.Err, "  %q is not %d: the destructive changes are left out.\n", answer, n)
		return false, nil
	}
	return true, nil
}

// lossPhrase says what the losses do, by verb and kind in order of first
// appearance: "delete 3 default VPCs and turn off 1 GuardDuty feature".
func lossPhrase(losses []control.Loss) string {
	type key struct{ verb, kind string }
	var order []key
	count := map[key]int{}
	for _, l := range losses {
		k := key{l.Verb, l.Kind}
		if count[k] == 0 {
			order = append(order, k)
		}
		count[k]++
	}
	parts := make([]string, len(order))
	for i, k := range order {
		kind := k.kind
		if count[k] != 1 {
			kind += "s"
		}
		parts[i] = fmt.Sprintf("%s %d %s", k.verb, count[k], kind)
	}
	return strings.Join(parts, " and ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// approvalQuestion names who changes which account, and how much.
func approvalQuestion(s *run.Session, c run.Counts) string {
	account := s.AccountID
	if s.AccountAlias != "" {
		account += " (" + s.AccountAlias + ")"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Apply %d change(s) to account %s as %s?\n", c.NotDestructive(), account, s.CallerARN)
	fmt.Fprintf(&b, "  %d to create, %d to update, ", c.Create, c.Update)
	if c.Adopt > 0 {
		fmt.Fprintf(&b, "%d existing to adopt, ", c.Adopt)
	}
	fmt.Fprintf(&b, "%d to delete.", c.Delete)
	if c.Destructive > 0 {
		fmt.Fprintf(&b, "\n  The %s (%s) %s asked for next, apart.", plural(c.Destructive, "destructive change", "destructive changes"),
			strings.Join(c.DestructiveControls, ", "), map[bool]string{true: "is", false: "are"}[c.Destructive == 1])
	}
	return b.String()
}
