package cli_test

import (
	"strings"
	"testing"
	"time"

	"github.com/harden-dev/harden/internal/cli"
	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// The 17 regions every account has enabled by default.
var defaultRegions = []string{
	"ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
	"ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1",
	"us-east-1", "us-east-2", "us-west-1", "us-west-2",
}

// benchAudit measures a whole `harden audit` (credentials, STS, region
// discovery, every check) with 50 ms added to every AWS call, and reports
// the AWS calls it made per control-region target.
func benchAudit(b *testing.B, regions []string) {
	env := fakeawstest.Start(b, fakeaws.Options{Latency: 50 * time.Millisecond})
	dir := b.TempDir()
	targets := 0
	for _, c := range controls.All() {
		if c.Info().Scope == control.Account {
			targets++
		} else {
			targets += len(regions)
		}
	}
	var calls int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		env.Server.ResetLog()
		o := harden(b, env, dir, term{}, "audit", "-o", "json", "--regions", strings.Join(regions, ","))
		if o.code != cli.ExitChanges {
			b.Fatalf("audit exit %d: %s", o.code, o.stderr)
		}
		calls = len(env.Server.Requests())
	}
	b.ReportMetric(float64(calls), "calls/op")
	b.ReportMetric(float64(calls-2)/float64(targets), "calls/target") // minus STS and DescribeRegions
}

func BenchmarkAudit1Region(b *testing.B)   { benchAudit(b, defaultRegions[13:14]) }
func BenchmarkAudit17Regions(b *testing.B) { benchAudit(b, defaultRegions) }
