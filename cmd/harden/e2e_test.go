package main_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/harden-dev/harden/internal/fakeawstest"
)

// binaries builds harden and fakeaws once for the package's tests.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "harden-e2e")
	if err != nil {
		panic(err)
	}
	binDir = dir
	for _, pkg := range []string{"harden", "fakeaws"} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, pkg), "../"+pkg).CombinedOutput()
		if err != nil {
			os.RemoveAll(dir)
			panic("build " + pkg + ": " + err.Error() + "\n" + string(out))
		}
	}
	// The controls that need a person's settings (an alert email, a budget
	// amount, the security contact) are configured, as a user would, so
	// that a full apply leaves nothing unmanaged. Destructive changes are
	// not allowed by the file: the tests that want the whole baseline pass
	// --allow-destructive, and one checks that --yes alone leaves them out.
	settings := "version: 1\ncontrols:\n  security-alerts: {emails: [security@example.com]}\n  budget-alarm: {amount: 100}\n" +
		"  alternate-contacts: {security_name: Sec Team, security_title: Security, security_email: security@example.com, security_phone: \"+1 555 0100\"}\n"
	if err := os.WriteFile(filepath.Join(dir, "harden.yaml"), []byte(settings), 0o600); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startFakeAWS runs the fakeaws binary and returns its base URL.
func startFakeAWS(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "fakeaws"), append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("fakeaws printed no URL: %v", err)
	}
	return strings.TrimSpace(line)
}

func hardenCmd(url, stateDir string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(binDir, "harden"), args...)
	cmd.Env = append(os.Environ(),
		"AWS_ACCESS_KEY_ID=AKIAE2E", "AWS_SECRET_ACCESS_KEY=e2e", "AWS_SESSION_TOKEN=",
		"AWS_REGION=us-east-1", "AWS_PROFILE=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL="+url, "HARDEN_STATE_DIR="+stateDir,
		"HARDEN_CONFIG="+filepath.Join(binDir, "harden.yaml"))
	return cmd
}

func run(t *testing.T, url, stateDir string, want int, args ...string) string {
	t.Helper()
	cmd := hardenCmd(url, stateDir, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != want {
		t.Fatalf("harden %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out.String(), errb.String())
	}
	return out.String()
}

// snapshot is the fake account's state, without the KMS keys: rollback
// keeps the log-archive key on purpose.
func snapshot(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/_fakeaws/snapshot")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	// Without the kept KMS key, and with EC2 ids replaced by their kind:
	// rollback recreates default VPCs under new ids.
	return fakeawstest.WithoutEC2IDs(t, []byte(fakeawstest.WithoutKMS(t, b)))
}

// waitForJournal polls the run's journal until it contains want at least
// n times, failing the test (and killing cmd) after 30 s.
func waitForJournal(t *testing.T, cmd *exec.Cmd, state, want string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(state, "*", "*.jsonl"))
		if len(files) == 1 {
			if b, _ := os.ReadFile(files[0]); strings.Count(string(b), want) >= n {
				return
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the journal did not show %s %d times within 30s", want, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestCommands drives the built binary through AWS_ENDPOINT_URL: plan exits
// 2, apply --yes 0, audit 0, rollback 0, audit 2 again.
func TestCommands(t *testing.T) {
	url := startFakeAWS(t)
	state := t.TempDir()
	fresh := snapshot(t, url)
	if out := run(t, url, state, 2, "plan"); !strings.Contains(out, "Plan: 188 to change") {
		t.Fatalf("plan:\n%s", out)
	}
	run(t, url, state, 0, "apply", "--yes", "--allow-destructive")
	if out := run(t, url, state, 0, "audit", "-o", "json"); !strings.Contains(out, `"compliant": 188`) {
		t.Fatalf("audit json:\n%s", out)
	}
	run(t, url, state, 0, "rollback", "--yes")
	if snapshot(t, url) != fresh {
		t.Fatal("rollback did not restore the fresh account")
	}
	run(t, url, state, 2, "audit")
	run(t, url, state, 64, "plan", "--controls", "nope")
	if out := run(t, url, state, 0, "version"); !strings.HasPrefix(out, "harden ") {
		t.Fatalf("version: %q", out)
	}
}

// TestKilledApplyCanBeRolledBack kills harden (SIGKILL, no chance to clean
// up) in the middle of an apply; rollback must restore the prior state
// from the journal it left.
func TestKilledApplyCanBeRolledBack(t *testing.T) {
	url := startFakeAWS(t, "-latency", "40ms")
	state := t.TempDir()
	fresh := snapshot(t, url)
	cmd := hardenCmd(url, state, "apply", "--yes", "--allow-destructive", "--concurrency", "2")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Five writes answered: many more are in flight (the prerequisites
	// start with the apply), so counting intents may kill it before any
	// write has reached AWS.
	waitForJournal(t, cmd, state, `"type":"done"`, 5)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if snapshot(t, url) == fresh {
		t.Fatal("the killed apply changed nothing: the test proves nothing")
	}
	out := run(t, url, state, 0, "rollback", "--yes")
	if !strings.Contains(out, "restored") {
		t.Fatalf("rollback:\n%s", out)
	}
	if snapshot(t, url) != fresh {
		t.Fatal("rollback after a kill did not restore the prior state")
	}
	run(t, url, state, 2, "audit")
}

// TestInterruptedApply sends SIGINT (Ctrl-C) mid-apply: harden stops
// starting writes, exits 130, and leaves a journal rollback restores from.
func TestInterruptedApply(t *testing.T) {
	url := startFakeAWS(t, "-latency", "40ms")
	state := t.TempDir()
	fresh := snapshot(t, url)
	cmd := hardenCmd(url, state, "apply", "--yes", "--allow-destructive", "--concurrency", "2")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForJournal(t, cmd, state, `"type":"intent"`, 3)
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("interrupted apply: %v, want exit 130\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "harden rollback --run") {
		t.Fatalf("stderr should say how to undo:\n%s", errb.String())
	}
	run(t, url, state, 0, "rollback", "--yes")
	if snapshot(t, url) != fresh {
		t.Fatal("rollback after Ctrl-C did not restore the prior state")
	}
}

// fakeaws is test and demo infrastructure: it must not be linked into harden.
func TestFakeAWSNotInHarden(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "/internal/fakeaws") {
			t.Fatalf("harden depends on %s", dep)
		}
	}
}

// TestKilledBetweenBucketAndTrail kills apply after the log-archive bucket
// is created and before the trail exists; the journal must let rollback
// put the account back (the KMS key is kept on purpose).
func TestKilledBetweenBucketAndTrail(t *testing.T) {
	url := startFakeAWS(t, "-latency", "30ms")
	state := t.TempDir()
	fresh := snapshot(t, url)
	cmd := hardenCmd(url, state, "apply", "--yes", "--allow-destructive", "--controls", "log-archive,cloudtrail")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The intent after CreateBucket: the bucket exists by then.
	waitForJournal(t, cmd, state, `"action":"PutBucketVersioning"`, 1)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	killed := snapshot(t, url)
	if killed == fresh || strings.Contains(killed, `"harden-trail"`) {
		t.Fatal("the kill did not land between the bucket and the trail")
	}
	out := run(t, url, state, 0, "rollback", "--yes")
	if !strings.Contains(out, "restored") {
		t.Fatalf("rollback:\n%s", out)
	}
	if snapshot(t, url) != fresh {
		t.Fatal("rollback after the kill did not restore the prior state")
	}
	// And a fresh apply then goes all the way: the kept key is reused.
	run(t, url, state, 0, "apply", "--yes", "--allow-destructive", "--controls", "log-archive,cloudtrail")
	run(t, url, state, 0, "audit", "--controls", "log-archive,cloudtrail")
}
