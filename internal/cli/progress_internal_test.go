package cli

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/report"
)

// lockedBuffer is a bytes.Buffer the ticker and the test may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Without a terminal on stderr, or with a machine format, there is no
// progress: not a byte, whatever is reported.
func TestProgressPipedOrMachine(t *testing.T) {
	for _, tc := range []struct {
		tty    bool
		format report.Format
	}{{false, report.Table}, {false, report.Text}, {true, report.JSON}, {true, report.SARIF}, {true, report.JUnit}} {
		var errb bytes.Buffer
		p := newProgress(IO{Err: &errb, StderrTTY: tc.tty, Width: 80}, "applied", tc.format)
		if p != nil || p.callback() != nil || p.monitor() != nil {
			t.Fatalf("tty %v, %s: progress %+v", tc.tty, tc.format, p)
		}
		// The engine is given nil callbacks; the apply command still
		// calls these.
		p.start(3)
		p.update(1, 3)
		p.done()
		ctx := control.WithMonitor(t.Context(), p.monitor())
		control.Waiting(ctx, "waiting for the widget")()
		if errb.Len() != 0 {
			t.Fatalf("tty %v, %s: %q", tc.tty, tc.format, errb.String())
		}
	}
}

// On a terminal: done/total, then the newest activity in flight beside
// it; a wait shows its time, redrawn as it goes, without drawing the same
// line twice; an activity's end brings back the one before; done clears
// the line, and nothing is drawn after.
func TestProgressOnATerminal(t *testing.T) {
	var out lockedBuffer
	clock := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	p := newProgress(IO{Err: &out, StderrTTY: true, Width: 200}, "applied", report.Table)
	p.now, p.tick = clock.now, time.Millisecond
	const clear = "\r\x1b[K"

	p.start(5)
	if got := out.String(); got != clear+"applied 0/5 targets" {
		t.Fatalf("start: %q", got)
	}
	mon := p.monitor()
	endWrite := mon(control.Activity{Control: "log-archive", Region: "us-east-1", What: "CreateBucket", Started: clock.now()})
	if got := out.String(); !strings.HasSuffix(got, clear+"applied 0/5 targets  log-archive us-east-1: CreateBucket") {
		t.Fatalf("write: %q", got)
	}
	endWait := mon(control.Activity{Control: "securityhub", Region: "eu-west-1", Wait: true, Started: clock.now(),
		What: "waiting for CIS AWS Foundations Benchmark v5.0.0 to be READY"})
	wait := "securityhub eu-west-1: waiting for CIS AWS Foundations Benchmark v5.0.0 to be READY"
	if got := out.String(); !strings.HasSuffix(got, clear+"applied 0/5 targets  "+wait+" (0 s)") {
		t.Fatalf("wait: %q", got)
	}
	// Many ticks at the same second draw nothing new.
	before := out.String()
	time.Sleep(50 * time.Millisecond)
	if got := out.String(); got != before {
		t.Fatalf("ticks redrew an unchanged line: %q", strings.TrimPrefix(got, before))
	}
	clock.add(12 * time.Second)
	waitFor(t, &out, clear+"applied 0/5 targets  "+wait+" (12 s)")
	clock.add(2 * time.Minute)
	waitFor(t, &out, wait+" (2 min 12 s)")
	p.update(1, 5)
	if got := out.String(); !strings.HasSuffix(got, clear+"applied 1/5 targets  "+wait+" (2 min 12 s)") {
		t.Fatalf("update: %q", got)
	}
	endWait()
	endWait() // a second end is harmless
	if got := out.String(); !strings.HasSuffix(got, clear+"applied 1/5 targets  log-archive us-east-1: CreateBucket") {
		t.Fatalf("after the wait: %q", got)
	}
	endWrite()
	if got := out.String(); !strings.HasSuffix(got, clear+"applied 1/5 targets") {
		t.Fatalf("nothing in flight: %q", got)
	}
	p.done()
	if got := out.String(); !strings.HasSuffix(got, "applied 1/5 targets"+clear) {
		t.Fatalf("done: %q", got)
	}
	n := len(out.String())
	mon(control.Activity{Control: "late", Region: "r", What: "X", Wait: true})()
	p.update(5, 5)
	p.done()
	if len(out.String()) != n {
		t.Fatalf("drawn after done: %q", out.String()[n:])
	}
}

func waitFor(t *testing.T, out *lockedBuffer, suffix string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.HasSuffix(out.String(), suffix) {
		if time.Now().After(deadline) {
			t.Fatalf("the ticker never drew %q: %q", suffix, out.String())
		}
		time.Sleep(time.Millisecond)
	}
}

// The line never wraps: it is cut to the terminal's width, less one.
func TestProgressLineFitsTheTerminal(t *testing.T) {
	var out lockedBuffer
	p := newProgress(IO{Err: &out, StderrTTY: true, Width: 40}, "applied", report.Table)
	p.start(58)
	end := p.monitor()(control.Activity{Control: "cloudtrail-alarms", Region: "ap-southeast-2", What: "PutMetricFilter"})
	line := strings.TrimPrefix(out.String()[strings.LastIndex(out.String(), "\r"):], "\r\x1b[K")
	if n := len([]rune(line)); n != 39 || !strings.HasSuffix(line, "…") || !strings.HasPrefix(line, "applied 0/58 targets  cloudtrail-alarm") {
		t.Fatalf("line of %d: %q", n, line)
	}
	end()
	p.done()
	// A wait gives up the words of what it waits for, not its time.
	out = lockedBuffer{}
	p = newProgress(IO{Err: &out, StderrTTY: true, Width: 70}, "applied", report.Table)
	p.start(58)
	endWait := p.monitor()(control.Activity{Control: "securityhub", Region: "eu-west-1", Wait: true,
		What: "waiting for CIS AWS Foundations Benchmark v5.0.0 to be READY"})
	line = strings.TrimPrefix(out.String()[strings.LastIndex(out.String(), "\r"):], "\r\x1b[K")
	if n := len([]rune(line)); n != 69 || !strings.HasSuffix(line, "… (0 s)") || !strings.Contains(line, "securityhub eu-west-1: waiting for") {
		t.Fatalf("wait line of %d: %q", n, line)
	}
	endWait()
	p.done()
	if got := newProgress(IO{Err: &out, StderrTTY: true, StderrWidth: 30, Width: 200}, "x", report.Table).width; got != 30 {
		t.Fatalf("width %d, want stderr's 30", got)
	}
	if got := newProgress(IO{Err: &out, StderrTTY: true}, "x", report.Table).width; got != 80 {
		t.Fatalf("width %d, want 80 when unknown", got)
	}
}

// A rollback's line counts steps and names the step in flight, cut to
// the terminal's width; piped or with a machine format there is none.
func TestProgressRollbackSteps(t *testing.T) {
	var out bytes.Buffer
	p := newStepProgress(IO{Err: &out, StderrTTY: true, Width: 60}, "rolled back", report.Table)
	cb := p.steps()
	cb(1, 3, "log-archive us-east-1: delete bucket harden-logs-123456789012-us-east-1")
	p.done()
	lines := strings.Split(out.String(), "\r\x1b[K")
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "rolled back 1/3 steps  log-archive us-east-1: delete") {
		t.Fatalf("line: %q", out.String())
	}
	if n := len([]rune(lines[1])); n > 59 {
		t.Fatalf("line of %d runes on a 60-column terminal: %q", n, lines[1])
	}
	if !strings.HasSuffix(out.String(), "\r\x1b[K") {
		t.Fatalf("line not cleared at the end: %q", out.String())
	}
	for _, io := range []IO{{Err: &out, StdoutTTY: true, Width: 80}, {Err: &out, StderrTTY: true, Width: 80}} {
		format := report.Table
		if io.StderrTTY {
			format = report.JSON
		}
		if p := newStepProgress(io, "rolled back", format); p != nil || p.steps() != nil {
			t.Fatalf("%+v, %s: progress %+v", io, format, p)
		}
	}
}
