package controls_test

import (
	"testing"
	"time"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// BenchmarkCalls reports, per control and target on a fresh account, the
// AWS calls Check makes, the calls and writes Apply makes, and the calls a
// second Apply makes (all reads: it must write nothing).
func BenchmarkCalls(b *testing.B) {
	byID := map[string]control.Control{}
	for _, c := range controls.All() {
		byID[c.Info().ID] = c
	}
	for _, c := range controls.All() {
		b.Run(c.Info().ID, func(b *testing.B) {
			var check, apply, writes, again int
			for i := 0; i < b.N; i++ {
				env := fakeawstest.Start(b)
				cenv := &control.Env{AWS: env.Clients}
				tg := target(c, "eu-west-1")
				if err := applyPrerequisites(byID, c, cenv, tg.Region, map[string]bool{}); err != nil {
					b.Fatal(err)
				}
				env.Server.Backdate(72 * time.Hour)
				env.Server.ResetLog()
				if _, err := c.Check(ctx, cenv, tg); err != nil {
					b.Fatal(err)
				}
				check = len(env.Server.Requests())
				env.Server.ResetLog()
				if _, err := c.Apply(ctx, cenv, tg, (&controltest.MemJournal{}).For(c.Info().ID, tg.Region)); err != nil {
					b.Fatal(err)
				}
				apply, writes = len(env.Server.Requests()), len(env.Server.Writes())
				env.Server.ResetLog()
				if _, err := c.Apply(ctx, cenv, tg, (&controltest.MemJournal{}).For(c.Info().ID, tg.Region)); err != nil {
					b.Fatal(err)
				}
				again = len(env.Server.Requests())
				if w := len(env.Server.Writes()); w != 0 {
					b.Fatalf("second apply wrote %d times", w)
				}
			}
			b.ReportMetric(float64(check), "check-calls")
			b.ReportMetric(float64(apply), "apply-calls")
			b.ReportMetric(float64(writes), "apply-writes")
			b.ReportMetric(float64(again), "reapply-calls")
		})
	}
}
