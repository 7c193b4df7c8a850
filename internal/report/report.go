// Package report turns engine results into output: a plain, greppable text
// listing, a styled table for a terminal, or JSON for machines. Every
// format is byte-stable for the same input: no timestamps, no map order.
package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/regions"
	"github.com/harden-dev/harden/internal/report/severity"
)

// Format is an output format.
type Format string

const (
	// Table is a styled table on a terminal; without Styled it is Text.
	Table Format = "table"
	// Text is plain, aligned, greppable lines with no escape sequences.
	Text Format = "text"
	// JSON is the Report as indented JSON.
	JSON Format = "json"
	// SARIF is SARIF 2.1.0 for GitHub code scanning (see docs/sarif.md).
	SARIF Format = "sarif"
	// JUnit is JUnit XML for CI test reports: a suite per control, a case
	// per target.
	JUnit Format = "junit"
	// Markdown is a summary for a pull-request comment or
	// $GITHUB_STEP_SUMMARY.
	Markdown Format = "markdown"
)

// Formats lists the valid formats, in the order help text shows them.
var Formats = []Format{Table, Text, JSON, SARIF, JUnit, Markdown}

// Machine reports whether f is a document for a program (JSON, SARIF,
// JUnit), which a run that fails before it can report still writes.
func (f Format) Machine() bool { return f == JSON || f == SARIF || f == JUnit }

// ParseFormat parses a --output value.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	for _, v := range Formats {
		if f == v {
			return f, nil
		}
	}
	names := make([]string, len(Formats))
	for i, v := range Formats {
		names[i] = string(v)
	}
	return "", fmt.Errorf("unknown output format %q: want one of %s", s, strings.Join(names, ", "))
}

// Options says how to render.
type Options struct {
	// Format is the output format; "" means Table.
	Format Format
	// Styled is true only on a terminal with colour allowed; the CLI
	// decides (TTY, NO_COLOR, CI). Table without Styled renders exactly
	// as Text.
	Styled bool
	// Width is the terminal width; 0 means 100.
	Width int
	// Detail shows every target on its own row; without it, targets of a
	// control with the same status, action and changes share one row that
	// names their regions ("17 regions (all but us-east-1)").
	Detail bool
	// Version is harden's version, for the SARIF tool driver.
	Version string
}

func (o Options) width() int {
	if o.Width > 0 {
		return o.Width
	}
	return 100
}

// Command is the command a report is for.
type Command string

const (
	Plan  Command = "plan"
	Audit Command = "audit"
	Apply Command = "apply"
)

// Schema identifies the JSON report format.
const Schema = "harden.report/v3"

// DocURL is the address of a control's documentation page.
func DocURL(id string) string {
	return "https://github.com/harden-dev/harden/blob/main/docs/controls/" + id + ".md"
}

// Report is the machine-readable view of a run; JSON renders exactly this.
type Report struct {
	Schema         string         `json:"schema"`
	Command        Command        `json:"command"`
	AccountID      string         `json:"account_id"`
	HomeRegion     string         `json:"home_region"`
	Regions        []string       `json:"regions"`
	SkippedRegions []regions.Skip `json:"skipped_regions"`
	Results        []Result       `json:"results"`
	Summary        Summary        `json:"summary"`
	// StaleExceptions accept nothing in this run (a warning).
	StaleExceptions []engine.Acceptance `json:"stale_exceptions"`
	// UsageCosts are the usage-based controls with a change pending, one
	// per control: what AWS bills once it is applied.
	UsageCosts []UsageCost `json:"usage_costs"`
	// Error is why the run failed before it could check anything (no
	// credentials, say); Results are then empty.
	Error string `json:"error,omitempty"`

	// controls are the run's controls, in order, for the formats that
	// describe them (SARIF rules, JUnit suites).
	controls []control.Info
}

// UsageCost is what drives the bill of a usage-based control.
type UsageCost struct {
	Control string `json:"control"`
	Drivers string `json:"drivers"`
}

// Result is one target's outcome.
type Result struct {
	Control string           `json:"control"`
	Title   string           `json:"title"`
	Scope   string           `json:"scope"`
	Region  string           `json:"region"`
	Status  string           `json:"status"`
	Action  string           `json:"action,omitempty"`
	Changes []control.Change `json:"changes,omitempty"`
	Applied []control.Change `json:"applied,omitempty"`
	Note    string           `json:"note,omitempty"`
	// NotChecked says why a not-checked target was not verified.
	NotChecked  string   `json:"not_checked,omitempty"`
	Reason      string   `json:"reason,omitempty"`
	Error       string   `json:"error,omitempty"`
	SecurityHub []string `json:"security_hub"`
	CIS         []string `json:"cis"`
	// DependsOn names the controls apply runs before this one.
	DependsOn []string `json:"depends_on,omitempty"`
	// Accepted is the exception that accepts an accepted target's finding;
	// ExpiredException one that expired (the target is a finding again).
	Accepted         *engine.Acceptance `json:"accepted,omitempty"`
	ExpiredException *engine.Acceptance `json:"expired_exception,omitempty"`
	// Resources are the non-compliant resources' ids, where a control has
	// several per region.
	Resources []string `json:"resources,omitempty"`
	// Excepted are non-compliant resources an exception names: left as
	// they are.
	Excepted []engine.ExceptedResource `json:"excepted,omitempty"`
	// Destroys is what a destructive change deletes or turns off, one
	// entry per resource (see control.Loss).
	Destroys []control.Loss `json:"destroys,omitempty"`
	// DeferredUntil is when a deferred target's change can be made (RFC 3339).
	DeferredUntil string `json:"deferred_until,omitempty"`
	// Severity is the control's Security Hub (FSBP) severity: critical,
	// high, medium or low.
	Severity severity.Severity `json:"severity"`
	// Remediation says in one sentence what to do about a target that is
	// not compliant; DocURL is the control's documentation.
	Remediation string `json:"remediation,omitempty"`
	DocURL      string `json:"doc_url"`
}

// Summary counts targets by status; Compliant through Blocked add up to
// the number of results. NotCheckedUnexpected counts the not-checked
// targets whose reason leaves the baseline unverified (an SCP denial, say:
// not a region the account has not enabled). Changed counts the compliant targets that apply
// changed (their Applied is not empty), so for apply the targets that
// were already compliant are Compliant - Changed.
type Summary struct {
	Compliant    int `json:"compliant"`
	NonCompliant int `json:"noncompliant"`
	Unmanaged    int `json:"unmanaged"`
	Errors       int `json:"errors"`
	NotChecked   int `json:"not_checked"`
	// NotCheckedUnexpected is the part of NotChecked that fails an audit.
	NotCheckedUnexpected int `json:"not_checked_unverified"`
	Blocked              int `json:"blocked"`
	// Accepted counts findings an exception accepts.
	Accepted int `json:"accepted"`
	// Deferred counts changes that cannot be made yet.
	Deferred int `json:"deferred"`
	// Destructive counts the noncompliant targets whose change deletes or
	// turns off something that exists (results[].destroys).
	Destructive    int `json:"destructive"`
	SkippedRegions int `json:"skipped_regions"`
	Changed        int `json:"changed"`
}

// New builds the report of a run. Results keep the engine's order.
func New(cmd Command, accountID, homeRegion string, enabled []string, skipped []regions.Skip, results []engine.Result) Report {
	r := Report{
		Schema:          Schema,
		Command:         cmd,
		AccountID:       accountID,
		HomeRegion:      homeRegion,
		Regions:         append([]string{}, enabled...),
		SkippedRegions:  append([]regions.Skip{}, skipped...),
		Results:         make([]Result, 0, len(results)),
		StaleExceptions: []engine.Acceptance{},
		UsageCosts:      []UsageCost{},
	}
	costed := map[string]bool{}
	r.Summary.SkippedRegions = len(skipped)
	seen := map[string]bool{}
	for _, e := range results {
		if !seen[e.Control.ID] {
			seen[e.Control.ID] = true
			r.controls = append(r.controls, e.Control)
		}
		res := Result{
			Control:     e.Control.ID,
			Title:       e.Control.Title,
			Scope:       string(e.Control.Scope),
			Region:      e.Region,
			Status:      string(e.Status),
			Action:      string(e.Action),
			Changes:     cloneChanges(e.Changes),
			Applied:     cloneChanges(e.Applied),
			Note:        e.Note,
			NotChecked:  string(e.NotChecked),
			Reason:      e.Reason,
			SecurityHub: append([]string{}, e.Control.SecurityHub...),
			CIS:         append([]string{}, e.Control.CIS...),
			DependsOn:   append([]string(nil), e.Control.DependsOn...),
			Accepted:    e.Accepted,
			Resources:   append([]string(nil), e.Resources...),
			Excepted:    append([]engine.ExceptedResource(nil), e.Excepted...),
			Severity:    severity.OfControl(e.Control.ID, e.Control.SecurityHub),
			Remediation: remediation(e),
			DocURL:      DocURL(e.Control.ID),
		}
		res.ExpiredException = e.Expired
		if e.Err != nil {
			res.Error = e.Err.Error()
		}
		switch e.Status {
		case engine.Compliant:
			r.Summary.Compliant++
			if len(e.Applied) > 0 {
				r.Summary.Changed++
			}
		case engine.NonCompliant:
			r.Summary.NonCompliant++
			if len(e.Destroys) > 0 {
				r.Summary.Destructive++
				res.Destroys = append([]control.Loss(nil), e.Destroys...)
			}

		case engine.Unmanaged:
			r.Summary.Unmanaged++
		case engine.Error:
			r.Summary.Errors++
		case engine.NotChecked:
			r.Summary.NotChecked++
			if !e.NotChecked.Expected() {
				r.Summary.NotCheckedUnexpected++
			}
		case engine.Blocked:
			r.Summary.Blocked++
		case engine.Accepted:
			r.Summary.Accepted++
		case engine.Deferred:
			r.Summary.Deferred++
			if !e.Until.IsZero() {
				res.DeferredUntil = e.Until.UTC().Format(time.RFC3339)
			}
		}
		// A pending or deferred change of a usage-based control adds to
		// the bill once it is made: named once per control.
		if c := e.Control.Cost; c.UsageBased && (e.Status == engine.NonCompliant || e.Status == engine.Deferred) && !costed[e.Control.ID] {
			costed[e.Control.ID] = true
			r.UsageCosts = append(r.UsageCosts, UsageCost{Control: e.Control.ID, Drivers: c.Drivers})
		}
		r.Results = append(r.Results, res)
	}
	return r
}

// Failed is the report of a run that failed before it could check
// anything: a valid document that says why.
func Failed(cmd Command, err error) Report {
	return Report{
		Schema: Schema, Command: cmd, Regions: []string{}, SkippedRegions: []regions.Skip{},
		Results: []Result{}, StaleExceptions: []engine.Acceptance{}, UsageCosts: []UsageCost{}, Error: err.Error(),
	}
}

// remediation says what to do about a target that is not compliant, in
// one sentence; "" for a compliant one.
func remediation(e engine.Result) string {
	apply := "run 'harden apply --controls " + e.Control.ID
	if e.Control.Scope == control.Regional && e.Region != "" {
		apply += " --regions " + e.Region
	}
	apply += "'"
	desired := strings.TrimSuffix(e.Control.Desired, ".")
	switch e.Status {
	case engine.Compliant:
		return ""
	case engine.NonCompliant:
		if e.Withheld && e.Reason != "" {
			return upperFirst(strings.TrimSuffix(e.Reason, ".")) + "."
		}
	case engine.Unmanaged, engine.Error, engine.NotChecked, engine.Blocked:
		if e.Reason != "" {
			return upperFirst(strings.TrimSuffix(e.Reason, ".")) + "."
		}
	}
	if desired == "" {
		return upperFirst(apply) + "."
	}
	return upperFirst(apply) + " to reach the desired state: " + desired + "."
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func cloneChanges(cs []control.Change) []control.Change {
	if len(cs) == 0 {
		return nil
	}
	return append([]control.Change(nil), cs...)
}

// Render writes r in the format o asks for.
func Render(w io.Writer, r Report, o Options) error {
	if r.Error != "" && !o.Format.Machine() && o.Format != Markdown {
		_, err := fmt.Fprintf(w, "harden %s failed before it could check the account: %s\n", clean(string(r.Command)), clean(r.Error))
		return err
	}
	switch o.Format {
	case JSON:
		return writeJSON(w, r)
	case Table, "":
		if o.Styled {
			return renderStyled(w, r, o)
		}
		return renderText(w, r)
	case Text:
		return renderText(w, r)
	case SARIF:
		return writeSARIF(w, r, o)
	case JUnit:
		return writeJUnit(w, r)
	case Markdown:
		return writeMarkdown(w, r)
	default:
		_, err := ParseFormat(string(o.Format))
		return err
	}
}

// WriteJSON writes v as harden writes every JSON document (see writeJSON).
func WriteJSON(w io.Writer, v any) error { return writeJSON(w, v) }

// writeJSON writes v as json.MarshalIndent(v, "", "  ") does, with a final
// newline, and without escaping <, > and & (a desired state such as
// "length >= 14" stays readable).
func writeJSON(w io.Writer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("report: encode json: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}
