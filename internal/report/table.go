package report

import (
	"io"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/lipgloss/table"
	"github.com/charmbracelet/x/cellbuf"
	"github.com/muesli/termenv"

	"github.com/harden-dev/harden/internal/engine"
)

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
	width := o.width()
	// Lines outside the table wrap at spaces too, continuing indented.
	fit := func(st lipgloss.Style, l string) string {
		first, rest, _ := strings.Cut(wrapAtSpaces(l, width), "\n")
		lines := []string{st.Render(first)}
		if rest != "" {
			for _, c := range strings.Split(wrapAtSpaces(strings.ReplaceAll(rest, "\n", " "), width-2), "\n") {
				lines = append(lines, "  "+st.Render(c))
			}
		}
		return strings.Join(lines, "\n")
	}
	var sections [][]string
	sections = append(sections, []string{fit(s.bold, header(r))})
	if rs := rows(r, o.Detail); len(rs) > 0 {
		sections = append(sections, []string{resultsTable(s, rs, width)})
	}
	if ds := destructiveRows(r); len(ds) > 0 {
		sections = append(sections, []string{fit(s.red.Bold(true), destructiveHeading(r)), resultsTable(s, ds, width)})
	}
	if cl := costLines(r); len(cl) > 0 {
		lines := []string{fit(s.bold, cl[0])}
		for _, l := range cl[1:] {
			// Indented 2, continued at 4.
			first, rest, _ := strings.Cut(wrapAtSpaces(l, width-2), "\n")
			lines = append(lines, "  "+first)
			if rest != "" {
				for _, c := range strings.Split(wrapAtSpaces(strings.ReplaceAll(rest, "\n", " "), width-4), "\n") {
					lines = append(lines, "    "+c)
				}
			}
		}
		sections = append(sections, lines)
	}
	if sk := skippedRegionLines(r); len(sk) > 0 {
		for i, l := range sk {
			sk[i] = fit(s.faint, l)
		}
		sections = append(sections, sk)
	}
	var last []string
	if l := nothingToDo(r); l != "" {
		last = append(last, fit(s.green, l))
	}
	sections = append(sections, append(last, fit(s.summaryStyle(r), summaryLine(r))))
	return writeSections(w, sections)
}

func resultsTable(s styles, rs []row, width int) string {
	headers := []string{"", "CONTROL", "REGION", "STATUS", "DETAIL"}
	data := make([][]string, len(rs))
	for i, rw := range rs {
		// An arrow, not "->": a wrapped cell never breaks it after its
		// hyphen; and each change or part of the detail on its own line.
		detail := strings.ReplaceAll(strings.ReplaceAll(rw.detail, " -> ", " → "), "; ", "\n")
		data[i] = []string{rw.symbol, rw.control, rw.region, rw.word, detail}
	}
	style := func(ri, c int) lipgloss.Style {
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
	}
	return fitTable(s.minimalTable(), headers, data, style, width, shrink{2, 19, 14, true}, shrink{4, 30, 16, false})
}

// shrink says how narrow a column may become when a table is wider than
// the terminal: its cells then wrap at spaces and hyphens. The region
// column's minimum holds "17 regions (all but" on one line.
type shrink struct {
	// col narrows to soft first; only when every column is at its soft
	// minimum and the table is still too wide, down to min.
	col, soft, min int
	// spaces wraps the column's cells at spaces only (a region summary:
	// region names never break at their hyphens).
	spaces bool
}

// fitTable renders a table of headers and data no wider than width when
// it can, and reports whether it fits. When the table is too wide, the columns in shrinkable (the last
// column last among them) narrow, down to their minimum, and their cells
// are wrapped with the function lipgloss's table draws wrapped cells
// with (cellbuf.Wrap: at spaces and hyphens, mid-word only for a word
// longer than the column). The cells are wrapped before lipgloss sees
// them because lipgloss v1.1's table measures a wrapped row's height with
// another function (ansi.Wrap) than it draws it with, and cuts the lines
// that do not fit the row it measured: no cell's text is ever cut here.
func fitTable(t *table.Table, headers []string, data [][]string, style table.StyleFunc, width int, shrinkable ...shrink) string {
	out := trimLines(t.Headers(headers...).Rows(data...).StyleFunc(style).String())
	if lipgloss.Width(out) <= width || len(shrinkable) == 0 {
		return out
	}
	cols := len(headers)
	widths := make([]int, cols)
	for c := range headers {
		widths[c] = lipgloss.Width(headers[c])
		for _, cells := range data {
			widths[c] = max(widths[c], lipgloss.Width(cells[c]))
		}
	}
	gap := func(c int) int {
		if c < cols-1 {
			return colGap
		}
		return 0
	}
	total := func() int {
		n := 0
		for c, w := range widths {
			n += w + gap(c)
		}
		return n
	}
	// The shrinkable columns give from the left, each down to its
	// minimum: the last one (the detail, the title) keeps what is left.
	for pass := 0; pass < 2; pass++ {
		for _, sh := range shrinkable {
			if total() <= width {
				break
			}
			floor := sh.soft
			if pass == 1 {
				floor = sh.min
			}
			if widths[sh.col] > floor {
				widths[sh.col] = max(floor, widths[sh.col]-(total()-width))
			}
		}
	}
	wrapped := make([][]string, len(data))
	for r, cells := range data {
		wrapped[r] = append([]string(nil), cells...)
		for _, sh := range shrinkable {
			switch {
			case lipgloss.Width(cells[sh.col]) <= widths[sh.col]:
			case sh.spaces:
				wrapped[r][sh.col] = wrapAtSpaces(cells[sh.col], widths[sh.col])
			default:
				wrapped[r][sh.col] = cellbuf.Wrap(cells[sh.col], widths[sh.col], "")
			}
		}
	}
	return trimLines(t.Rows().ClearRows().Rows(wrapped...).String())
}

// wrapAtSpaces puts s's words on lines of at most width cells; a word
// longer than width has a line of its own.
func wrapAtSpaces(s string, width int) string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		switch {
		case line == "":
			line = w
		case lipgloss.Width(line)+1+lipgloss.Width(w) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	return strings.Join(append(lines, line), "\n")
}

// trimLines drops the padding a table leaves at the end of each line.
func trimLines(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}
