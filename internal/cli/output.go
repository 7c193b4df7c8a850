package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/harden-dev/harden/internal/report"
	"github.com/harden-dev/harden/internal/report/severity"
	"github.com/harden-dev/harden/internal/version"
)

// extraReport is one --report FORMAT=PATH.
type extraReport struct {
	format report.Format
	path   string
}

// parseReports parses the --report flags.
func parseReports(values []string) ([]extraReport, error) {
	var out []extraReport
	for _, v := range values {
		f, path, ok := strings.Cut(v, "=")
		if !ok || strings.TrimSpace(path) == "" {
			return nil, usagef("--report %q: want FORMAT=PATH, e.g. --report sarif=harden.sarif", v)
		}
		format, err := report.ParseFormat(f)
		if err != nil {
			return nil, usagef("--report %q: %v", v, err)
		}
		if format == report.Table {
			format = report.Text // a file is never a terminal
		}
		out = append(out, extraReport{format, path})
	}
	return out, nil
}

// colour decides whether stdout gets colour and styling: --no-color and a
// non-empty NO_COLOR turn it off; a non-empty CLICOLOR_FORCE or
// FORCE_COLOR (other than "0") turns it on even when piped; TERM=dumb
// turns it off; otherwise a terminal has it. CI alone decides nothing.
func colour(stdio IO, noColor bool) bool {
	env := stdio.Getenv
	if env == nil {
		env = func(string) string { return "" }
	}
	forced := func(k string) bool { v := env(k); return v != "" && v != "0" && v != "false" }
	switch {
	case noColor, env("NO_COLOR") != "":
		return false
	case forced("CLICOLOR_FORCE"), forced("FORCE_COLOR"):
		return true
	case env("TERM") == "dumb":
		return false
	}
	return stdio.StdoutTTY
}

// emit writes rep to stdout in the -o format and to every --report file.
// A report file is written whole or not at all (a temporary file renamed).
func (g *globals) emit(stdio IO, rep report.Report) error {
	opts := g.reportOptions(stdio)
	err := report.Render(stdio.Out, rep, opts)
	return errors.Join(err, g.writeReportFiles(rep))
}

func (g *globals) writeReportFiles(rep report.Report) error {
	extras, err := parseReports(g.reports)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range extras {
		var b bytes.Buffer
		if err := report.Render(&b, rep, report.Options{Format: e.format, Version: version.String(), Width: 100}); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := writeFileAtomic(e.path, b.Bytes()); err != nil {
			errs = append(errs, fmt.Errorf("--report %s=%s: %w", e.format, e.path, err))
		}
	}
	return errors.Join(errs...)
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(f.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		os.Remove(f.Name())
	}
	return werr
}

// reportFailure writes, for a run that failed before it could report, a
// valid document saying why: on stdout when -o asks for a machine format,
// and to every --report file. The error itself still goes to stderr.
func (g *globals) reportFailure(stdio IO, cmd report.Command, err error) {
	var ue *usageError
	if err == nil || errors.As(err, &ue) {
		return
	}
	rep := report.Failed(cmd, err)
	if f, perr := report.ParseFormat(g.output); perr == nil && f.Machine() {
		_ = report.Render(stdio.Out, rep, report.Options{Format: f, Version: version.String()})
	}
	_ = g.writeReportFiles(rep)
}

// failOn is audit's --fail-on threshold; "" means low (every finding).
func (g *globals) failOnSeverity() (severity.Severity, error) {
	if g.failOn == "" {
		return severity.Low, nil
	}
	s, err := severity.Parse(g.failOn)
	if err != nil {
		return "", usagef("--fail-on: %v", err)
	}
	return s, nil
}

// onlyListFormats refuses, for a command that prints no check results
// (rollback, controls), the formats and flags made for them.
func (g *globals) onlyListFormats(cmd string) error {
	f, err := report.ParseFormat(g.output)
	if err != nil {
		return &usageError{err}
	}
	switch {
	case f == report.SARIF || f == report.JUnit || (f == report.Markdown && cmd != "controls"):
		return usagef("harden %s prints table, text or json, not %s", cmd, f)
	case len(g.reports) > 0:
		return usagef("--report is for plan, audit and apply, not %s", cmd)
	}
	return nil
}
