package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/report"
	"github.com/harden-dev/harden/internal/report/severity"
	"github.com/harden-dev/harden/internal/version"
)

func newPlanCmd(g *globals, stdio IO) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:     "plan",
		Example: planExample,
		Short:   "Show what apply would change (read-only)",
		Long: `plan checks every control in every selected region and shows, for each target,
whether it is compliant, what apply would change (current -> desired), or why it
was not checked or failed. It makes no change.

Exit codes: 0 no changes, 2 changes pending, 1 any target errored or was not
checked (denied by a service control policy), 64 usage error.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return checkRun(cmd.Context(), g, stdio, report.Command("plan"), out)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "save the plan to this file for 'harden apply FILE' (also -out FILE)")
	return cmd
}

func newAuditCmd(g *globals, stdio IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "audit",
		Example: auditExample,
		Short:   "Check the account against the baseline for CI (read-only)",
		Long: `audit checks like plan and is built for CI: '--output json' prints the documented,
stable harden.report/v3 schema (see docs/report-schema.md); -o sarif, junit and
markdown print the same report for code scanning, test reports and a pull-request
summary, and --report FORMAT=PATH writes them beside the table. Every finding has
the Security Hub severity of its control; --fail-on SEVERITY exits 2 only for
findings of that severity or higher.

Exit codes: 0 every target checked and compliant, 2 findings, 1 any target errored
or was not checked (denied by a service control policy) (wins over 2), 64 usage error.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return checkRun(cmd.Context(), g, stdio, report.Command("audit"), "")
		},
	}
	cmd.Flags().StringVar(&g.failOn, "fail-on", "low", "exit 2 only for findings of this severity or higher: critical, high, medium or low")
	_ = cmd.RegisterFlagCompletionFunc("fail-on", completeWords(severityNames))
	return cmd
}

func checkRun(ctx context.Context, g *globals, stdio IO, cmd report.Command, planOut string) error {
	s, err := g.connect(ctx, true)
	if err != nil {
		g.reportFailure(stdio, cmd, err)
		return err
	}
	p := newProgress(stdio, "checked", g.reportOptions(stdio).Format)
	s.Progress = p.callback()
	results := s.Plan(ctx)
	p.done()
	if err := g.emit(stdio, s.report(cmd, results)); err != nil {
		return err
	}
	if planOut != "" && ctx.Err() == nil {
		if err := g.savePlan(s, results, planOut); err != nil {
			return err
		}
		fmt.Fprintf(stdio.Err, "Saved the plan to %s. Apply exactly this plan with: harden apply %s\n", planOut, planOut)
	}
	threshold, _ := g.failOnSeverity()
	return checkExit(ctx, cmd, results, threshold)
}

// report is the report of results.
func (s *session) report(cmd report.Command, results []engine.Result) report.Report {
	r := report.New(cmd, s.AccountID, s.HomeRegion, s.Regions.Enabled, s.Regions.Skipped, results)
	if stale := s.StaleExceptions(results); len(stale) > 0 {
		r.StaleExceptions = stale
	}
	return r
}

// checkExit maps check results to an exit code: errors and targets left
// unverified (not checked for a reason other than a region the account has
// not enabled or a service not offered there) win, then findings.
//
// For audit, a finding counts only when its severity is threshold or
// higher (--fail-on); plan counts every change.
func checkExit(ctx context.Context, cmd report.Command, results []engine.Result, threshold severity.Severity) error {
	if ctx.Err() != nil {
		return &exitError{code: ExitInterrupted, err: errors.New("interrupted: nothing was changed")}
	}
	errs, unverified, findings := 0, 0, 0
	for _, r := range results {
		switch r.Status {
		case engine.Error:
			errs++
		case engine.NotChecked:
			if !r.NotChecked.Expected() {
				unverified++
			}
		case engine.NonCompliant:
			if cmd != "audit" || severity.OfControl(r.Control.ID, r.Control.SecurityHub).AtLeast(threshold) {
				findings++
			}
		case engine.Unmanaged:
			if cmd == "audit" && severity.OfControl(r.Control.ID, r.Control.SecurityHub).AtLeast(threshold) {
				findings++
			}
		}
	}
	switch {
	case errs > 0:
		return &exitError{code: ExitError}
	case unverified > 0:
		return &exitError{code: ExitError, err: fmt.Errorf("%d target(s) not checked: the account is not verified against the baseline", unverified)}
	case findings > 0:
		return &exitError{code: ExitChanges}
	}
	return nil
}

func newControlsCmd(g *globals, stdio IO) *cobra.Command {
	return &cobra.Command{
		Use:     "controls",
		Example: controlsExample,
		Short:   "List the controls harden knows",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.validate(); err != nil {
				return err
			}
			if err := g.onlyListFormats("controls"); err != nil {
				return err
			}
			sel, err := g.selectControls()
			if err != nil {
				return err
			}
			infos := make([]control.Info, 0, len(sel))
			for _, c := range sel {
				infos = append(infos, c.Info())
			}
			return report.RenderControls(stdio.Out, infos, g.reportOptions(stdio))
		},
	}
}

func newVersionCmd(g *globals, stdio IO) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print harden's version",
		Example: "  harden version\n  harden version -o json",
		Args:    noArgs,
		RunE: func(*cobra.Command, []string) error {
			format, err := report.ParseFormat(g.output)
			if err != nil {
				return &usageError{err}
			}
			if format == report.JSON {
				return report.WriteJSON(stdio.Out, version.Get())
			}
			_, err = fmt.Fprintln(stdio.Out, "harden", version.String())
			return err
		},
	}
}
