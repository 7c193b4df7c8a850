package report

import (
	"io"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/lipgloss/table"

	"github.com/harden-dev/harden/internal/control"
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
}

var controlHeaders = []string{"ID", "SCOPE", "DESTRUCTIVE", "DEPENDS ON", "SECURITY HUB", "CIS", "TITLE"}

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
			}
		}
		return writeJSON(w, doc)
	case Table, "":
		if o.Styled {
			return controlsTable(w, infos)
		}
		return controlsText(w, infos)
	case Text:
		return controlsText(w, infos)
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
	return []string{clean(in.ID), clean(string(in.Scope)), destructive, ids(in.DependsOn), ids(in.SecurityHub), ids(in.CIS), clean(in.Title)}
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

func controlsTable(w io.Writer, infos []control.Info) error {
	s := newStyles(w)
	data := make([][]string, len(infos))
	for i, in := range infos {
		data[i] = controlCells(in)
	}
	t := s.minimalTable().Headers(controlHeaders...).Rows(data...).
		StyleFunc(func(ri, c int) lipgloss.Style {
			st := s.plain
			switch {
			case ri == table.HeaderRow:
				st = s.headerRow
			case c == 2 && ri >= 0 && ri < len(infos) && infos[ri].Destructive:
				st = s.red
			case c == 0:
				st = s.bold
			}
			if c < len(controlHeaders)-1 {
				st = st.PaddingRight(colGap)
			}
			return st
		})
	return writeSections(w, [][]string{{trimLines(t.String())}})
}
