package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/lipgloss/table"
	"github.com/charmbracelet/x/cellbuf"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/report/severity"
)

// ControlsSchema identifies the JSON controls listing.
const ControlsSchema = "harden.controls/v1"

type controlsDoc struct {
	Schema   string        `json:"schema"`
	Controls []controlJSON `json:"controls"`
}

type controlJSON struct {
	ID           string   `json:"id"`
	Title        string   `json:"title"`
	Scope        string   `json:"scope"`
	Desired      string   `json:"desired"`
	SecurityHub  []string `json:"security_hub"`
	CIS          []string `json:"cis"`
	Destructive  bool     `json:"destructive"`
	DependsOn    []string `json:"depends_on"`
	ReadActions  []string `json:"read_actions"`
	WriteActions []string `json:"write_actions"`
	// Severity and DocURL were added within v1.
	Severity severity.Severity `json:"severity"`
	DocURL   string            `json:"doc_url"`
	// Cost was added within v1.
	Cost control.Cost `json:"cost"`
}

var controlHeaders = []string{"ID", "SCOPE", "DESTRUCTIVE", "COST", "DEPENDS ON", "SECURITY HUB", "CIS", "TITLE"}

// RenderControls writes the control registry: what `harden controls` shows.
func RenderControls(w io.Writer, infos []control.Info, o Options) error {
	switch o.Format {
	case JSON:
		doc := controlsDoc{Schema: ControlsSchema, Controls: make([]controlJSON, len(infos))}
		for i, in := range infos {
			doc.Controls[i] = controlJSON{
				ID:           in.ID,
				Title:        in.Title,
				Scope:        string(in.Scope),
				Desired:      in.Desired,
				SecurityHub:  append([]string{}, in.SecurityHub...),
				CIS:          append([]string{}, in.CIS...),
				Destructive:  in.Destructive,
				DependsOn:    append([]string{}, in.DependsOn...),
				ReadActions:  append([]string{}, in.ReadActions...),
				WriteActions: append([]string{}, in.WriteActions...),
				Severity:     severity.OfControl(in.ID, in.SecurityHub),
				DocURL:       DocURL(in.ID),
				Cost:         in.Cost,
			}
		}
		return writeJSON(w, doc)
	case Table, "":
		if o.Styled {
			return controlsTable(w, infos, o.width())
		}
		return controlsText(w, infos)
	case Text:
		return controlsText(w, infos)
	case Markdown:
		return controlsMarkdown(w, infos)
	case SARIF, JUnit:
		return fmt.Errorf("harden controls prints table, text, json or markdown, not %s", o.Format)
	default:
		_, err := ParseFormat(string(o.Format))
		return err
	}
}

func controlCells(in control.Info) []string {
	destructive := "no"
	if in.Destructive {
		destructive = "yes"
	}
	return []string{clean(in.ID), clean(string(in.Scope)), destructive, costWord(in.Cost), ids(in.DependsOn), ids(in.SecurityHub), ids(in.CIS), clean(in.Title)}
}

// costWord is the COST column: "usage" for a usage-based control, else
// "free".
func costWord(c control.Cost) string {
	if c.UsageBased {
		return "usage"
	}
	return "free"
}

func ids(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return clean(strings.Join(s, ","))
}

func controlsText(w io.Writer, infos []control.Info) error {
	all := [][]string{controlHeaders}
	for _, in := range infos {
		all = append(all, controlCells(in))
	}
	widths := make([]int, len(controlHeaders))
	for _, cells := range all {
		for c, v := range cells {
			widths[c] = max(widths[c], lipgloss.Width(v))
		}
	}
	lines := make([]string, len(all))
	for i, cells := range all {
		var b strings.Builder
		for c, v := range cells {
			if c < len(cells)-1 {
				b.WriteString(pad(v, widths[c]) + "  ")
			} else {
				b.WriteString(v)
			}
		}
		lines[i] = strings.TrimRight(b.String(), " ")
	}
	return writeSections(w, [][]string{lines})
}

func controlsTable(w io.Writer, infos []control.Info, width int) error {
	s := newStyles(w)
	data := make([][]string, len(infos))
	for i, in := range infos {
		data[i] = controlCells(in)
		// Lists wrap at ", " in a narrow column.
		for c := 4; c <= 6; c++ {
			data[i][c] = strings.ReplaceAll(data[i][c], ",", ", ")
		}
	}
	style := func(ri, c int) lipgloss.Style {
		st := s.plain
		switch {
		case ri == table.HeaderRow:
			st = s.headerRow
		case c == 2 && ri >= 0 && ri < len(infos) && infos[ri].Destructive:
			st = s.red
		case c == 0:
			st = s.bold
		case c == 3 && ri >= 0 && ri < len(infos) && infos[ri].Cost.UsageBased:
			st = s.yellow
		}
		if c < len(controlHeaders)-1 {
			st = st.PaddingRight(colGap)
		}
		return st
	}
	out := fitTable(s.minimalTable(), controlHeaders, data, style, width,
		shrink{4, 10, 9, false}, shrink{5, 13, 13, true}, shrink{6, 8, 8, true}, shrink{7, 24, 16, false})
	if lipgloss.Width(out) > width {
		// Too narrow for the columns: one block per control.
		return writeSections(w, [][]string{controlBlocks(s, infos, width)})
	}
	return writeSections(w, [][]string{{out}})
}

// controlBlocks lists controls for a narrow terminal: the id and title,
// then the rest wrapped under them.
func controlBlocks(s styles, infos []control.Info, width int) []string {
	var out []string
	for _, in := range infos {
		parts := []string{string(in.Scope)}
		if head := clean(in.ID) + "  " + clean(in.Title); lipgloss.Width(head) <= width {
			out = append(out, s.bold.Render(clean(in.ID))+"  "+clean(in.Title))
		} else {
			out = append(out, s.bold.Render(clean(in.ID)))
			parts = append([]string{clean(in.Title)}, parts...)
		}
		if sev := severity.OfControl(in.ID, in.SecurityHub); sev != severity.None {
			parts = append(parts, "severity "+string(sev))
		}
		if len(in.SecurityHub) > 0 {
			parts = append(parts, "Security Hub "+strings.Join(in.SecurityHub, ", "))
		}
		if len(in.CIS) > 0 {
			parts = append(parts, "CIS "+strings.Join(in.CIS, ", "))
		}
		if len(in.DependsOn) > 0 {
			parts = append(parts, "after "+strings.Join(in.DependsOn, ", "))
		}
		if in.Destructive {
			parts = append(parts, "destructive")
		}
		if in.Cost.UsageBased {
			parts = append(parts, "usage-based cost: "+clean(in.Cost.Drivers))
		} else {
			parts = append(parts, "free")
		}
		for _, l := range strings.Split(cellbuf.Wrap(clean(strings.Join(parts, " · ")), max(width-2, 20), ""), "\n") {
			l = strings.Replace(l, "destructive", s.red.Render("destructive"), 1)
			out = append(out, "  "+l)
		}
	}
	return out
}

func controlsMarkdown(w io.Writer, infos []control.Info) error {
	var b strings.Builder
	b.WriteString("| Control | Scope | Severity | Destructive | Cost | Depends on | Security Hub | CIS | Title |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, in := range infos {
		c := controlCells(in)
		cost := c[3]
		if in.Cost.Drivers != "" {
			cost += ": " + in.Cost.Drivers
		}
		fmt.Fprintf(&b, "| [`%s`](%s) | %s | %s | %s | %s | %s | %s | %s | %s |\n", c[0], DocURL(in.ID), mdEscape(c[1]),
			orNone(string(severity.OfControl(in.ID, in.SecurityHub))), mdEscape(c[2]), mdEscape(cost), mdEscape(c[4]), mdEscape(c[5]), mdEscape(c[6]), mdEscape(c[7]))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
