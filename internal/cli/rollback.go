package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/journal"
	"github.com/harden-dev/harden/internal/report"
)

func newRollbackCmd(g *globals, stdio IO) *cobra.Command {
	var yes, list bool
	var runID string
	cmd := &cobra.Command{
		Use:   "rollback",
		Short: "Undo the changes of the newest apply run (or --run ID)",
		Long: `rollback restores the state the journal recorded before each change of an apply
run, newest change first. Steps already undone are skipped, so running it twice is
harmless. It refuses a journal that belongs to another account, and a corrupt one.

Rollback never deletes logs or schedules key deletion.

Exit codes: 0 restored (or nothing left to undo), 1 a step failed or the journal is
unusable, 64 usage error, 130 interrupted.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if list {
				if runID != "" || yes {
					return usagef("--list takes neither --run nor --yes")
				}
				return listRuns(cmd.Context(), g, stdio)
			}
			return rollbackRun(cmd.Context(), g, stdio, runID, yes)
		},
	}
	cmd.Flags().BoolVar(&list, "list", false, "list this account's journaled apply runs, newest first, and what is left to undo in each")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "roll back without asking")
	cmd.Flags().StringVar(&runID, "run", "", "the apply run to undo (default: the newest)")
	return cmd
}

// rollbackStep is one step of a rollback, as reported.
type rollbackStep struct {
	Seq       int    `json:"seq"`
	Control   string `json:"control"`
	Region    string `json:"region"`
	Action    string `json:"action"`
	Confirmed bool   `json:"confirmed"`
	Status    string `json:"status"` // pending, restored, kept, error, not-run
	Error     string `json:"error,omitempty"`
}

type rollbackReport struct {
	Schema    string         `json:"schema"`
	Run       string         `json:"run"`
	AccountID string         `json:"account_id"`
	Steps     []rollbackStep `json:"steps"`
	Restored  int            `json:"restored"`
	Kept      int            `json:"kept"`
	Errors    int            `json:"errors"`
}

func rollbackRun(ctx context.Context, g *globals, stdio IO, runID string, yes bool) error {
	if err := g.validate(); err != nil {
		return err
	}
	if !yes && !stdio.StdinTTY {
		return usagef("refusing to change the account without a terminal to confirm on: pass --yes")
	}
	s, err := g.connect(ctx, false)
	if err != nil {
		return err
	}
	store, err := g.openJournal(s.account)
	if err != nil {
		return err
	}
	log, err := store.Load(runID)
	if err != nil {
		if errors.Is(err, journal.ErrNoRuns) {
			return fmt.Errorf("%w in %s: nothing to roll back", err, store.Dir())
		}
		return err
	}
	byID := map[string]control.Control{}
	for _, c := range controls.All() {
		byID[c.Info().ID] = c
	}
	pending := log.Pending()
	rep := rollbackReport{Schema: "harden.rollback/v1", Run: log.Header.RunID, AccountID: s.account, Steps: []rollbackStep{}}
	for _, p := range pending {
		if _, ok := byID[p.Control]; !ok {
			return fmt.Errorf("journal %s names control %q, which this harden does not know: use the harden version that wrote it (%s)",
				log.Path, p.Control, log.Header.Harden)
		}
		rep.Steps = append(rep.Steps, rollbackStep{Seq: p.Seq, Control: p.Control, Region: p.Region,
			Action: p.Step.Action, Confirmed: p.Step.Done, Status: "pending"})
	}
	opts := g.reportOptions(stdio)
	if len(pending) == 0 {
		if opts.Format == report.JSON {
			return writeJSON(stdio.Out, rep)
		}
		fmt.Fprintf(stdio.Out, "Nothing to roll back: run %s has no change left to undo.\n", log.Header.RunID)
		return nil
	}
	if opts.Format != report.JSON {
		fmt.Fprintf(stdio.Out, "harden rollback: account %s, run %s (%s), %d change(s) to undo, newest first\n\n",
			s.account, log.Header.RunID, log.Path, len(pending))
		writeSteps(stdio.Out, rep.Steps)
	}
	if err := confirm(stdio, yes, fmt.Sprintf("Undo %d change(s) in account %s?", len(pending), s.account)); err != nil {
		return err
	}
	jr, err := store.Resume(log.Header.RunID)
	if err != nil {
		return err
	}
	defer jr.Close()
	env := s.env()
	for i, p := range pending {
		step := &rep.Steps[i]
		if ctx.Err() != nil {
			step.Status = "not-run"
			continue
		}
		t := control.Target{AccountID: s.account, Region: p.Region, HomeRegion: log.Header.HomeRegion}
		err := byID[p.Control].Rollback(ctx, env, t, p.Step)
		var kept *control.RetainedError
		if err != nil && !errors.As(err, &kept) {
			step.Status, step.Error = "error", oneLine(awserror.Clean(err))
			rep.Errors++
			continue
		}
		if err := jr.MarkUndone(p.Seq); err != nil {
			step.Status, step.Error = "error", oneLine(err.Error())
			rep.Errors++
			continue
		}
		if kept != nil {
			step.Status, step.Error = "kept", kept.Reason
			rep.Kept++
			continue
		}
		step.Status = "restored"
		rep.Restored++
	}
	if opts.Format == report.JSON {
		if err := writeJSON(stdio.Out, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(stdio.Out)
		writeSteps(stdio.Out, rep.Steps)
		fmt.Fprintf(stdio.Out, "\nRollback: %d restored, %d kept, %d error(s).\n", rep.Restored, rep.Kept, rep.Errors)
	}
	if ctx.Err() != nil {
		return &exitError{code: ExitInterrupted, err: errors.New("interrupted: run 'harden rollback' again to undo the rest")}
	}
	if rep.Errors > 0 {
		return &exitError{code: ExitError, err: errors.New("some changes were not undone: fix the errors above and run 'harden rollback' again")}
	}
	return nil
}

func writeSteps(w io.Writer, steps []rollbackStep) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range steps {
		note := ""
		if !s.Confirmed {
			note = " (unconfirmed: may not have happened)"
		}
		if s.Error != "" {
			note += ": " + s.Error
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s%s\n", s.Status, s.Control, s.Region, s.Action, note)
	}
	tw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// runSummary is one journaled run, as --list reports it.
type runSummary struct {
	Run      string `json:"run"`
	Started  string `json:"started"`
	Home     string `json:"home_region"`
	Harden   string `json:"harden"`
	Writes   int    `json:"writes"`
	Pending  int    `json:"pending"`
	Path     string `json:"path"`
	Readable bool   `json:"readable"`
	Error    string `json:"error,omitempty"`
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
	out := []runSummary{}
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		sum := runSummary{Run: r.ID, Started: r.Header.Started.UTC().Format("2006-01-02T15:04:05Z"),
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
		}
		out = append(out, sum)
	}
	if g.reportOptions(stdio).Format == report.JSON {
		return writeJSON(stdio.Out, struct {
			Schema    string       `json:"schema"`
			AccountID string       `json:"account_id"`
			Runs      []runSummary `json:"runs"`
		}{"harden.runs/v1", s.account, out})
	}
	if len(out) == 0 {
		fmt.Fprintf(stdio.Out, "No apply runs are journaled for account %s in %s.\n", s.account, store.Dir())
		return nil
	}
	tw := tabwriter.NewWriter(stdio.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTARTED\tHOME\tWRITES\tTO UNDO\tSTATE")
	for _, r := range out {
		state := "applied"
		switch {
		case !r.Readable:
			state = "unreadable: " + r.Error
		case r.Pending == 0:
			state = "rolled back"
		case r.Pending < r.Writes:
			state = "partly rolled back"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", r.Run, r.Started, r.Home, r.Writes, r.Pending, state)
	}
	return tw.Flush()
}
