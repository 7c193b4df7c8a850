package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	aatypes "github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/harden-dev/harden/internal/awsclient"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// clientsFor returns SDK clients that act as the user on the fake account.
func clientsFor(t *testing.T, url string) *awsclient.Clients {
	t.Helper()
	fakeawstest.SetCredentialEnv(t)
	c, err := awsclient.Load(context.Background(), awsclient.Options{Region: "us-east-1", EndpointURL: url})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// runFiles lists the account's journal files.
func runFiles(t *testing.T, state string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(state, "*", "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func appendLines(t *testing.T, path string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, l := range lines {
		if _, err := f.WriteString(l + "\n"); err != nil {
			t.Fatal(err)
		}
	}
}

// lastSeq is the highest step number in a journal file.
func lastSeq(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var rec struct {
			Seq int `json:"seq"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Seq > n {
			n = rec.Seq
		}
	}
	return n
}

// Issue 6, finding 1: a newer change by the user is never clobbered. The
// password policy raised to 20 and harden's analyzer replaced by the
// user's own of the same name are drift: left alone, reported, exit 1.
func TestRollbackLeavesNewerChanges(t *testing.T) {
	url := startFakeAWS(t)
	state := t.TempDir()
	scope := []string{"--controls", "iam-password-policy,access-analyzer", "--regions", "us-east-1,eu-west-1"}
	run(t, url, state, 0, append([]string{"apply", "--yes", "--allow-destructive"}, scope...)...)
	c := clientsFor(t, url)
	ctx := context.Background()
	if _, err := c.IAM().UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{
		MinimumPasswordLength: aws.Int32(20), PasswordReusePrevention: aws.Int32(24),
		RequireSymbols: true, RequireNumbers: true, RequireUppercaseCharacters: true, RequireLowercaseCharacters: true,
		AllowUsersToChangePassword: true,
	}); err != nil {
		t.Fatal(err)
	}
	aa := c.AccessAnalyzer("eu-west-1")
	if _, err := aa.DeleteAnalyzer(ctx, &accessanalyzer.DeleteAnalyzerInput{AnalyzerName: aws.String("harden-access-analyzer")}); err != nil {
		t.Fatal(err)
	}
	if _, err := aa.CreateAnalyzer(ctx, &accessanalyzer.CreateAnalyzerInput{AnalyzerName: aws.String("harden-access-analyzer"),
		Type: aatypes.TypeAccount, Tags: map[string]string{"owner": "security-team"}}); err != nil {
		t.Fatal(err)
	}

	out := run(t, url, state, 1, "rollback", "--yes")
	for _, want := range []string{"drifted", "MinimumPasswordLength", "eu-west-1"} {
		if !strings.Contains(out, want) {
			t.Errorf("rollback output lacks %q:\n%s", want, out)
		}
	}
	pp, err := c.IAM().GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	if err != nil || aws.ToInt32(pp.PasswordPolicy.MinimumPasswordLength) != 20 {
		t.Errorf("password policy after rollback: %v %v, want the user's 20 kept", pp, err)
	}
	got, err := aa.GetAnalyzer(ctx, &accessanalyzer.GetAnalyzerInput{AnalyzerName: aws.String("harden-access-analyzer")})
	if err != nil || got.Analyzer.Tags["owner"] != "security-team" {
		t.Errorf("the user's analyzer after rollback: %v %v, want it kept", got, err)
	}
	// harden's own analyzer in us-east-1 was still as harden left it: gone.
	if _, err := c.AccessAnalyzer("us-east-1").GetAnalyzer(ctx, &accessanalyzer.GetAnalyzerInput{
		AnalyzerName: aws.String("harden-access-analyzer")}); err == nil {
		t.Errorf("harden's analyzer in us-east-1 was not deleted")
	}
	// A second rollback still reports the drift and changes nothing.
	run(t, url, state, 1, "rollback", "--yes")
	// --force overwrites the drifted setting but never deletes the
	// user's analyzer.
	out = run(t, url, state, 1, "rollback", "--yes", "--force")
	if !strings.Contains(out, "overwritten") {
		t.Errorf("forced rollback should say what it overwrote:\n%s", out)
	}
	if pp, err := c.IAM().GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{}); err == nil {
		t.Errorf("forced rollback kept the policy %+v; harden created it, so the prior state is none", pp.PasswordPolicy)
	}
	if _, err := aa.GetAnalyzer(ctx, &accessanalyzer.GetAnalyzerInput{AnalyzerName: aws.String("harden-access-analyzer")}); err != nil {
		t.Errorf("--force deleted the user's analyzer: %v", err)
	}
}

// Issue 6, finding 2: rollback never deletes by name. Journal lines that
// name the user's analyzer and bucket, appended by hand, delete nothing.
func TestRollbackNeverDeletesByName(t *testing.T) {
	url := startFakeAWS(t)
	state := t.TempDir()
	run(t, url, state, 0, "apply", "--yes", "--allow-destructive", "--controls", "ebs-default-encryption", "--regions", "us-east-1")
	c := clientsFor(t, url)
	ctx := context.Background()
	a, err := c.AccessAnalyzer("eu-west-1").CreateAnalyzer(ctx, &accessanalyzer.CreateAnalyzerInput{
		AnalyzerName: aws.String("team-analyzer"), Type: aatypes.TypeAccount})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.S3("us-east-1").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("team-data")}); err != nil {
		t.Fatal(err)
	}
	files := runFiles(t, state)
	if len(files) != 1 {
		t.Fatalf("journal files %v", files)
	}
	n := lastSeq(t, files[0])
	appendLines(t, files[0],
		fmt.Sprintf(`{"type":"intent","seq":%d,"control":"access-analyzer","region":"eu-west-1","action":"CreateAnalyzer","prior":{"name":"team-analyzer"},"time":"2026-11-24T00:00:00Z"}`, n+1),
		fmt.Sprintf(`{"type":"done","seq":%d,"result":{"arn":%q},"time":"2026-11-24T00:00:00Z"}`, n+1, aws.ToString(a.Arn)),
		fmt.Sprintf(`{"type":"intent","seq":%d,"control":"log-archive","region":"us-east-1","action":"CreateBucket","prior":{"Name":"team-data"},"time":"2026-11-24T00:00:00Z"}`, n+2),
		fmt.Sprintf(`{"type":"done","seq":%d,"time":"2026-11-24T00:00:00Z"}`, n+2),
	)
	out := run(t, url, state, 1, "rollback", "--yes", "--force")
	if !strings.Contains(out, "drifted") {
		t.Errorf("rollback should report the foreign resources as drift:\n%s", out)
	}
	if _, err := c.AccessAnalyzer("eu-west-1").GetAnalyzer(ctx, &accessanalyzer.GetAnalyzerInput{AnalyzerName: aws.String("team-analyzer")}); err != nil {
		t.Errorf("rollback deleted the user's analyzer: %v", err)
	}
	if _, err := c.S3("us-east-1").HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("team-data")}); err != nil {
		t.Errorf("rollback deleted the user's bucket: %v", err)
	}
}

// Issue 6, finding 3: one plain rollback undoes every pending run, the
// killed one included, and leaves the fresh account (apart from the kept
// log-archive key), wherever the kill landed.
func TestRollbackUndoesEveryRun(t *testing.T) {
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	t.Logf("seed %d", seed)
	for i := 0; i < 3; i++ {
		killAt := 1 + rng.Intn(90) // a full apply journals about 104 intents
		t.Run(fmt.Sprintf("kill-after-%d-intents", killAt), func(t *testing.T) {
			url := startFakeAWS(t, "-latency", "20ms")
			state := t.TempDir()
			fresh := snapshot(t, url)
			cmd := hardenCmd(url, state, "apply", "--yes", "--allow-destructive", "--concurrency", "4")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitForJournal(t, cmd, state, `"type":"intent"`, killAt)
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			run(t, url, state, 0, "apply", "--yes", "--allow-destructive")
			if out := run(t, url, state, 0, "rollback", "--list"); !strings.Contains(out, "interrupted") {
				t.Errorf("rollback --list should show the killed run as interrupted:\n%s", out)
			}
			out := run(t, url, state, 0, "rollback", "--yes")
			if got := snapshot(t, url); got != fresh {
				t.Fatalf("one rollback did not undo both runs; %s\n%s", firstDifference(fresh, got), out)
			}
			if out := run(t, url, state, 0, "rollback", "--yes"); !strings.Contains(out, "Nothing to roll back") {
				t.Errorf("second rollback:\n%s", out)
			}
			run(t, url, state, 2, "audit")
		})
	}
}

// The kill lands inside default-vpc's delete chain (regions at different
// points of it): the next apply finishes the job, and one rollback of
// both runs gives back every region's default VPC in the fresh shape, with
// no gateway or subnet left over from the killed run.
func TestRollbackAfterKillInDefaultVpcChain(t *testing.T) {
	for _, action := range []string{"DetachInternetGateway", "DeleteInternetGateway", "DeleteSubnet", "DeleteVpc"} {
		t.Run("kill-at-first-"+action, func(t *testing.T) {
			url := startFakeAWS(t, "-latency", "20ms")
			state := t.TempDir()
			fresh := snapshot(t, url)
			cmd := hardenCmd(url, state, "apply", "--yes", "--allow-destructive", "--controls", "default-vpc", "--concurrency", "4")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitForJournal(t, cmd, state, `"action":"`+action+`"`, 1)
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			run(t, url, state, 0, "apply", "--yes", "--allow-destructive", "--controls", "default-vpc")
			run(t, url, state, 0, "audit", "--controls", "default-vpc")
			out := run(t, url, state, 0, "rollback", "--yes")
			if got := snapshot(t, url); got != fresh {
				t.Fatalf("one rollback did not undo both runs; %s\n%s", firstDifference(fresh, got), out)
			}
		})
	}
}

// firstDifference shows two snapshots from a little before where they
// first differ.
func firstDifference(want, got string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(0, i-300)
	return fmt.Sprintf("from the first difference:\nwant …%s\ngot  …%s", want[from:min(len(want), i+300)], got[from:min(len(got), i+300)])
}

// A journal written by the previous format (no after states, no end
// record) is still rolled back.
func TestRollbackOfFormat1Journal(t *testing.T) {
	url := startFakeAWS(t)
	state := t.TempDir()
	fresh := snapshot(t, url)
	run(t, url, state, 0, "apply", "--yes", "--allow-destructive", "--controls", "iam-password-policy,ebs-default-encryption,access-analyzer",
		"--regions", "us-east-1,eu-west-1")
	files := runFiles(t, state)
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		switch rec["type"] {
		case "end":
			continue
		case "run":
			rec["version"] = 1
		case "intent":
			delete(rec, "after")
		}
		out, _ := json.Marshal(rec)
		lines = append(lines, string(out))
	}
	if err := os.WriteFile(files[0], []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, url, state, 0, "rollback", "--yes")
	if snapshot(t, url) != fresh {
		t.Fatal("rollback of a format-1 journal did not restore the account")
	}
}

// Issue 6, finding 3 (second half): undoing the older run alone would pull
// the log bucket from under the newer run's trail: refused, nothing changed.
func TestRollbackRunRefusedWhileNewerRunUsesIt(t *testing.T) {
	url := startFakeAWS(t)
	state := t.TempDir()
	run(t, url, state, 0, "apply", "--yes", "--allow-destructive", "--controls", "log-archive")
	files := runFiles(t, state)
	older := strings.TrimSuffix(filepath.Base(files[0]), ".jsonl")
	run(t, url, state, 0, "apply", "--yes", "--allow-destructive", "--controls", "log-archive,cloudtrail")
	before := snapshot(t, url)
	out := runErr(t, url, state, 1, "rollback", "--yes", "--run", older)
	if !strings.Contains(out, "cloudtrail") {
		t.Errorf("the refusal should name the trail's control:\n%s", out)
	}
	if snapshot(t, url) != before {
		t.Error("a refused rollback changed the account")
	}
}

// Issue 6, finding 4: a key created by a write whose outcome was never
// journaled is found by harden's run tag, named by id, and the next apply
// adopts it instead of making a second one.
func TestRollbackFindsOrphanKey(t *testing.T) {
	url := startFakeAWS(t)
	state := t.TempDir()
	run(t, url, state, 0, "apply", "--yes", "--allow-destructive", "--controls", "ebs-default-encryption", "--regions", "us-east-1")
	files := runFiles(t, state)
	runID := strings.TrimSuffix(filepath.Base(files[0]), ".jsonl")
	c := clientsFor(t, url)
	ctx := context.Background()
	key, err := c.KMS("us-east-1").CreateKey(ctx, &kms.CreateKeyInput{
		Description: aws.String("harden log archive: encrypts CloudTrail and AWS Config deliveries"),
		Tags: []kmstypes.Tag{{TagKey: aws.String("managed-by"), TagValue: aws.String("harden")},
			{TagKey: aws.String("harden-run"), TagValue: aws.String(runID)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	keyID := aws.ToString(key.KeyMetadata.KeyId)
	n := lastSeq(t, files[0])
	appendLines(t, files[0], fmt.Sprintf(`{"type":"intent","seq":%d,"control":"log-archive","region":"us-east-1","action":"CreateKey","prior":{"Name":"alias/harden-log-archive"},"time":"2026-11-24T00:00:00Z"}`, n+1))
	out := run(t, url, state, 0, "rollback", "--yes")
	if !strings.Contains(out, keyID) {
		t.Errorf("rollback should name the orphan key %s:\n%s", keyID, out)
	}
	run(t, url, state, 0, "apply", "--yes", "--allow-destructive", "--controls", "log-archive")
	keys, err := c.KMS("us-east-1").ListKeys(ctx, &kms.ListKeysInput{})
	if err != nil {
		t.Fatal(err)
	}
	harden := 0
	for _, k := range keys.Keys {
		tags, err := c.KMS("us-east-1").ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: k.KeyId})
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range tags.Tags {
			if aws.ToString(tg.TagKey) == "managed-by" && aws.ToString(tg.TagValue) == "harden" {
				harden++
			}
		}
	}
	if harden != 1 {
		t.Errorf("%d harden-tagged keys after the next apply, want the orphan adopted (1)", harden)
	}
}

// runErr runs harden like run and returns stdout and stderr together.
func runErr(t *testing.T, url, stateDir string, want int, args ...string) string {
	t.Helper()
	cmd := hardenCmd(url, stateDir, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != want {
		t.Fatalf("harden %s: exit %d, want %d\n%s", strings.Join(args, " "), code, want, out.String())
	}
	return out.String()
}
