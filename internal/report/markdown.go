package report

import (
	"fmt"
	"io"
	"strings"
)

// writeMarkdown writes r as a Markdown summary for a pull-request comment
// or $GITHUB_STEP_SUMMARY: the header, the summary line, and a table of
// what is not compliant, grouped as the terminal groups it.
func writeMarkdown(w io.Writer, r Report) error {
	var b strings.Builder
	if r.Error != "" {
		fmt.Fprintf(&b, "### harden %s failed\n\n", mdEscape(string(r.Command)))
		fmt.Fprintf(&b, "**harden failed before it could check the account:** %s\n", mdEscape(clean(r.Error)))
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(&b, "### %s\n\n", mdEscape(header(r)))
	if l := nothingToDo(r); l != "" {
		fmt.Fprintf(&b, "%s\n\n", mdEscape(l))
	}
	fmt.Fprintf(&b, "**%s**\n", mdEscape(summaryLine(r)))
	rs := rows(r, false)
	if len(rs) > 0 {
		b.WriteString("\n|   | Control | Severity | Region | Status | Detail |\n|---|---|---|---|---|---|\n")
		sev := map[string]string{}
		for _, res := range r.Results {
			sev[res.Control] = string(res.Severity)
		}
		for _, rw := range rs {
			ctl := fmt.Sprintf("[`%s`](%s)", rw.control, DocURL(rw.control))
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", mdEscape(rw.symbol), ctl, mdEscape(sev[rw.control]),
				mdEscape(rw.region), mdEscape(rw.word), mdEscape(rw.detail))
		}
	}
	if ds := destructiveRows(r); len(ds) > 0 {
		fmt.Fprintf(&b, "\n**%s**\n\n", mdEscape(destructiveHeading(r)))
		for _, rw := range ds {
			fmt.Fprintf(&b, "- `%s` %s: %s\n", rw.control, mdEscape(rw.region), mdEscape(rw.detail))
		}
	}
	if cl := costLines(r); len(cl) > 0 {
		fmt.Fprintf(&b, "\n**%s**\n\n", mdEscape(cl[0]))
		for _, l := range cl[1:] {
			fmt.Fprintf(&b, "- %s\n", mdEscape(strings.TrimSpace(l)))
		}
	}
	if sk := skippedRegionLines(r); len(sk) > 0 {
		b.WriteString("\n")
		for _, l := range sk {
			fmt.Fprintf(&b, "- %s\n", mdEscape(l))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdEscape makes s safe in a Markdown table cell: pipes, HTML and the
// characters that would start emphasis or code are escaped.
func mdEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "|", `\|`, "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`, "`", "\\`")
	return r.Replace(clean(s))
}
