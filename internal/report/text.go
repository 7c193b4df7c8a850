package report

import (
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/charmbracelet/lipgloss"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/engine"
)

// statusChanged is the word for a target apply changed; it is compliant.
const statusChanged = "changed"

// row is one line of the listing, shared by text and table.
type row struct {
	// kind colours the row: an engine status, or statusChanged.
	kind    string
	symbol  string
	control string
	// region is the target's region, or for a collapsed compliant row
	// "N regions" or the one region.
	region string
	// word is the STATUS column: the action, or the status.
	word   string
	detail string
	// collapsed marks a compliant row that stands for a control's
	// compliant targets; text writes it as "compliant in N regions".
	collapsed bool
	// count is the number of targets a collapsed row stands for.
	count int
}

// rows builds the listing: per control, in order of first appearance, one
// row per target that is not compliant (and per target apply changed), in
// result order, then one row for the control's compliant targets. Unless
// detail is set, targets of a control with the same status, action and
// detail (their region aside) share one row whose region column sums them
// up ("17 regions (all but us-east-1)").
func rows(r Report, detail bool) []row {
	type group struct {
		rows    []row
		regions [][]string
		// normalized marks rows whose details differ only by their own
		// region's name: the shared row says "each region" instead.
		normalized []bool
		keys       map[string]int
		compliant  []string
	}
	var order []string
	groups := map[string]*group{}
	for _, res := range r.Results {
		g := groups[res.Control]
		if g == nil {
			g = &group{keys: map[string]int{}}
			groups[res.Control] = g
			order = append(order, res.Control)
		}
		if res.Status == string(engine.Compliant) && len(res.Applied) == 0 {
			g.compliant = append(g.compliant, res.Region)
			continue
		}
		if apart(r, res) {
			continue // listed in the destructive section
		}
		rw := targetRow(res)
		if !detail {
			head := rw.kind + "\x00" + rw.symbol + "\x00" + rw.word + "\x00"
			raw, norm := head+"raw\x00"+rw.detail, head+"norm\x00"+withoutRegion(rw.detail, res.Region)
			if i, ok := g.keys[raw]; ok {
				g.regions[i] = append(g.regions[i], res.Region)
				continue
			}
			if i, ok := g.keys[norm]; ok {
				g.regions[i] = append(g.regions[i], res.Region)
				g.normalized[i] = true
				continue
			}
			g.keys[raw], g.keys[norm] = len(g.rows), len(g.rows)
		}
		g.rows = append(g.rows, rw)
		g.regions = append(g.regions, []string{res.Region})
		g.normalized = append(g.normalized, false)
	}
	var out []row
	for _, id := range order {
		g := groups[id]
		for i, rw := range g.rows {
			if regs := g.regions[i]; len(regs) > 1 {
				rw.region = clean(regionSummary(regs, r.Regions))
				if g.normalized[i] {
					rw.detail = withoutRegion(rw.detail, regs[0])
				}
				rw.count = len(regs)
			}
			out = append(out, rw)
		}
		if n := len(g.compliant); n > 0 {
			region := g.compliant[0]
			if n > 1 {
				region = fmt.Sprintf("%d regions", n)
			}
			out = append(out, row{
				kind: string(engine.Compliant), symbol: "=", control: clean(id),
				region: clean(region), word: string(engine.Compliant),
				collapsed: true, count: n,
			})
		}
	}
	return out
}

// withoutRegion replaces the region's name in a detail shared by several
// regions ("allow X for this identity in eu-west-1") by "each region".
func withoutRegion(detail, region string) string {
	if region == "" {
		return detail
	}
	return strings.ReplaceAll(detail, region, "each region")
}

// regionSummary names the regions a grouped row stands for, against all
// the run covers: "18 regions", "17 regions (all but us-east-1)",
// "2 regions (eu-west-1, us-east-1)".
func regionSummary(regs, all []string) string {
	n := len(regs)
	in := map[string]bool{}
	for _, r := range regs {
		in[r] = true
	}
	var missing []string
	for _, r := range all {
		if !in[r] {
			missing = append(missing, r)
		}
	}
	switch {
	case len(missing) == 0:
		return fmt.Sprintf("%d regions", n)
	case len(missing) <= 3 && len(missing) < n:
		return fmt.Sprintf("%d regions (all but %s)", n, strings.Join(missing, ", "))
	case n <= 3:
		return fmt.Sprintf("%d regions (%s)", n, strings.Join(regs, ", "))
	}
	return fmt.Sprintf("%d regions", n)
}

func targetRow(res Result) row {
	rw := row{kind: res.Status, control: clean(res.Control), region: clean(res.Region), word: res.Status}
	var detail string
	switch engine.Status(res.Status) {
	case engine.Compliant: // changed by apply; unchanged ones are collapsed
		rw.kind, rw.word = statusChanged, statusChanged
		rw.symbol = actionSymbol(res.Action)
		detail = changes(res.Applied)
	case engine.NonCompliant:
		rw.symbol = actionSymbol(res.Action)
		rw.word = res.Action
		if rw.word == "" {
			rw.word = "change"
		}
		detail = join(res.Reason, changes(res.Changes))
		if len(res.DependsOn) > 0 {
			detail = join(detail, "after "+strings.Join(res.DependsOn, ", "))
		}
	case engine.Unmanaged:
		rw.symbol = "?"
		detail = join(res.Reason, changes(res.Changes))
	case engine.Error:
		rw.symbol = "!"
		detail = join(res.Error, res.Reason)
		if len(res.Applied) > 0 {
			detail = join(detail, "applied before the error: "+changes(res.Applied))
		}
	case engine.NotChecked:
		rw.symbol = "*"
		detail = res.Reason
	case engine.Blocked:
		rw.symbol = "#"
		detail = res.Reason
	case engine.Deferred:
		rw.symbol = ">"
		detail = join(res.Reason, changes(res.Changes))
	case engine.Accepted:
		rw.symbol = "^"
		if a := res.Accepted; a != nil {
			detail = fmt.Sprintf("accepted until %s by %s: %s (%s)", a.Expires, a.Owner, a.Reason, a.Source)
		}
		detail = join(detail, changes(res.Changes))
	default:
		rw.kind = string(engine.Error)
		rw.symbol = "!"
		if rw.word == "" {
			rw.word = "unknown"
		}
		detail = join(res.Error, res.Reason)
	}
	if e := res.ExpiredException; e != nil {
		detail = join(detail, fmt.Sprintf("the exception at %s (%s) expired on %s", e.Source, e.Owner, e.Expires))
	}
	if res.Note != "" {
		if detail == "" {
			detail = "(" + res.Note + ")"
		} else {
			detail += " (" + res.Note + ")"
		}
	}
	rw.word = clean(rw.word)
	rw.detail = clean(detail)
	return rw
}

func actionSymbol(a string) string {
	switch control.Action(a) {
	case control.ActionCreate:
		return "+"
	case control.ActionDelete:
		return "-"
	default:
		return "~"
	}
}

// changes formats changes as "Field: current -> desired; ...".
func changes(cs []control.Change) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Field + ": " + orEmpty(c.Current) + " -> " + orEmpty(c.Desired)
	}
	return strings.Join(parts, "; ")
}

func orEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// join joins the non-empty parts with "; ".
func join(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}

// clean makes s one line a terminal shows as it is: line breaks and tabs
// become spaces, other control characters (escape sequences from an error
// message, say) are dropped.
func clean(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	var b strings.Builder
	for _, c := range s {
		switch {
		case c == '\n' || c == '\r' || c == '\t':
			b.WriteByte(' ')
		case unicode.IsControl(c):
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// apart reports whether res is a destructive change that plan and apply
// list in a section of their own, after the others.
func apart(r Report, res Result) bool {
	return (r.Command == Plan || r.Command == Apply) && res.Status == string(engine.NonCompliant) && len(res.Destroys) > 0
}

// destructiveRows are the destructive changes, one row per target: what
// each deletes or turns off (its blast radius), then its changes.
func destructiveRows(r Report) []row {
	var out []row
	for _, res := range r.Results {
		if !apart(r, res) {
			continue
		}
		rw := targetRow(Result{Control: res.Control, Region: res.Region, Status: res.Status, Action: res.Action})
		var whats []string
		for _, l := range res.Destroys {
			whats = append(whats, l.What)
		}
		rw.detail = clean(join(res.Reason, strings.Join(whats, "; "), changes(res.Changes)))
		out = append(out, rw)
	}
	return out
}

// destructiveHeading introduces the destructive section.
func destructiveHeading(r Report) string {
	if r.Command == Apply {
		return fmt.Sprintf("Destructive changes not made (%d): the account is not at the baseline until they are:", r.Summary.Destructive)
	}
	return fmt.Sprintf("Destructive changes (%d), listed apart: apply asks for these separately, by typing their number; "+
		"with --yes or a plan file they need --allow-destructive or allow_destructive: true in harden.yaml:", r.Summary.Destructive)
}

// costLines list, for a plan, the usage-based controls with a change
// pending, once each: what AWS bills once they are applied.
func costLines(r Report) []string {
	if r.Command != Plan || len(r.UsageCosts) == 0 {
		return nil
	}
	out := []string{"Usage-based cost once applied (AWS bills these by use):"}
	for _, c := range r.UsageCosts {
		out = append(out, "  "+clean(c.Control)+": "+clean(c.Drivers))
	}
	return out
}

// header is the first line: what ran, where.
func header(r Report) string {
	s := fmt.Sprintf("harden %s: account %s, home region %s, %s",
		clean(string(r.Command)), clean(r.AccountID), clean(r.HomeRegion), plural(len(r.Regions), "region", "regions"))
	if n := len(r.SkippedRegions); n > 0 {
		s += fmt.Sprintf(", %d skipped", n)
	}
	return s
}

// skippedRegionLines says which regions were left out and why, and warns
// of exceptions that accept nothing.
func skippedRegionLines(r Report) []string {
	out := make([]string, 0, len(r.SkippedRegions)+len(r.StaleExceptions))
	for _, s := range r.SkippedRegions {
		out = append(out, "skipped region "+clean(s.Region)+": "+clean(s.Reason))
	}
	for _, e := range r.StaleExceptions {
		out = append(out, "warning: the exception at "+clean(e.Source)+" ("+clean(e.Owner)+") matches no finding: remove it, or fix what it names")
	}
	return out
}

// nothingToDo is the line before the summary when every selected target
// was checked and is compliant, or "" otherwise: a target not checked, for
// whatever reason, never counts as matching the baseline.
func nothingToDo(r Report) string {
	s := r.Summary
	if s.NonCompliant+s.Unmanaged+s.Errors+s.Blocked+s.NotChecked > 0 || len(r.Results) == 0 {
		return ""
	}
	if s.Deferred > 0 && s.Accepted == 0 {
		switch r.Command {
		case Plan, Apply, Audit:
			return fmt.Sprintf("Nothing to change now: %s (a later apply makes it).",
				plural(s.Deferred, "change is deferred", "changes are deferred"))
		}
		return ""
	}
	if s.Accepted > 0 {
		// Not "matches the baseline": it does not, by choice.
		switch r.Command {
		case Plan, Apply:
			return fmt.Sprintf("No changes to make: %s accepted by exceptions.", plural(s.Accepted, "finding is", "findings are"))
		case Audit:
			return fmt.Sprintf("No open findings: %s accepted by exceptions.", plural(s.Accepted, "finding is", "findings are"))
		}
		return ""
	}
	switch r.Command {
	case Plan:
		return "No changes: the account matches the baseline."
	case Audit:
		return "No findings: the account matches the baseline."
	case Apply:
		if s.Changed == 0 {
			return "No changes: the account already matched the baseline."
		}
	}
	return ""
}

// summaryLine is the last line: the counts, zero parts left out except the
// first two.
func summaryLine(r Report) string {
	s := r.Summary
	var head string
	var parts []string
	switch r.Command {
	case Audit:
		head = "Audit"
		parts = []string{plural(s.NonCompliant+s.Unmanaged, "finding", "findings"), fmt.Sprintf("%d compliant", s.Compliant)}
	case Apply:
		head = "Apply"
		parts = []string{fmt.Sprintf("%d changed", s.Changed), fmt.Sprintf("%d compliant", s.Compliant-s.Changed)}
		if s.NonCompliant > 0 {
			parts = append(parts, fmt.Sprintf("%d not applied", s.NonCompliant))
		}
	default:
		head = "Plan"
		if r.Command != "" && r.Command != Plan {
			c := clean(string(r.Command))
			head = strings.ToUpper(c[:1]) + c[1:]
		}
		parts = []string{fmt.Sprintf("%d to change", s.NonCompliant)}
		if s.Destructive > 0 {
			parts = append(parts, fmt.Sprintf("%d destructive", s.Destructive))
		}
		parts = append(parts, fmt.Sprintf("%d compliant", s.Compliant))
	}
	if s.Unmanaged > 0 {
		parts = append(parts, fmt.Sprintf("%d unmanaged", s.Unmanaged))
	}
	if s.Errors > 0 {
		parts = append(parts, plural(s.Errors, "error", "errors"))
	}
	if s.Blocked > 0 {
		parts = append(parts, fmt.Sprintf("%d blocked", s.Blocked))
	}
	if s.NotChecked > 0 {
		parts = append(parts, fmt.Sprintf("%d not checked", s.NotChecked))
	}
	if s.Accepted > 0 {
		parts = append(parts, fmt.Sprintf("%d accepted", s.Accepted))
	}
	if s.Deferred > 0 {
		parts = append(parts, fmt.Sprintf("%d deferred", s.Deferred))
	}
	if s.SkippedRegions > 0 {
		parts = append(parts, plural(s.SkippedRegions, "region skipped", "regions skipped"))
	}
	return head + ": " + strings.Join(parts, ", ") + "."
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// renderText writes the plain listing: no escape sequences, columns
// aligned with spaces over the whole listing, one target per line.
func renderText(w io.Writer, r Report) error {
	var sections [][]string
	sections = append(sections, []string{header(r)})
	// The destructive section's columns line up with the listing's.
	rs, ds := rows(r, true), destructiveRows(r)
	lines := textRows(append(append([]row(nil), rs...), ds...))
	if len(rs) > 0 {
		sections = append(sections, lines[:len(rs)])
	}
	if len(ds) > 0 {
		sections = append(sections, append([]string{destructiveHeading(r)}, lines[len(rs):]...))
	}
	if cl := costLines(r); len(cl) > 0 {
		sections = append(sections, cl)
	}
	if sk := skippedRegionLines(r); len(sk) > 0 {
		sections = append(sections, sk)
	}
	var last []string
	if l := nothingToDo(r); l != "" {
		last = append(last, l)
	}
	sections = append(sections, append(last, summaryLine(r)))
	return writeSections(w, sections)
}

func writeSections(w io.Writer, sections [][]string) error {
	var b strings.Builder
	for i, sec := range sections {
		if i > 0 {
			b.WriteByte('\n')
		}
		for _, l := range sec {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func textRows(rs []row) []string {
	var wc, wr, ww int
	for _, rw := range rs {
		wc = max(wc, lipgloss.Width(rw.control))
		if !rw.collapsed {
			wr = max(wr, lipgloss.Width(rw.region))
			ww = max(ww, lipgloss.Width(rw.word))
		}
	}
	out := make([]string, len(rs))
	for i, rw := range rs {
		var l string
		if rw.collapsed {
			what := "compliant (" + rw.region + ")"
			if rw.count > 1 {
				what = "compliant in " + rw.region
			}
			l = rw.symbol + " " + pad(rw.control, wc) + "  " + what
		} else {
			l = rw.symbol + " " + pad(rw.control, wc) + "  " + pad(rw.region, wr) + "  " + pad(rw.word, ww) + "  " + rw.detail
		}
		out[i] = strings.TrimRight(l, " ")
	}
	return out
}

func pad(s string, w int) string {
	if n := w - lipgloss.Width(s); n > 0 {
		return s + strings.Repeat(" ", n)
	}
	return s
}
