package cli_test

import (
	"testing"
	"time"

	"github.com/harden-dev/harden/internal/cli"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// BenchmarkRollbackFullApply applies every control to a fresh account
// (18 enabled regions), then rolls it all back, once with no added latency
// and once with 50 ms added to every AWS call. It reports AWS calls and
// writes of both phases, each phase's sequential round trips ((time at
// 50 ms - time at 0 ms) / 50 ms, which discounts the CPU time of the
// machine running the benchmark), and the rollback's wall time as a ratio
// of the apply's at 50 ms (the target is <= 1: rollback reads every target
// concurrently, then undoes control-region groups concurrently, and the
// independent steps of a group together).
func BenchmarkRollbackFullApply(b *testing.B) {
	var applyCalls, applyWrites, rbCalls, rbWrites int
	var apply, rollback [2]time.Duration // at 0 ms, at 50 ms
	for i := 0; i < b.N; i++ {
		for k, latency := range []time.Duration{0, benchLatency} {
			b.StopTimer()
			env := fakeawstest.Start(b, fakeaws.Options{Latency: latency})
			dir := b.TempDir()
			tm := settingsTerm(b)
			b.StartTimer()
			start := time.Now()
			if o := harden(b, env, dir, tm, "apply", "--yes", "--allow-destructive"); o.code != cli.ExitOK {
				b.Fatalf("apply exit %d: %s", o.code, o.stderr)
			}
			apply[k] += time.Since(start)
			applyCalls, applyWrites = len(env.Server.Requests()), len(env.Server.Writes())
			env.Server.ResetLog()
			start = time.Now()
			if o := harden(b, env, dir, tm, "rollback", "--yes"); o.code != cli.ExitOK {
				b.Fatalf("rollback exit %d: %s\n%s", o.code, o.stdout, o.stderr)
			}
			rollback[k] += time.Since(start)
			rbCalls, rbWrites = len(env.Server.Requests()), len(env.Server.Writes())
		}
	}
	roundTrips := func(d [2]time.Duration) float64 {
		return float64(d[1]-d[0]) / float64(b.N) / float64(benchLatency)
	}
	b.ReportMetric(float64(applyCalls), "apply-calls")
	b.ReportMetric(float64(applyWrites), "apply-writes")
	b.ReportMetric(roundTrips(apply), "apply-roundtrips")
	b.ReportMetric(float64(rbCalls), "rollback-calls")
	b.ReportMetric(float64(rbWrites), "rollback-writes")
	b.ReportMetric(roundTrips(rollback), "rollback-roundtrips")
	b.ReportMetric(float64(rollback[1])/float64(apply[1]), "rollback/apply")
}
