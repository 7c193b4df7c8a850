package main_test

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/creack/pty"
)

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]")

// On a real terminal of 80 and 120 columns, a fresh account's plan is one
// row per distinct change (8, not one per region: 58), every line fits the
// terminal, and progress is cleared from the screen.
func TestPlanOnATerminal(t *testing.T) {
	url := startFakeAWS(t)
	for _, cols := range []uint16{80, 120} {
		cmd := hardenCmd(url, t.TempDir(), "plan")
		tty, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: cols, Rows: 60})
		if err != nil {
			t.Fatal(err)
		}
		var screen bytes.Buffer
		io.Copy(&screen, tty) // until harden exits (EIO on Linux)
		cmd.Wait()
		tty.Close()
		if code := cmd.ProcessState.ExitCode(); code != 2 {
			t.Fatalf("%d columns: exit %d\n%s", cols, code, screen.String())
		}
		out := strings.ReplaceAll(screen.String(), "\r\n", "\n")
		// The progress line is drawn and erased with \r and "erase line".
		if !strings.Contains(out, "checked ") {
			t.Errorf("%d columns: no progress shown", cols)
		}
		if i := strings.LastIndex(out, "\r"); i >= 0 {
			out = out[i+1:]
		}
		plain := ansi.ReplaceAllString(out, "")
		rows := 0
		for _, l := range strings.Split(plain, "\n") {
			if utf8.RuneCountInString(l) > int(cols) {
				t.Errorf("%d columns: line of %d: %q", cols, utf8.RuneCountInString(l), l)
			}
			// The default VPC controls and vpc-flow-logs name each
			// region's own VPC, so their rows differ by region; every
			// other control groups.
			name := strings.TrimSpace(l[min(len(l), 1):])
			if len(l) > 3 && strings.ContainsAny(l[:1], "+~-!?*#=^>") && l[1:3] == "  " &&
				!strings.HasPrefix(name, "default-") && !strings.HasPrefix(name, "vpc-flow-logs ") {
				rows++
			}
		}
		if rows != 20 || !strings.Contains(plain, "17 regions") || !strings.Contains(plain, "Plan: 188 to change") {
			t.Errorf("%d columns: %d rows, want 20:\n%s", cols, rows, plain)
		}
		if !strings.Contains(out, "\x1b[") {
			t.Errorf("%d columns: no colour on a terminal", cols)
		}
	}
}

// On a real terminal, apply draws one progress line on stderr: done/total,
// the write in flight by control, region and step, and Security Hub's wait
// for its standards with the time so far; every drawing fits the terminal,
// and the line is erased before the report.
func TestApplyOnATerminal(t *testing.T) {
	const cols = 100
	url := startFakeAWS(t, "-standards-ready-after", "5") // about 3 s of waiting
	cmd := hardenCmd(url, t.TempDir(), "apply", "--yes", "--regions", "eu-west-1", "--controls", "log-archive,config-recorder,securityhub")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: cols, Rows: 60})
	if err != nil {
		t.Fatal(err)
	}
	var screen bytes.Buffer
	io.Copy(&screen, tty)
	cmd.Wait()
	tty.Close()
	out := strings.ReplaceAll(screen.String(), "\r\n", "\n")
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit %d\n%q", code, out)
	}
	for _, want := range []string{
		"\r\x1b[Kapplied 0/3 targets  log-archive us-east-1: CreateBucket",
		"\r\x1b[Kapplied 2/3 targets  securityhub eu-west-1: waiting for AWS Foundational Security Best Pract… (0 s)",
		"\r\x1b[Kapplied 2/3 targets  securityhub eu-west-1: waiting for AWS Foundational Security Best Pract… (1 s)",
		"\r\x1b[Kapplied 2/3 targets  securityhub eu-west-1: waiting for AWS Foundational Security Best Pract… (2 s)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q on the screen:\n%q", want, out)
		}
	}
	// Each drawing is what follows an erase, up to the next carriage
	// return or newline.
	for _, d := range strings.Split(out, "\r\x1b[K")[1:] {
		d, _, _ = strings.Cut(d, "\r")
		d, _, _ = strings.Cut(d, "\n")
		if n := utf8.RuneCountInString(ansi.ReplaceAllString(d, "")); n >= cols {
			t.Errorf("a progress line of %d columns on a terminal of %d: %q", n, cols, d)
		}
	}
	report := out[strings.LastIndex(out, "\r\x1b[K")+len("\r\x1b[K"):]
	if strings.Contains(report, "targets") || !strings.Contains(ansi.ReplaceAllString(report, ""), "Journal: ") {
		t.Errorf("the progress line was not erased before the report:\n%q", report)
	}
}
