package controls_test

import (
	"sync"
	"testing"
	"time"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// benchLatency is the delay fakeaws adds to every call when the benchmark
// counts sequential round trips: (time at benchLatency − time at 0) /
// benchLatency, so fakeaws' own work and fixed waits cancel out.
const benchLatency = 20 * time.Millisecond

// phaseCost is what one phase of a control's cycle costs.
type phaseCost struct {
	calls, writes int
	took          time.Duration
	// stages: when each stage the control reached (control.Stage) was
	// first reached, from the phase's start.
	stages map[string]time.Duration
}

// BenchmarkCalls reports, per control and target (the home region and
// another for a regional control) on a fresh account with the settings a
// person would give (lifecycleSettings), the AWS calls and sequential
// round trips of Check, of Apply (and its writes), and of a second Apply
// (all reads: it must write nothing).
func BenchmarkCalls(b *testing.B) {
	byID := map[string]control.Control{}
	for _, c := range controls.All() {
		byID[c.Info().ID] = c
	}
	for _, c := range controls.All() {
		regions := []string{"us-east-1", "eu-west-1"}
		if c.Info().Scope == control.Account {
			regions = regions[:1]
		}
		for _, region := range regions {
			b.Run(c.Info().ID+"/"+region, func(b *testing.B) {
				var fast, slow [3]phaseCost
				for i := 0; i < b.N; i++ {
					fast = cycleCost(b, byID, c, region, 0)
					slow = cycleCost(b, byID, c, region, benchLatency)
				}
				for i, phase := range []string{"check", "apply", "reapply"} {
					if fast[i].calls != slow[i].calls {
						b.Fatalf("%s: %d calls without latency, %d with", phase, fast[i].calls, slow[i].calls)
					}
					b.ReportMetric(float64(fast[i].calls), phase+"-calls")
					b.ReportMetric(float64(slow[i].took-fast[i].took)/float64(benchLatency), phase+"-RT")
				}
				b.ReportMetric(float64(fast[1].writes), "apply-writes")
				// How far into the apply each stage its dependents wait
				// for is reached.
				for stage, took := range slow[1].stages {
					b.ReportMetric(float64(took-fast[1].stages[stage])/float64(benchLatency), "stage-"+stage+"-RT")
				}
			})
		}
	}
}

// cycleCost runs check, apply and a second apply of c in region on a
// fresh account whose calls take latency, and returns each phase's cost.
func cycleCost(b *testing.B, byID map[string]control.Control, c control.Control, region string, latency time.Duration) [3]phaseCost {
	b.Helper()
	env := fakeawstest.Start(b)
	cenv := &control.Env{AWS: env.Clients, ControlSettings: lifecycleSettings}
	tg := target(c, region)
	if err := applyPrerequisites(byID, c, cenv, tg.Region, map[string]bool{}); err != nil {
		b.Fatal(err)
	}
	// Detective's 48 hours have passed; Security Hub's standards are
	// READY as soon as fakeaws is asked again.
	env.Server.Backdate(72 * time.Hour)
	env.Server.SetLatency(latency)
	var out [3]phaseCost
	var start time.Time
	var mu sync.Mutex
	var stages map[string]time.Duration
	sctx := control.WithReporter(ctx, func(stage string) {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := stages[stage]; !ok {
			stages[stage] = time.Since(start)
		}
	})
	measure := func(phase int, f func() error) {
		env.Server.ResetLog()
		stages = map[string]time.Duration{}
		start = time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		out[phase] = phaseCost{calls: len(env.Server.Requests()), writes: len(env.Server.Writes()), took: time.Since(start), stages: stages}
	}
	measure(0, func() error { _, err := c.Check(ctx, cenv, tg); return err })
	// As the engine applies: the early part first, if any.
	apply := func() error {
		_, err := applyAsEngine(sctx, c, cenv, tg, (&controltest.MemJournal{}).For(c.Info().ID, tg.Region))
		return err
	}
	measure(1, apply)
	measure(2, apply)
	if out[2].writes != 0 {
		b.Fatalf("second apply wrote %d times", out[2].writes)
	}
	return out
}
