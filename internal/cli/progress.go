package cli

import (
	"fmt"
	"io"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/report"
	"github.com/harden-dev/harden/internal/run"
)

// progress is one status line on a terminal's stderr, rewritten in place
// while a run goes: how many targets are done ("applied 3/58 targets"),
// or a rollback's steps ("rolled back 4/12 steps" and the step in flight),
// and, during apply, what is in flight: the newest write or wait still
// going, a wait with the time it has taken so far, redrawn every second
// ("securityhub eu-west-1: waiting for ... to be READY (12 s)"). done
// clears it. Without a terminal on stderr, or with -o json (or another
// machine format), there is no progress at all: a nil *progress, whose
// methods do nothing.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	width int
	verb  string
	// unit is what is counted: "targets", or "steps" for a rollback.
	unit string
	// current is the rollback step in flight ("" when none).
	current string
	// counted: done and total are known (an update or start came).
	counted         bool
	finished, total int
	// active are the activities in flight, oldest first.
	active []*control.Activity
	// line is the line as drawn; "" when nothing is shown.
	line   string
	closed bool

	now  func() time.Time
	tick time.Duration
	// ticking: a goroutine redraws every tick while a wait is in flight;
	// stop ends it.
	ticking bool
	stop    chan struct{}
	wg      sync.WaitGroup
}

func newProgress(stdio IO, verb string, format report.Format) *progress {
	if !stdio.StderrTTY || format.Machine() {
		return nil
	}
	// The line is cut to stderr's width, else stdout's (the same
	// terminal, most likely), else 80 columns.
	width := stdio.StderrWidth
	if width <= 0 {
		width = stdio.Width
	}
	if width <= 0 {
		width = 80
	}
	return &progress{w: stdio.Err, width: width, verb: verb, unit: "targets", now: time.Now, tick: time.Second, stop: make(chan struct{})}
}

// newStepProgress is newProgress counting a rollback's steps.
func newStepProgress(stdio IO, verb string, format report.Format) *progress {
	p := newProgress(stdio, verb, format)
	if p != nil {
		p.unit = "steps"
	}
	return p
}

// steps returns the rollback's progress callback, nil without a terminal.
func (p *progress) steps() run.Progress {
	if p == nil {
		return nil
	}
	return func(done, total int, current string) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.counted, p.finished, p.total, p.current = true, done, total, current
		p.draw()
	}
}

// start shows done/total before the first target is done.
func (p *progress) start(total int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counted, p.total = true, total
	p.draw()
}

// update is the engine's progress callback.
func (p *progress) update(done, total int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counted, p.finished, p.total = true, done, total
	p.draw()
}

// activity is the engine's activity monitor (control.Monitor).
func (p *progress) activity(a control.Activity) func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a.Started.IsZero() {
		a.Started = p.now()
	}
	act := &a
	p.active = append(p.active, act)
	if a.Wait && !p.ticking && !p.closed {
		p.ticking = true
		p.wg.Add(1)
		go p.ticker()
	}
	p.draw()
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			for i, x := range p.active {
				if x == act {
					p.active = append(p.active[:i], p.active[i+1:]...)
					break
				}
			}
			p.draw()
		})
	}
}

// ticker redraws the line every tick, so that a wait's time goes on,
// until no wait is in flight or done is called.
func (p *progress) ticker() {
	defer p.wg.Done()
	t := time.NewTicker(p.tick)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		p.mu.Lock()
		waiting := false
		for _, a := range p.active {
			waiting = waiting || a.Wait
		}
		if !waiting {
			p.ticking = false
			p.mu.Unlock()
			return
		}
		p.draw()
		p.mu.Unlock()
	}
}

// draw rewrites the line if it changed: "\r", erase the line, the line,
// cut to the terminal's width so that it never wraps. p.mu is held.
func (p *progress) draw() {
	if p.closed {
		return
	}
	line := ""
	if p.counted {
		line = fmt.Sprintf("%s %d/%d %s", p.verb, p.finished, p.total, p.unit)
	}
	if p.current != "" && len(p.active) == 0 {
		line += "  " + p.current
	}
	if n := len(p.active); n > 0 {
		a := p.active[n-1]
		if line != "" {
			line += "  "
		}
		line += a.Control + " " + a.Region + ": "
		tail := ""
		if a.Wait {
			tail = " (" + elapsed(p.now().Sub(a.Started)) + ")"
		}
		// What gives way first: the time a wait has taken is what moves.
		room := p.width - 1 - utf8.RuneCountInString(line) - utf8.RuneCountInString(tail)
		line += cut(a.What, max(room, 1)) + tail
	}
	line = cut(line, p.width-1)
	if line == p.line {
		return
	}
	fmt.Fprint(p.w, "\r\x1b[K"+line)
	p.line = line
}

// done stops the line and clears it.
func (p *progress) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.stop)
	p.mu.Unlock()
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.line != "" {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.line = ""
	}
}

// callback returns the engine's progress callback, nil without a terminal.
func (p *progress) callback() engine.ProgressFunc {
	if p == nil {
		return nil
	}
	return p.update
}

// monitor returns the engine's activity monitor, nil without a terminal:
// then nothing is announced at all.
func (p *progress) monitor() control.Monitor {
	if p == nil {
		return nil
	}
	return p.activity
}

// elapsed is a wait's time so far, in whole seconds: "12 s", "2 min 5 s".
func elapsed(d time.Duration) string {
	s := int(d / time.Second)
	if s < 60 {
		return fmt.Sprintf("%d s", s)
	}
	return fmt.Sprintf("%d min %d s", s/60, s%60)
}

// cut shortens s to at most n runes, ending it with "…" when cut; n < 1
// leaves it whole (width unknown).
func cut(s string, n int) string {
	if n < 1 {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
