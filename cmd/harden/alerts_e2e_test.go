package main_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/fakeaws"
)

// The fake account's regions: the 17 enabled by default and the opt-in
// region it has opted in to.
var allRegions = []string{
	"ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
	"ap-southeast-1", "ap-southeast-2", "ca-central-1", "eu-central-1",
	"eu-north-1", "eu-south-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1",
	"us-east-1", "us-east-2", "us-west-1", "us-west-2",
}

const (
	alertTopic      = "arn:aws:sns:us-east-1:" + fakeaws.DefaultAccountID + ":harden-security-alerts"
	securityHubRule = "harden-alerts-securityhub"
)

// securityHubRuleRegions lists the regions that have harden's Security
// Hub rule.
func securityHubRuleRegions(t *testing.T, url string) []string {
	t.Helper()
	c := clientsFor(t, url)
	var out []string
	for _, r := range allRegions {
		_, err := c.EventBridge(r).DescribeRule(context.Background(), &eventbridge.DescribeRuleInput{Name: aws.String(securityHubRule)})
		switch {
		case awserror.Is(err, "ResourceNotFoundException"):
		case err != nil:
			t.Fatalf("describe rule in %s: %v", r, err)
		default:
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

// injectFinding posts a new, failed, critical Security Hub finding of
// region as Security Hub would send it to region's bus.
func injectFinding(t *testing.T, base, region, title string) {
	t.Helper()
	ev := map[string]any{"source": "aws.securityhub", "detail-type": "Security Hub Findings - Imported", "detail": map[string]any{
		"findings": []any{map[string]any{"Title": title, "Severity": map[string]any{"Label": "CRITICAL"},
			"Compliance": map[string]any{"Status": "FAILED"}, "Workflow": map[string]any{"Status": "NEW"}, "RecordState": "ACTIVE",
			"AwsAccountId": fakeaws.DefaultAccountID, "Region": region, "Resources": []any{map[string]any{"Id": "arn:aws:s3:::b"}}}},
	}}
	b, _ := json.Marshal(ev)
	resp, err := http.Post(base+"/_fakeaws/events?region="+region, "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Deliveries []fakeaws.Delivery }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("inject: %d %v", resp.StatusCode, err)
	}
	for _, d := range out.Deliveries {
		if d.Error != "" {
			t.Fatalf("delivery failed: %+v", d)
		}
	}
}

// messagesAbout counts the topic's messages that name title.
func messagesAbout(t *testing.T, base, title string) int {
	t.Helper()
	resp, err := http.Get(base + "/_fakeaws/sns/messages?topic=" + url.QueryEscape(alertTopic))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var msgs []fakeaws.PublishedMessage
	if err := json.NewDecoder(resp.Body).Decode(&msgs); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		if strings.Contains(m.Message, title) {
			n++
		}
	}
	return n
}

// Issue 13: the whole baseline on 18 regions. securityhub makes the
// finding aggregator in the home region before security-alerts decides,
// so only the home region has the Security Hub rule, and a finding from
// eu-west-1 (which Security Hub also sends to the home region's bus)
// reaches the topic once. The plan says so before anything exists.
func TestSecurityHubFindingArrivesOnceWithAggregator(t *testing.T) {
	base := startFakeAWS(t)
	state := t.TempDir()
	fresh := snapshot(t, base)
	plan := run(t, base, state, 2, "plan", "-o", "json")
	if n := strings.Count(plan, "the finding aggregator securityhub creates in us-east-1 in this run"); n != len(allRegions)-1 {
		t.Errorf("plan notes the aggregator in %d regions, want %d", n, len(allRegions)-1)
	}
	if n := strings.Count(plan, `"field": "rule harden-alerts-securityhub"`); n != 1 {
		t.Errorf("plan lists the Security Hub rule %d times, want 1 (home)", n)
	}
	run(t, base, state, 0, "apply", "--yes", "--allow-destructive")
	if got := securityHubRuleRegions(t, base); strings.Join(got, ",") != "us-east-1" {
		t.Fatalf("Security Hub rule in %v, want the home region only", got)
	}
	injectFinding(t, base, "eu-west-1", "finding from eu-west-1")
	injectFinding(t, base, "us-east-1", "finding from us-east-1")
	for _, title := range []string{"finding from eu-west-1", "finding from us-east-1"} {
		if n := messagesAbout(t, base, title); n != 1 {
			t.Errorf("%q reached the topic %d times, want 1", title, n)
		}
	}
	clearLog(t, base)
	run(t, base, state, 0, "apply", "--yes", "--allow-destructive")
	if w := writes(t, base); len(w) != 0 {
		t.Fatalf("second apply wrote %d times: %+v", len(w), w)
	}
	run(t, base, state, 0, "rollback", "--yes")
	if snapshot(t, base) != fresh {
		t.Fatal("rollback did not restore the fresh account")
	}
}

// Without an aggregator every region has the rule and a finding still
// arrives once. When the user then makes an aggregator, the next apply
// removes harden's now redundant regional rules (a finding still arrives
// once), and rolling that run back puts them back as they were.
func TestSecurityHubRulesFollowTheAggregator(t *testing.T) {
	base := startFakeAWS(t)
	state := t.TempDir()
	fresh := snapshot(t, base)
	run(t, base, state, 0, "apply", "--yes", "--controls", "security-alerts")
	if got := securityHubRuleRegions(t, base); len(got) != len(allRegions) {
		t.Fatalf("Security Hub rule in %d regions, want %d: %v", len(got), len(allRegions), got)
	}
	injectFinding(t, base, "eu-west-1", "before the aggregator")
	if n := messagesAbout(t, base, "before the aggregator"); n != 1 {
		t.Fatalf("finding reached the topic %d times, want 1", n)
	}
	clearLog(t, base)
	run(t, base, state, 0, "apply", "--yes", "--controls", "security-alerts")
	if w := writes(t, base); len(w) != 0 {
		t.Fatalf("second apply wrote %d times: %+v", len(w), w)
	}

	// The user enables Security Hub in the home region and eu-west-1 and
	// aggregates every region into the home region.
	c := clientsFor(t, base)
	for _, r := range []string{"us-east-1", "eu-west-1"} {
		if _, err := c.SecurityHub(r).EnableSecurityHub(context.Background(), &securityhub.EnableSecurityHubInput{EnableDefaultStandards: aws.Bool(false)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.SecurityHub("us-east-1").CreateFindingAggregator(context.Background(), &securityhub.CreateFindingAggregatorInput{RegionLinkingMode: aws.String("ALL_REGIONS")}); err != nil {
		t.Fatal(err)
	}
	injectFinding(t, base, "eu-west-1", "twice before harden adapts")
	if n := messagesAbout(t, base, "twice before harden adapts"); n != 2 {
		t.Fatalf("with the aggregator and a regional rule a finding should arrive twice, got %d", n)
	}
	withRules := snapshot(t, base)
	plan := run(t, base, state, 2, "plan", "--controls", "security-alerts")
	if n := strings.Count(plan, "removed: aggregation brings these findings home"); n != len(allRegions)-1 {
		t.Errorf("plan removes %d rules, want %d:\n%s", n, len(allRegions)-1, plan)
	}
	before := runFiles(t, state)
	clearLog(t, base)
	run(t, base, state, 0, "apply", "--yes", "--controls", "security-alerts")
	deletes := 0
	for _, w := range writes(t, base) {
		if w.Action != "RemoveTargets" && w.Action != "DeleteRule" {
			t.Errorf("unexpected write %+v", w)
		}
		if w.Action == "DeleteRule" {
			deletes++
		}
	}
	if deletes != len(allRegions)-1 {
		t.Errorf("deleted %d rules, want %d", deletes, len(allRegions)-1)
	}
	if got := securityHubRuleRegions(t, base); strings.Join(got, ",") != "us-east-1" {
		t.Fatalf("Security Hub rule in %v, want the home region only", got)
	}
	injectFinding(t, base, "eu-west-1", "once again")
	if n := messagesAbout(t, base, "once again"); n != 1 {
		t.Fatalf("finding reached the topic %d times, want 1", n)
	}
	clearLog(t, base)
	run(t, base, state, 0, "apply", "--yes", "--controls", "security-alerts")
	if w := writes(t, base); len(w) != 0 {
		t.Fatalf("apply after the removal wrote %d times: %+v", len(w), w)
	}

	// Rolling back the removal run alone puts the rules back.
	var latest string
	for _, f := range runFiles(t, state) {
		if !contains(before, f) {
			latest = strings.TrimSuffix(filepath.Base(f), ".jsonl")
		}
	}
	if latest == "" {
		t.Fatal("no journal for the removal run")
	}
	run(t, base, state, 0, "rollback", "--yes", "--run", latest)
	if snapshot(t, base) != withRules {
		t.Fatal("rolling back the removal did not put the rules back as they were")
	}
	// The rest: the user's aggregator and hubs are not harden's and stay;
	// removing them by hand and rolling back everything gives the fresh
	// account.
	if _, err := c.SecurityHub("us-east-1").DeleteFindingAggregator(context.Background(), &securityhub.DeleteFindingAggregatorInput{FindingAggregatorArn: aggregatorARN(t, c.SecurityHub("us-east-1"))}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"us-east-1", "eu-west-1"} {
		if _, err := c.SecurityHub(r).DisableSecurityHub(context.Background(), &securityhub.DisableSecurityHubInput{}); err != nil {
			t.Fatal(err)
		}
	}
	run(t, base, state, 0, "rollback", "--yes")
	if snapshot(t, base) != fresh {
		t.Fatal("rollback did not restore the fresh account")
	}
}

func aggregatorARN(t *testing.T, c *securityhub.Client) *string {
	t.Helper()
	out, err := c.ListFindingAggregators(context.Background(), &securityhub.ListFindingAggregatorsInput{})
	if err != nil || len(out.FindingAggregators) != 1 {
		t.Fatalf("list aggregators: %v %v", out, err)
	}
	return out.FindingAggregators[0].FindingAggregatorArn
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
