package main_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// request is one entry of fakeaws's request log.
type request struct {
	Service, Action, Region string
	Write                   bool
	Status                  int
}

func requests(t *testing.T, url string) []request {
	t.Helper()
	resp, err := http.Get(url + "/_fakeaws/requests")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rs []request
	if err := json.NewDecoder(resp.Body).Decode(&rs); err != nil {
		t.Fatal(err)
	}
	return rs
}

func writes(t *testing.T, url string) []request {
	var out []request
	for _, r := range requests(t, url) {
		if r.Write {
			out = append(out, r)
		}
	}
	return out
}

func clearLog(t *testing.T, url string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, url+"/_fakeaws/requests", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func addFault(t *testing.T, url, fault string) {
	t.Helper()
	resp, err := http.Post(url+"/_fakeaws/faults", "application/json", strings.NewReader(fault))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("add fault %s: %s", fault, resp.Status)
	}
}

// execCode runs cmd and returns its exit code, stdout and stderr.
func execCode(t *testing.T, cmd *exec.Cmd) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), out.String(), errb.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String(), errb.String()
}

const cleanLine = "matches the baseline"

// The false greens of issue 7: invalid-token answers in the home region
// and SCP denials never end in a clean account.
func TestE2ENoFalseGreen(t *testing.T) {
	for _, fault := range []string{
		`{"service":"iam","error":"UnrecognizedClientException","status":400,"message":"The security token included in the request is invalid."}`,
		`{"service":"cloudtrail","region":"us-east-1","error":"UnrecognizedClientException","status":400,"message":"The security token included in the request is invalid."}`,
		`{"service":"ec2","region":"us-east-1","error":"AuthFailure","status":401,"message":"AWS was not able to validate the provided access credentials"}`,
		`{"service":"config","region":"us-east-1","error":"AccessDeniedException","status":400,"message":"User: arn:aws:iam::123456789012:user/ci is not authorized to perform: config:DescribeConfigurationRecorders with an explicit deny in a service control policy"}`,
	} {
		url := startFakeAWS(t)
		state := t.TempDir()
		run(t, url, state, 0, "apply", "--yes", "--allow-destructive", "--regions", "us-east-1")
		run(t, url, state, 0, "audit", "--regions", "us-east-1")
		addFault(t, url, fault)
		code, out, errOut := execCode(t, hardenCmd(url, state, "audit", "--regions", "us-east-1"))
		if code != 1 || strings.Contains(out, cleanLine) {
			t.Fatalf("fault %s: exit %d (want 1)\n%s\n%s", fault, code, out, errOut)
		}
	}
}

// Every invalid flag value exits 64 and no AWS call writes.
func TestE2EInvalidFlagsWriteNothing(t *testing.T) {
	url := startFakeAWS(t)
	state := t.TempDir()
	for _, args := range [][]string{
		{"apply", "--yes", "--log-bucket", "MyLogs"},
		{"apply", "--yes", "--log-bucket", "ab"},
		{"apply", "--yes", "--log-bucket", "xn--logs"},
		{"apply", "--yes", "--log-bucket", "a..b"},
		{"apply", "--yes", "--log-bucket", "10.0.0.1"},
		{"apply", "--yes", "--log-bucket", "logs-s3alias"},
		{"apply", "--yes", "--log-retention-days", "-1"},
		{"apply", "--yes", "--regions", ""},
		{"apply", "--yes", "--controls", ""},
		{"apply", "--yes", "--regions", "us-east-1,,eu-west-1"},
		{"apply", "--yes", "--region", "mars-north-1x"},
		{"apply", "--yes", "--region", "us-east-9"},
		{"apply", "--yes", "--region", "af-south-1"},
		{"apply", "--yes", "--regions", "af-south-1", "--controls", "ebs-default-encryption"},
		{"apply", "--yes", "--controls", "cloudtrail", "--skip", "cloudtrail"},
		{"apply", "--yes", "--controls", "acess-analyzer"},
		{"apply", "--yes", "--timeout", "0s"},
		{"aply", "--yes"},
	} {
		clearLog(t, url)
		code, out, errOut := execCode(t, hardenCmd(url, state, args...))
		first, _, _ := strings.Cut(errOut, "\n")
		if code != 64 || !strings.HasPrefix(first, "harden: ") || strings.Contains(first, "\t") || strings.Contains(out, cleanLine) {
			t.Fatalf("harden %q: exit %d, want 64 and one clean line\nstdout:\n%s\nstderr:\n%s", args, code, out, errOut)
		}
		if w := writes(t, url); len(w) != 0 {
			t.Fatalf("harden %q wrote %d times: %+v", args, len(w), w)
		}
	}
}

// hungListener accepts connections and never answers.
func hungListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	return "http://" + ln.Addr().String()
}

// One service that never answers ends as an error of its own targets,
// inside the deadline; the others are checked.
func TestE2EHungServiceTimesOut(t *testing.T) {
	url := startFakeAWS(t)
	cmd := hardenCmd(url, t.TempDir(), "plan", "--timeout", "2s", "--regions", "us-east-1,eu-west-1")
	cmd.Env = append(cmd.Env, "AWS_ENDPOINT_URL_ACCESSANALYZER="+hungListener(t))
	start := time.Now()
	code, out, errOut := execCode(t, cmd)
	took := time.Since(start)
	t.Logf("plan against a hung access-analyzer endpoint, --timeout 2s: exit %d in %s", code, took.Round(10*time.Millisecond))
	if code != 1 || took > 8*time.Second {
		t.Fatalf("exit %d after %s, want 1 within a few seconds\n%s\n%s", code, took, out, errOut)
	}
	errored := 0
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "! ") {
			continue
		}
		errored++
		if !strings.Contains(l, "access-analyzer") || !strings.Contains(l, "within 2s") || !strings.Contains(l, "--timeout") {
			t.Fatalf("error line: %q", l)
		}
	}
	if errored != 2 || !strings.Contains(out, "to change") {
		t.Fatalf("want exactly the 2 access-analyzer targets errored:\n%s", out)
	}
}

// Ctrl-C typed at the prompt on a real terminal: the terminal sends
// SIGINT, harden exits 130 within a second, writes nothing and leaves no
// journal.
func TestE2ECtrlCAtPrompt(t *testing.T) {
	url := startFakeAWS(t, "-account-alias", "acme-prod")
	state := t.TempDir()
	cmd := hardenCmd(url, state, "apply", "--regions", "eu-west-1", "--controls", "ebs-default-encryption")
	cmd.Env = append(cmd.Env, "NO_COLOR=1")
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	var mu sync.Mutex
	var screen bytes.Buffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	shown := func() string {
		mu.Lock()
		defer mu.Unlock()
		return screen.String()
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(shown(), "Enter a value:") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no prompt within 20s:\n%s", shown())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(shown(), "(acme-prod) as arn:aws:iam::123456789012:user/fakeaws") {
		t.Errorf("prompt does not name the account alias and caller:\n%s", shown())
	}
	start := time.Now()
	if _, err := tty.Write([]byte{3}); err != nil { // Ctrl-C: the terminal sends SIGINT
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err = <-waited:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("harden still running 5s after Ctrl-C:\n%s", shown())
	}
	took := time.Since(start)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 || took > time.Second {
		t.Fatalf("after Ctrl-C: %v after %s, want exit 130 within a second\n%s", err, took, shown())
	}
	t.Logf("Ctrl-C at the prompt: exit 130 after %s", took.Round(time.Millisecond))
	if w := writes(t, url); len(w) != 0 {
		t.Fatalf("wrote: %+v", w)
	}
	if files, _ := filepath.Glob(filepath.Join(state, "*", "*.jsonl")); len(files) != 0 {
		t.Fatalf("journal files: %v", files)
	}
}
