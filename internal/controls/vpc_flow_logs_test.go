package controls_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// flSetup starts an account with log-archive applied (the prerequisite)
// and returns the vpc-flow-logs target in vpcRegion. The request log
// starts empty.
func flSetup(t *testing.T) (*fakeawstest.Env, *control.Env, control.Target) {
	t.Helper()
	env, cenv := archivedAccount(t)
	return env, cenv, target(controls.VPCFlowLogs{}, vpcRegion)
}

// flowLogs lists the region's flow logs, by VPC.
func flowLogs(t *testing.T, env *fakeawstest.Env) map[string][]ec2types.FlowLog {
	t.Helper()
	out, err := env.Clients.EC2(vpcRegion).DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string][]ec2types.FlowLog{}
	for _, f := range out.FlowLogs {
		by[aws.ToString(f.ResourceId)] = append(by[aws.ToString(f.ResourceId)], f)
	}
	return by
}

// userFlowLog makes a flow log as the account's owner would: to
// CloudWatch Logs through a role.
func userFlowLog(t *testing.T, env *fakeawstest.Env, vpc string, traffic ec2types.TrafficType) string {
	t.Helper()
	out, err := env.Clients.EC2(vpcRegion).CreateFlowLogs(ctx, &ec2.CreateFlowLogsInput{
		ResourceIds: []string{vpc}, ResourceType: ec2types.FlowLogsResourceTypeVpc, TrafficType: traffic,
		LogGroupName:             aws.String("team-flow-logs"),
		DeliverLogsPermissionArn: aws.String("arn:aws:iam::" + fakeaws.DefaultAccountID + ":role/team-flow-logs"),
	})
	if err != nil || len(out.FlowLogIds) != 1 || len(out.Unsuccessful) != 0 {
		t.Fatalf("user flow log: %+v, %v", out, err)
	}
	return out.FlowLogIds[0]
}

func writeActions(env *fakeawstest.Env) []string {
	var out []string
	for _, w := range env.Server.Writes() {
		out = append(out, w.Region+" "+w.Action)
	}
	return out
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

// flUndo undoes a journal as rollback does without --force and returns the
// drift it reported.
func flUndo(t *testing.T, cenv *control.Env, tg control.Target, j *controltest.MemJournal) []string {
	t.Helper()
	var drifts []string
	for _, e := range j.Reversed() {
		err := controltest.Undo(ctx, controls.VPCFlowLogs{}, cenv, tg, e.Step)
		var d *controltest.DriftError
		switch {
		case errors.As(err, &d):
			drifts = append(drifts, d.What)
		case err != nil:
			t.Fatalf("undo %s: %v", e.Step.Kind, err)
		}
	}
	return drifts
}

// Every VPC gets one flow log: ALL traffic, straight to the archive bucket
// (S3, no role), tagged; check reads twice in one round trip, apply writes
// once per VPC, a second apply nothing, and rollback puts the account back.
func TestVPCFlowLogsApply(t *testing.T) {
	env, cenv, tg := flSetup(t)
	c := controls.VPCFlowLogs{}
	def := defaultVpcID(t, env)
	other := place(t, env, fakeaws.Placement{Kind: "vpc"})
	before := env.Server.Snapshot()
	env.Server.ResetLog()

	f, err := c.Check(ctx, cenv, tg)
	if err != nil || f.Compliant || f.Action != control.ActionCreate || len(f.Changes) != 2 {
		t.Fatalf("fresh finding: %+v, %v", f, err)
	}
	if got, want := sorted(f.Resources), sorted([]string{def, other}); !reflect.DeepEqual(got, want) {
		t.Fatalf("resources %v, want %v", got, want)
	}
	bucket := controls.LogBucketName(cenv, tg)
	for _, ch := range f.Changes {
		if ch.Current != "none" || ch.Desired != "ALL traffic to s3://"+bucket+"/AWSLogs/"+fakeaws.DefaultAccountID+"/vpcflowlogs/" {
			t.Fatalf("change %+v", ch)
		}
	}
	var reads []string
	for _, r := range env.Server.Requests() {
		reads = append(reads, r.Action)
	}
	if got := sorted(reads); !reflect.DeepEqual(got, []string{"DescribeFlowLogs", "DescribeVpcs"}) {
		t.Fatalf("check calls %v", got)
	}

	env.Server.ResetLog()
	j := appliedJournal(t, c, cenv, tg)
	if got := writeActions(env); !reflect.DeepEqual(got, []string{vpcRegion + " CreateFlowLogs", vpcRegion + " CreateFlowLogs"}) {
		t.Fatalf("apply writes %v", got)
	}
	if len(env.Server.Requests()) != 4 {
		t.Fatalf("apply made %d calls, want 2 reads and 2 creates: %+v", len(env.Server.Requests()), env.Server.Requests())
	}
	logs := flowLogs(t, env)
	for _, vpc := range []string{def, other} {
		if len(logs[vpc]) != 1 {
			t.Fatalf("%s flow logs: %+v", vpc, logs[vpc])
		}
		fl := logs[vpc][0]
		tags := map[string]string{}
		for _, tag := range fl.Tags {
			tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
		if fl.TrafficType != ec2types.TrafficTypeAll || fl.LogDestinationType != ec2types.LogDestinationTypeS3 ||
			aws.ToString(fl.LogDestination) != "arn:aws:s3:::"+bucket || fl.DeliverLogsPermissionArn != nil ||
			aws.ToInt32(fl.MaxAggregationInterval) != 600 || aws.ToString(fl.FlowLogStatus) != "ACTIVE" ||
			tags["managed-by"] != "harden" || tags["harden-run"] != "20260101T000000Z-0000" {
			t.Fatalf("flow log of %s: %+v tags %v", vpc, fl, tags)
		}
	}

	f, err = c.Check(ctx, cenv, tg)
	if err != nil || !f.Compliant || !strings.Contains(f.Note, "2 VPC(s)") || strings.Contains(f.Note, "whatever their destination (") {
		t.Fatalf("after apply: %+v, %v", f, err)
	}
	env.Server.ResetLog()
	j2 := &controltest.MemJournal{}
	if changed, err := c.Apply(ctx, cenv, tg, j2.For(c.Info().ID, vpcRegion)); err != nil || len(changed) != 0 || len(j2.Entries) != 0 {
		t.Fatalf("second apply: %v, %+v, %v", changed, j2.Entries, err)
	}
	if w := env.Server.Writes(); len(w) != 0 {
		t.Fatalf("second apply wrote %+v", w)
	}

	env.Server.ResetLog()
	if d := flUndo(t, cenv, tg, j); len(d) != 0 {
		t.Fatalf("drift %v", d)
	}
	if got := writeActions(env); !reflect.DeepEqual(got, []string{vpcRegion + " DeleteFlowLogs", vpcRegion + " DeleteFlowLogs"}) {
		t.Fatalf("rollback writes %v", got)
	}
	if after := env.Server.Snapshot(); string(after) != string(before) {
		t.Fatalf("rollback did not restore the account:\nbefore %s\nafter  %s", before, after)
	}
}

// max_aggregation_interval reaches CreateFlowLogs; only 60 and 600 are
// accepted.
func TestVPCFlowLogsInterval(t *testing.T) {
	env, cenv, tg := flSetup(t)
	cenv.ControlSettings = map[string]control.ControlSettings{"vpc-flow-logs": &controls.VPCFlowLogsSettings{MaxAggregationInterval: 60}}
	appliedJournal(t, controls.VPCFlowLogs{}, cenv, tg)
	fl := flowLogs(t, env)[defaultVpcID(t, env)]
	if len(fl) != 1 || aws.ToInt32(fl[0].MaxAggregationInterval) != 60 {
		t.Fatalf("flow logs %+v", fl)
	}
	for _, v := range []int{0, 300, 61} {
		if err := (&controls.VPCFlowLogsSettings{MaxAggregationInterval: v}).Validate(); err == nil {
			t.Errorf("interval %d accepted", v)
		}
	}
}

// A flow log the user deletes after apply leaves rollback nothing to do.
func TestVPCFlowLogsDeletedByUser(t *testing.T) {
	env, cenv, tg := flSetup(t)
	c := controls.VPCFlowLogs{}
	j := appliedJournal(t, c, cenv, tg)
	fl := flowLogs(t, env)[defaultVpcID(t, env)]
	if _, err := env.Clients.EC2(vpcRegion).DeleteFlowLogs(ctx, &ec2.DeleteFlowLogsInput{FlowLogIds: []string{aws.ToString(fl[0].FlowLogId)}}); err != nil {
		t.Fatal(err)
	}
	env.Server.ResetLog()
	u := undoVerdict(t, c, cenv, tg, j.Entries[0].Step)
	if u.Verdict != control.Already || !strings.Contains(u.What, "is gone") {
		t.Fatalf("undo %+v", u)
	}
	if d := flUndo(t, cenv, tg, j); len(d) != 0 {
		t.Fatalf("drift %v", d)
	}
	if w := env.Server.Writes(); len(w) != 0 {
		t.Fatalf("rollback wrote %+v", w)
	}
}

// An active ALL flow log of the user's counts, whatever its destination,
// and is never touched; a REJECT-only one does not count and stays beside
// harden's. Rollback deletes harden's only.
func TestVPCFlowLogsExistingFlowLogs(t *testing.T) {
	env, cenv, tg := flSetup(t)
	c := controls.VPCFlowLogs{}
	def := defaultVpcID(t, env)
	other := place(t, env, fakeaws.Placement{Kind: "vpc"})
	all := userFlowLog(t, env, def, ec2types.TrafficTypeAll)
	reject := userFlowLog(t, env, other, ec2types.TrafficTypeReject)
	before := env.Server.Snapshot()

	f, err := c.Check(ctx, cenv, tg)
	if err != nil || f.Compliant || !reflect.DeepEqual(f.Resources, []string{other}) || len(f.Changes) != 1 ||
		f.Changes[0].Current != reject+" (REJECT, active)" {
		t.Fatalf("finding %+v, %v", f, err)
	}
	env.Server.ResetLog()
	j := appliedJournal(t, c, cenv, tg)
	if got := writeActions(env); !reflect.DeepEqual(got, []string{vpcRegion + " CreateFlowLogs"}) {
		t.Fatalf("apply writes %v", got)
	}
	logs := flowLogs(t, env)
	if len(logs[def]) != 1 || aws.ToString(logs[def][0].FlowLogId) != all || len(logs[other]) != 2 {
		t.Fatalf("flow logs after apply: %+v", logs)
	}
	f, err = c.Check(ctx, cenv, tg)
	if err != nil || !f.Compliant || !strings.Contains(f.Note, def+": "+all+" to ") {
		t.Fatalf("after apply: %+v, %v", f, err)
	}
	if d := flUndo(t, cenv, tg, j); len(d) != 0 {
		t.Fatalf("drift %v", d)
	}
	if after := env.Server.Snapshot(); string(after) != string(before) {
		t.Fatalf("rollback did not leave the user's flow logs as they were:\nbefore %s\nafter  %s", before, after)
	}
}

// A step naming a flow log that is not harden's (hand-written, or harden's
// with its tags taken away) is drift: reported, never deleted, not even
// with --force.
func TestVPCFlowLogsForeignNeverDeleted(t *testing.T) {
	env, cenv, tg := flSetup(t)
	c := controls.VPCFlowLogs{}
	def := defaultVpcID(t, env)
	other := place(t, env, fakeaws.Placement{Kind: "vpc"})
	foreign := userFlowLog(t, env, other, ec2types.TrafficTypeAll)
	j := appliedJournal(t, c, cenv, tg)
	hardens := aws.ToString(flowLogs(t, env)[def][0].FlowLogId)

	after, _ := json.Marshal(map[string]any{"vpc_id": other, "traffic_type": "ALL",
		"destination": "arn:aws:s3:::" + controls.LogBucketName(cenv, tg), "max_aggregation_interval": 600})
	hand := control.Step{Kind: "CreateFlowLogs", Done: true, RunID: "20260101T000000Z-0000",
		Prior: []byte(`{"vpc_id":"` + other + `","flow_logs":[]}`), After: after, Result: []byte(`{"flow_log_id":"` + foreign + `"}`)}
	u := undoVerdict(t, c, cenv, tg, hand)
	if u.Verdict != control.Drifted || u.Do != nil || !strings.Contains(u.What, foreign) {
		t.Fatalf("hand-written step: %+v", u)
	}

	if err := env.Server.SetFlowLogTags(vpcRegion, hardens, map[string]string{"team": "net"}); err != nil {
		t.Fatal(err)
	}
	u = undoVerdict(t, c, cenv, tg, j.Entries[0].Step)
	if u.Verdict != control.Drifted || u.Do != nil || !strings.Contains(u.What, "managed-by") {
		t.Fatalf("untagged flow log: %+v", u)
	}
	env.Server.ResetLog()
	if d := flUndo(t, cenv, tg, j); len(d) != 1 {
		t.Fatalf("drift %v", d)
	}
	if w := env.Server.Writes(); len(w) != 0 {
		t.Fatalf("rollback wrote %+v", w)
	}
	logs := flowLogs(t, env)
	if len(logs[def]) != 1 || len(logs[other]) != 1 {
		t.Fatalf("flow logs %+v", logs)
	}
}

// flInterrupted journals like the engine but loses the outcome of
// CreateFlowLogs: the step stays not done, and the create either ran (the
// answer was lost) or never reached AWS.
type flInterrupted struct {
	happens bool
	mu      sync.Mutex
	steps   []control.Step
}

func (j *flInterrupted) RunID() string { return "20260101T000000Z-0000" }

func (j *flInterrupted) Write(ctx context.Context, kind control.StepKind, prior, after any, write func(context.Context) (any, error)) error {
	p, err := json.Marshal(prior)
	if err != nil {
		return err
	}
	a, err := json.Marshal(after)
	if err != nil {
		return err
	}
	j.mu.Lock()
	j.steps = append(j.steps, control.Step{Kind: kind, Prior: p, After: a, RunID: j.RunID()})
	j.mu.Unlock()
	if j.happens {
		if _, err := write(ctx); err != nil {
			return err
		}
	}
	return errCRInterrupted
}

// A create whose outcome was lost is found by the run's tags on the VPC
// and deleted; when it never happened, rollback does nothing.
func TestVPCFlowLogsUnconfirmedCreate(t *testing.T) {
	for _, happens := range []bool{false, true} {
		t.Run(fmt.Sprintf("happened=%v", happens), func(t *testing.T) {
			env, cenv, tg := flSetup(t)
			c := controls.VPCFlowLogs{}
			// Someone else's flow log on the VPC is never mistaken for it.
			userFlowLog(t, env, defaultVpcID(t, env), ec2types.TrafficTypeReject)
			before := env.Server.Snapshot()
			env.Server.ResetLog()
			j := &flInterrupted{happens: happens}
			if _, err := c.Apply(ctx, cenv, tg, j); !errors.Is(err, errCRInterrupted) {
				t.Fatalf("apply: %v", err)
			}
			if len(j.steps) != 1 || j.steps[0].Done {
				t.Fatalf("steps %+v", j.steps)
			}
			if got := len(env.Server.Writes()); got != map[bool]int{false: 0, true: 1}[happens] {
				t.Fatalf("%d writes", got)
			}
			u := undoVerdict(t, c, cenv, tg, j.steps[0])
			if happens && u.Verdict != control.Delete || !happens && u.Verdict != control.Already {
				t.Fatalf("undo %+v", u)
			}
			if err := controltest.Undo(ctx, c, cenv, tg, j.steps[0]); err != nil {
				t.Fatal(err)
			}
			if after := env.Server.Snapshot(); string(after) != string(before) {
				t.Fatalf("rollback did not restore the account:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// A VPC created after apply is a finding at the next check, and the next
// apply logs it alone.
func TestVPCFlowLogsNewVPCIsAFinding(t *testing.T) {
	env, cenv, tg := flSetup(t)
	c := controls.VPCFlowLogs{}
	appliedJournal(t, c, cenv, tg)
	late := place(t, env, fakeaws.Placement{Kind: "vpc"})
	f, err := c.Check(ctx, cenv, tg)
	if err != nil || f.Compliant || !reflect.DeepEqual(f.Resources, []string{late}) {
		t.Fatalf("finding %+v, %v", f, err)
	}
	env.Server.ResetLog()
	appliedJournal(t, c, cenv, tg)
	if got := writeActions(env); !reflect.DeepEqual(got, []string{vpcRegion + " CreateFlowLogs"}) {
		t.Fatalf("writes %v", got)
	}
	if logs := flowLogs(t, env); len(logs[late]) != 1 {
		t.Fatalf("flow logs %+v", logs)
	}
}

// Without the archive's grants (no log-archive) the create is refused by
// EC2 and the error says what to do.
func TestVPCFlowLogsNeedsLogArchive(t *testing.T) {
	env := fakeawstest.Start(t)
	cenv := &control.Env{AWS: env.Clients}
	c := controls.VPCFlowLogs{}
	tg := target(c, vpcRegion)
	if _, err := env.Clients.S3("us-east-1").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(controls.LogBucketName(cenv, tg))}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Apply(ctx, cenv, tg, (&controltest.MemJournal{}).For(c.Info().ID, vpcRegion))
	if err == nil || !strings.Contains(err.Error(), "apply log-archive first") {
		t.Fatalf("apply: %v", err)
	}
	if logs := flowLogs(t, env); len(logs) != 0 {
		t.Fatalf("flow logs %+v", logs)
	}
}

// An archive applied by a version before vpc-flow-logs gets an update
// adding the flow logs' statements to its bucket and key policies (other
// statements as they were); rollback takes them back out.
func TestVPCFlowLogsArchiveOfEarlierVersion(t *testing.T) {
	env, cenv, tg := flSetup(t)
	la := controls.LogArchive{}
	latg := target(la, "")
	bucket := controls.LogBucketName(cenv, latg)
	formerPolicy := func(name string) string {
		b, err := os.ReadFile("testdata/archive_policy_before_flowlogs." + name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ReplaceAll(string(b), "123456789012", fakeaws.DefaultAccountID)
		return strings.ReplaceAll(s, "arn:aws:s3:::b", "arn:aws:s3:::"+bucket)
	}
	s3c, kc := env.Clients.S3("us-east-1"), env.Clients.KMS("us-east-1")
	key, err := kc.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/harden-log-archive")})
	if err != nil {
		t.Fatal(err)
	}
	keyID := key.KeyMetadata.KeyId
	if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(formerPolicy("bucket"))}); err != nil {
		t.Fatal(err)
	}
	if _, err := kc.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: keyID, PolicyName: aws.String("default"), Policy: aws.String(formerPolicy("key"))}); err != nil {
		t.Fatal(err)
	}
	before := env.Server.Snapshot()

	// The former archive refuses flow log delivery.
	if _, err := (controls.VPCFlowLogs{}).Apply(ctx, cenv, tg, (&controltest.MemJournal{}).For("vpc-flow-logs", vpcRegion)); err == nil ||
		!strings.Contains(err.Error(), "apply log-archive first") {
		t.Fatalf("flow logs on the former archive: %v", err)
	}
	f, err := la.Check(ctx, cenv, latg)
	if err != nil || f.Action != control.ActionUpdate {
		t.Fatalf("log-archive finding %+v, %v", f, err)
	}
	var fields []string
	for _, ch := range f.Changes {
		fields = append(fields, ch.Field)
		if !strings.Contains(ch.Desired, "vpc-flow-logs") {
			t.Errorf("change %+v does not name vpc-flow-logs", ch)
		}
	}
	if !reflect.DeepEqual(sorted(fields), []string{"KMS key policy", "bucket policy"}) {
		t.Fatalf("changes %+v", f.Changes)
	}
	env.Server.ResetLog()
	j := appliedJournal(t, la, cenv, latg)
	if got := sorted(writeActions(env)); !reflect.DeepEqual(got, []string{"us-east-1 PutBucketPolicy", "us-east-1 PutKeyPolicy"}) {
		t.Fatalf("update writes %v", got)
	}
	fj := appliedJournal(t, controls.VPCFlowLogs{}, cenv, tg)

	if err := fj.UndoAll(ctx, controls.VPCFlowLogs{}, cenv, func(string) control.Target { return tg }); err != nil {
		t.Fatal(err)
	}
	if err := j.UndoAll(ctx, la, cenv, func(string) control.Target { return latg }); err != nil {
		t.Fatal(err)
	}
	if after := env.Server.Snapshot(); string(after) != string(before) {
		t.Fatalf("rollback did not take the flow logs' statements back out:\nbefore %s\nafter  %s", before, after)
	}
}
