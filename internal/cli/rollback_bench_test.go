package cli_test

import (
	"testing"
	"time"

	"github.com/harden-dev/harden/internal/cli"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// BenchmarkRollbackFullApply applies every control to a fresh account
// (18 enabled regions) with 50 ms added to every AWS call, then rolls it
// all back, and reports both phases: AWS calls, writes, and the rollback's
// wall time as a ratio of the apply's (the target is <= 1: rollback reads
// every target concurrently, then undoes control-region groups
// concurrently).
func BenchmarkRollbackFullApply(b *testing.B) {
	var applyCalls, applyWrites, rbCalls, rbWrites int
	var applyTime, rbTime time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		env := fakeawstest.Start(b, fakeaws.Options{Latency: 50 * time.Millisecond})
		dir := b.TempDir()
		b.StartTimer()
		start := time.Now()
		if o := harden(b, env, dir, term{}, "apply", "--yes"); o.code != cli.ExitOK {
			b.Fatalf("apply exit %d: %s", o.code, o.stderr)
		}
		applyTime += time.Since(start)
		applyCalls, applyWrites = len(env.Server.Requests()), len(env.Server.Writes())
		env.Server.ResetLog()
		start = time.Now()
		if o := harden(b, env, dir, term{}, "rollback", "--yes"); o.code != cli.ExitOK {
			b.Fatalf("rollback exit %d: %s\n%s", o.code, o.stdout, o.stderr)
		}
		rbTime += time.Since(start)
		rbCalls, rbWrites = len(env.Server.Requests()), len(env.Server.Writes())
	}
	b.ReportMetric(float64(applyCalls), "apply-calls")
	b.ReportMetric(float64(applyWrites), "apply-writes")
	b.ReportMetric(float64(rbCalls), "rollback-calls")
	b.ReportMetric(float64(rbWrites), "rollback-writes")
	b.ReportMetric(float64(rbTime)/float64(applyTime), "rollback/apply")
	b.ReportMetric(float64(rbTime)/float64(b.N)/float64(50*time.Millisecond), "rollback-roundtrips")
}
