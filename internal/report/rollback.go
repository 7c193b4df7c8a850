package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/harden-dev/harden/internal/run"
)

// RollbackSchema names the JSON document of a rollback.
const RollbackSchema = "harden.rollback/v2"

// rollbackDoc is the JSON form of a rollback (docs/rollback-schema.md).
type rollbackDoc struct {
	Schema    string             `json:"schema"`
	AccountID string             `json:"account_id"`
	Preview   bool               `json:"preview"`
	Runs      []run.RollbackRun  `json:"runs"`
	Steps     []run.RollbackStep `json:"steps"`
	Counts    map[string]int     `json:"counts"`
}

// statusOrder is the order statuses are counted in the summary line.
var statusOrder = []run.StepStatus{run.StepRestored, run.StepDeleted, run.StepKept, run.StepAlready,
	run.StepOverwritten, run.StepDrifted, run.StepHeld, run.StepError, run.StepNotRun}

// RenderRollback writes a rollback: its refreshed preview (before
// anything is undone) or its outcome.
func RenderRollback(w io.Writer, rb *run.Rollback, preview bool, opts Options) error {
	if opts.Format == JSON {
		counts := map[string]int{}
		for st, n := range rb.Counts() {
			counts[string(st)] = n
		}
		return writeJSON(w, rollbackDoc{Schema: RollbackSchema, AccountID: rb.AccountID, Preview: preview,
			Runs: rb.Runs, Steps: rb.Steps, Counts: counts})
	}
	if len(rb.Steps) == 0 {
		_, err := fmt.Fprintf(w, "Nothing to roll back: account %s has no journaled change left to undo.\n", rb.AccountID)
		return err
	}
	var b strings.Builder
	if preview {
		fmt.Fprintf(&b, "harden rollback: account %s, %d change(s) from %d run(s), newest first\n", rb.AccountID, len(rb.Steps), len(rb.Runs))
		for _, r := range rb.Runs {
			state := ""
			if r.Interrupted {
				state = " (interrupted)"
			}
			fmt.Fprintf(&b, "  run %s%s: %s\n", r.ID, state, r.Path)
		}
		b.WriteString("\n")
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, s := range rb.Steps {
		word := string(s.Status)
		if preview && s.Status == run.StepPending {
			word = verdictWord(s)
		}
		text := s.What
		if text == "" {
			text = s.Kind
		}
		if s.Error != "" {
			if text != "" {
				text += ": "
			}
			text += s.Error
		}
		if !s.Confirmed {
			text += " (unconfirmed write: it may not have happened)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", word, s.Control, s.Region, text)
	}
	tw.Flush()
	counts := rb.Counts()
	if preview {
		drifted := 0
		for _, s := range rb.Steps {
			if s.Verdict == "drifted" {
				drifted++
			}
		}
		if drifted > 0 {
			fmt.Fprintf(&b, "\n%d change(s) drifted since harden made them: rollback leaves them alone (--force overwrites them, but never deletes what harden does not own).\n", drifted)
		}
	} else {
		var parts []string
		for _, st := range statusOrder {
			if n := counts[st]; n > 0 || st == run.StepRestored || st == run.StepError {
				label := string(st)
				if st == run.StepError {
					label = "error(s)"
				}
				parts = append(parts, fmt.Sprintf("%d %s", n, label))
			}
		}
		fmt.Fprintf(&b, "\nRollback: %s.\n", strings.Join(parts, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// verdictWord is how the preview names what rollback will do.
func verdictWord(s run.RollbackStep) string {
	switch s.Verdict {
	case "restore":
		return "restore"
	case "delete":
		return "delete"
	case "kept":
		return "keep"
	case "already":
		return "nothing"
	case "drifted":
		return "drifted"
	}
	return string(s.Verdict)
}

// RunSummary is one journaled run, as 'rollback --list' shows it.
type RunSummary struct {
	Run      string `json:"run"`
	Started  string `json:"started"`
	Home     string `json:"home_region"`
	Harden   string `json:"harden"`
	Writes   int    `json:"writes"`
	Pending  int    `json:"pending"`
	State    string `json:"state"`
	Path     string `json:"path"`
	Readable bool   `json:"readable"`
	Error    string `json:"error,omitempty"`
}

// RenderRuns writes the account's journaled runs, newest first.
func RenderRuns(w io.Writer, account, dir string, runs []RunSummary, opts Options) error {
	if runs == nil {
		runs = []RunSummary{}
	}
	if opts.Format == JSON {
		return writeJSON(w, struct {
			Schema    string       `json:"schema"`
			AccountID string       `json:"account_id"`
			Runs      []RunSummary `json:"runs"`
		}{"harden.runs/v2", account, runs})
	}
	if len(runs) == 0 {
		_, err := fmt.Fprintf(w, "No apply runs are journaled for account %s in %s.\n", account, dir)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTARTED\tHOME\tWRITES\tTO UNDO\tSTATE")
	for _, r := range runs {
		state := r.State
		if !r.Readable {
			state = "unreadable: " + r.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", r.Run, r.Started, r.Home, r.Writes, r.Pending, state)
	}
	return tw.Flush()
}
