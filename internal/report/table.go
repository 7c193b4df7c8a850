package report

import (
	"io"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/lipgloss/table"
	"github.com/muesli/termenv"

	"github.com/harden-dev/harden/internal/engine"
)

// maxDetailLines caps a wrapped DETAIL cell; the rest is cut with "…"
// (the text and JSON formats keep everything).
const maxDetailLines = 10

// styles are the styles of the table format, bound to one renderer.
type styles struct {
	re        *lipgloss.Renderer
	bold      lipgloss.Style
	faint     lipgloss.Style
	green     lipgloss.Style
	yellow    lipgloss.Style
	red       lipgloss.Style
	border    lipgloss.Style
	plain     lipgloss.Style
	headerRow lipgloss.Style
}

// newStyles binds styles to a renderer for w with a fixed colour profile,
// so that the output does not depend on the environment.
func newStyles(w io.Writer) styles {
	re := lipgloss.NewRenderer(w, termenv.WithProfile(termenv.ANSI256))
	re.SetColorProfile(termenv.ANSI256)
	return styles{
		re:        re,
		bold:      re.NewStyle().Bold(true),
		faint:     re.NewStyle().Faint(true),
		green:     re.NewStyle().Foreground(lipgloss.Color("2")),
		yellow:    re.NewStyle().Foreground(lipgloss.Color("3")),
		red:       re.NewStyle().Foreground(lipgloss.Color("1")),
		border:    re.NewStyle().Faint(true),
		plain:     re.NewStyle(),
		headerRow: re.NewStyle().Bold(true),
	}
}

// kindStyle colours a symbol and status by the row's kind.
func (s styles) kindStyle(kind string) lipgloss.Style {
	switch kind {
	case string(engine.Compliant), statusChanged:
		return s.green
	case string(engine.NonCompliant), string(engine.Unmanaged):
		return s.yellow
	case string(engine.Error), string(engine.Blocked):
		return s.red
	case string(engine.NotChecked):
		return s.faint
	}
	return s.plain
}

// summaryStyle colours the summary line: red when something failed,
// yellow when something is left to do, green otherwise.
func (s styles) summaryStyle(r Report) lipgloss.Style {
	sum := r.Summary
	switch {
	case sum.Errors+sum.Blocked+sum.NotCheckedUnexpected > 0:
		return s.red.Bold(true)
	case sum.NonCompliant+sum.Unmanaged > 0:
		return s.yellow.Bold(true)
	}
	return s.green.Bold(true)
}

// minimalTable is a table with only a line under the header.
func (s styles) minimalTable() *table.Table {
	return table.New().
		Border(lipgloss.NormalBorder()).
		BorderStyle(s.border).
		BorderTop(false).BorderBottom(false).
		BorderLeft(false).BorderRight(false).
		BorderColumn(false).BorderRow(false).
		BorderHeader(true)
}

const colGap = 2

// renderStyled writes the report as a coloured table for a terminal.
func renderStyled(w io.Writer, r Report, o Options) error {
	s := newStyles(w)
	var sections [][]string
	sections = append(sections, []string{s.bold.Render(header(r))})
	if rs := rows(r); len(rs) > 0 {
		sections = append(sections, []string{resultsTable(s, rs, o.width())})
	}
	if sk := skippedRegionLines(r); len(sk) > 0 {
		for i, l := range sk {
			sk[i] = s.faint.Render(l)
		}
		sections = append(sections, sk)
	}
	var last []string
	if l := nothingToDo(r); l != "" {
		last = append(last, s.green.Render(l))
	}
	sections = append(sections, append(last, s.summaryStyle(r).Render(summaryLine(r))))
	return writeSections(w, sections)
}

func resultsTable(s styles, rs []row, width int) string {
	headers := []string{"", "CONTROL", "REGION", "STATUS", "DETAIL"}
	// The first four columns are as wide as their widest cell; DETAIL gets
	// the rest of the width and wraps.
	used := 0
	for c := 0; c < 4; c++ {
		cw := lipgloss.Width(headers[c])
		for _, rw := range rs {
			cw = max(cw, lipgloss.Width(cell(rw, c)))
		}
		used += cw + colGap
	}
	detailWidth := max(width-used, 16)
	data := make([][]string, len(rs))
	for i, rw := range rs {
		data[i] = []string{cell(rw, 0), cell(rw, 1), cell(rw, 2), cell(rw, 3), wrap(rw.detail, detailWidth)}
	}
	t := s.minimalTable().Headers(headers...).Rows(data...).
		StyleFunc(func(ri, c int) lipgloss.Style {
			st := s.plain
			if ri == table.HeaderRow {
				st = s.headerRow
			} else if ri >= 0 && ri < len(rs) && (c == 0 || c == 3) {
				st = s.kindStyle(rs[ri].kind)
			}
			if c < len(headers)-1 {
				st = st.PaddingRight(colGap)
			}
			return st
		})
	return trimLines(t.String())
}

func cell(rw row, c int) string {
	switch c {
	case 0:
		return rw.symbol
	case 1:
		return rw.control
	case 2:
		return rw.region
	case 3:
		return rw.word
	}
	return rw.detail
}

// wrap wraps s at spaces to lines of at most width cells, breaking words
// longer than a line, and keeps at most maxDetailLines lines.
func wrap(s string, width int) string {
	if lipgloss.Width(s) <= width {
		return s
	}
	var lines []string
	var line []rune
	lineWidth := 0
	flush := func() {
		lines = append(lines, string(line))
		line, lineWidth = line[:0:0], 0
	}
	for _, word := range strings.Fields(s) {
		ww := lipgloss.Width(word)
		if lineWidth > 0 && lineWidth+1+ww > width {
			flush()
		}
		if lineWidth > 0 {
			line, lineWidth = append(line, ' '), lineWidth+1
		}
		for _, c := range word {
			cw := lipgloss.Width(string(c))
			if lineWidth+cw > width {
				flush()
			}
			line, lineWidth = append(line, c), lineWidth+cw
		}
	}
	if lineWidth > 0 {
		flush()
	}
	if len(lines) > maxDetailLines {
		lines = lines[:maxDetailLines]
		last := []rune(lines[maxDetailLines-1])
		for len(last) > 0 && lipgloss.Width(string(last))+1 > width {
			last = last[:len(last)-1]
		}
		lines[maxDetailLines-1] = strings.TrimRight(string(last), " ") + "…"
	}
	return strings.Join(lines, "\n")
}

// trimLines drops the padding a table leaves at the end of each line.
func trimLines(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}
