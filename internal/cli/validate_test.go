package cli_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/harden-dev/harden/internal/cli"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// everyControl lists every control id, comma-separated.
func everyControl() string {
	var ids []string
	for _, c := range controls.All() {
		ids = append(ids, c.Info().ID)
	}
	return strings.Join(ids, ",")
}

// Every invalid input exits 64 with one line naming what is wrong, and
// writes nothing; input that can be judged offline makes no AWS call.
func TestInvalidInput(t *testing.T) {
	env := fakeawstest.Start(t)
	dir := t.TempDir()
	cases := []struct {
		args    []string
		msg     string
		offline bool // decided before any AWS call
	}{
		{[]string{"plan", "--regions", ""}, "--regions", true},
		{[]string{"plan", "--regions", "us-east-1,,eu-west-1"}, "--regions", true},
		{[]string{"plan", "--regions", "us-east-1,"}, "--regions", true},
		{[]string{"audit", "--controls", ""}, "--controls", true},
		{[]string{"audit", "--skip", ""}, "--skip", true},
		{[]string{"plan", "--region", "nowhere"}, `--region: "nowhere" is not a region name`, true},
		{[]string{"plan", "--regions", "EU-WEST-1"}, `--regions: "EU-WEST-1" is not a region name`, true},
		{[]string{"plan", "--region", "us-east-9"}, `unknown region "us-east-9"`, false},
		{[]string{"plan", "--region", "af-south-1"}, "aws account enable-region --region-name af-south-1", false},
		{[]string{"plan", "--regions", "af-south-1", "--controls", "ebs-default-encryption"}, "nothing to check", false},
		{[]string{"audit", "--controls", "cloudtrail", "--skip", "cloudtrail"}, "no control to run", true},
		{[]string{"audit", "--skip", everyControl()}, "no control to run", true},
		{[]string{"plan", "--controls", "acess-analyzer"}, `unknown control "acess-analyzer": did you mean access-analyzer?`, true},
		{[]string{"pln"}, `unknown command "pln": did you mean plan?`, true},
		{[]string{"apply", "--yes", "--log-bucket", "MyLogs"}, "--log-bucket", true},
		{[]string{"apply", "--yes", "--log-bucket", "ab"}, "--log-bucket", true},
		{[]string{"apply", "--yes", "--log-bucket", "xn--logs"}, "--log-bucket", true},
		{[]string{"apply", "--yes", "--log-bucket", "a..b"}, "--log-bucket", true},
		{[]string{"apply", "--yes", "--log-bucket", "192.168.1.1"}, "--log-bucket", true},
		{[]string{"apply", "--yes", "--log-retention-days", "0"}, "--log-retention-days", true},
		{[]string{"apply", "--yes", "--timeout", "0s"}, "--timeout", true},
		{[]string{"plan", "--timeout", "soon"}, "--timeout", true},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			env.Server.ResetLog()
			o := harden(t, env, dir, term{}, c.args...)
			expect(t, o, cli.ExitUsage, strings.Join(c.args, " "))
			first, _, _ := strings.Cut(o.stderr, "\n")
			if !strings.HasPrefix(first, "harden: ") || !strings.Contains(first, c.msg) || strings.Contains(first, "\t") {
				t.Fatalf("first stderr line %q should name %q", first, c.msg)
			}
			if strings.Contains(o.stdout, "baseline") {
				t.Fatalf("a usage error printed a verdict:\n%s", o.stdout)
			}
			if w := env.Server.Writes(); len(w) != 0 {
				t.Fatalf("wrote: %+v", w)
			}
			if n := len(env.Server.Requests()); c.offline && n != 0 {
				t.Fatalf("%d AWS calls before rejecting offline-checkable input: %+v", n, env.Server.Requests())
			}
		})
	}
}

// List items are trimmed: "us-east-1, eu-west-1" is two regions.
func TestListFlagsTrimmed(t *testing.T) {
	env := fakeawstest.Start(t)
	o := harden(t, env, t.TempDir(), term{}, "plan", "--regions", "us-east-1, eu-west-1", "--controls", " ebs-default-encryption ,access-analyzer")
	expect(t, o, cli.ExitChanges, "plan with spaces in the lists")
	if !strings.Contains(o.stdout, "2 regions") || !strings.Contains(o.stdout, "Plan: 4 to change") {
		t.Fatalf("plan:\n%s", o.stdout)
	}
}

// No false green: an invalid-token answer in the home region is an error,
// an SCP denial leaves a target not checked; both exit 1 and neither
// prints the clean-account line.
func TestNoFalseGreen(t *testing.T) {
	for _, f := range []fakeaws.Fault{
		{Service: "iam", Error: "UnrecognizedClientException", Status: 403, Message: "The security token included in the request is invalid."},
		{Service: "iam", Error: "InvalidClientTokenId", Status: 403, Message: "The security token included in the request is invalid."},
		{Service: "iam", Error: "AccessDenied", Status: 403, Message: "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: iam:GetAccountPasswordPolicy with an explicit deny in a service control policy"},
		{Service: "ec2", Region: "eu-west-1", Error: "AuthFailure", Status: 401, Message: "AWS was not able to validate the provided access credentials"},
	} {
		t.Run(f.Error, func(t *testing.T) {
			env := fakeawstest.Start(t)
			dir := t.TempDir()
			// A compliant account first, so that only the fault can fail it.
			expect(t, harden(t, env, dir, term{}, "apply", "--yes", "--allow-destructive", "--regions", "us-east-1,eu-west-1"), cli.ExitOK, "apply")
			env.Server.AddFault(f)
			o := harden(t, env, dir, term{}, "audit", "--regions", "us-east-1,eu-west-1")
			expect(t, o, cli.ExitError, "audit with "+f.Error)
			if strings.Contains(o.stdout, "matches the baseline") {
				t.Fatalf("false green:\n%s", o.stdout)
			}
			want := "credentials"
			if f.Error == "AccessDenied" {
				want = "not-checked"
			}
			if !strings.Contains(o.stdout, want) {
				t.Fatalf("audit output lacks %q:\n%s", want, o.stdout)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe to read while harden writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// prompted runs apply on a pretend terminal whose input is a pipe, waits
// for the prompt, then calls at; it returns the exit code, stderr and how
// long harden took after at returned.
func prompted(t *testing.T, env *fakeawstest.Env, dir string, at func(ctx context.Context, cancel func(), in *io.PipeWriter), args ...string) (int, string, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inR, inW := io.Pipe()
	defer inW.Close()
	var errb syncBuffer
	done := make(chan int, 1)
	full := append([]string{"--endpoint-url", env.URL, "--state-dir", dir, "apply"}, args...)
	go func() {
		done <- cli.Main(ctx, full, cli.IO{In: inR, Out: io.Discard, Err: &errb, StdinTTY: true,
			StdoutTTY: false, Width: 120, Getenv: func(string) string { return "" }})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(errb.String(), "Enter a value:") {
		select {
		case code := <-done:
			t.Fatalf("harden ended (exit %d) before prompting:\n%s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no prompt within 20s:\n%s", errb.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	at(ctx, cancel, inW)
	start := time.Now()
	select {
	case code := <-done:
		return code, errb.String(), time.Since(start)
	case <-time.After(10 * time.Second):
		t.Fatalf("harden still running 10s after the answer:\n%s", errb.String())
	}
	return 0, "", 0
}

func journalFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Ctrl-C and Ctrl-D at the prompt end harden at once: exit 130, no write,
// no journal.
func TestPromptInterrupted(t *testing.T) {
	for name, at := range map[string]func(context.Context, func(), *io.PipeWriter){
		"ctrl-c": func(_ context.Context, cancel func(), _ *io.PipeWriter) { cancel() },
		"ctrl-d": func(_ context.Context, _ func(), in *io.PipeWriter) { in.Close() },
	} {
		t.Run(name, func(t *testing.T) {
			env := fakeawstest.Start(t)
			dir := t.TempDir()
			code, stderr, took := prompted(t, env, dir, at, "--regions", "eu-west-1")
			if code != cli.ExitInterrupted || took > time.Second {
				t.Fatalf("exit %d after %s, want 130 within a second:\n%s", code, took, stderr)
			}
			if w := env.Server.Writes(); len(w) != 0 {
				t.Fatalf("wrote: %+v", w)
			}
			if f := journalFiles(t, dir); len(f) != 0 {
				t.Fatalf("journal files left: %v", f)
			}
			if !strings.Contains(stderr, "nothing was changed") {
				t.Fatalf("stderr: %s", stderr)
			}
		})
	}
}

// The prompt says who changes which account and how: caller ARN, account
// id and alias, and counts by kind.
func TestPromptNamesCallerAndCounts(t *testing.T) {
	env := fakeawstest.Start(t)
	env.Server.SetAccountAlias("acme-prod")
	_, stderr, _ := prompted(t, env, t.TempDir(), func(_ context.Context, cancel func(), _ *io.PipeWriter) { cancel() },
		"--regions", "eu-west-1", "--controls", "ebs-default-encryption,access-analyzer,iam-password-policy")
	for _, want := range []string{
		"Apply 3 change(s) to account 123456789012 (acme-prod) as arn:aws:iam::123456789012:user/fakeaws?",
		"2 to create, 1 to update, 0 to delete.",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("prompt lacks %q:\n%s", want, stderr)
		}
	}
}

// A change approved for a region that was disabled meanwhile is not made,
// and apply exits 1.
func TestRegionDisabledAfterPlan(t *testing.T) {
	env := fakeawstest.Start(t)
	code, stderr, _ := prompted(t, env, t.TempDir(), func(_ context.Context, _ func(), in *io.PipeWriter) {
		if err := env.Server.SetRegionOptIn("eu-west-1", "not-opted-in"); err != nil {
			t.Error(err)
		}
		io.WriteString(in, "yes\n")
	}, "--regions", "eu-west-1", "--controls", "ebs-default-encryption")
	if code != cli.ExitError {
		t.Fatalf("exit %d, want 1:\n%s", code, stderr)
	}
	if w := env.Server.Writes(); len(w) != 0 {
		t.Fatalf("wrote: %+v", w)
	}
}

// apply -o json on a terminal shows no plan to approve: it needs --yes.
func TestApplyJSONNeedsYes(t *testing.T) {
	env := fakeawstest.Start(t)
	o := harden(t, env, t.TempDir(), term{tty: true, stdin: "yes\n"}, "apply", "-o", "json")
	expect(t, o, cli.ExitUsage, "apply -o json on a terminal")
	if !strings.Contains(o.stderr, "--yes") || len(env.Server.Requests()) != 0 {
		t.Fatalf("stderr %q, %d requests", o.stderr, len(env.Server.Requests()))
	}
}
