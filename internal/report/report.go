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
)

// Formats lists the valid formats, in the order help text shows them.
var Formats = []Format{Table, Text, JSON}

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
const Schema = "harden.report/v2"

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
	// DeferredUntil is when a deferred target's change can be made (RFC 3339).
	DeferredUntil string `json:"deferred_until,omitempty"`
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
	Deferred       int `json:"deferred"`
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
	}
	r.Summary.SkippedRegions = len(skipped)
	for _, e := range results {
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
		r.Results = append(r.Results, res)
	}
	return r
}

func cloneChanges(cs []control.Change) []control.Change {
	if len(cs) == 0 {
		return nil
	}
	return append([]control.Change(nil), cs...)
}

// Render writes r in the format o asks for.
func Render(w io.Writer, r Report, o Options) error {
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
	default:
		_, err := ParseFormat(string(o.Format))
		return err
	}
}

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
