package journal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/harden-dev/harden/internal/control"
)

const (
	acct  = "123456789012"
	other = "210987654321"
)

var t0 = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// testClock returns a goroutine-safe clock that starts at start and
// advances by one millisecond on every reading.
func testClock(start time.Time) func() time.Time {
	var n atomic.Int64
	return func() time.Time { return start.Add(time.Duration(n.Add(1)-1) * time.Millisecond) }
}

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), acct)
	if err != nil {
		t.Fatal(err)
	}
	s.now = testClock(t0)
	return s
}

func begin(t *testing.T, s *Store) *Run {
	t.Helper()
	r, err := s.Begin("eu-west-1", "v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func mustClose(t *testing.T, r *Run) {
	t.Helper()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

func load(t *testing.T, s *Store, id string) *Log {
	t.Helper()
	l, err := s.Load(id)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// lines returns the run file's lines decoded as JSON objects; it fails the
// test on a line that is not one.
func lines(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 || data[len(data)-1] != '\n' {
		t.Fatalf("%s does not end with a newline: %q", path, data)
	}
	var out []map[string]any
	for i, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %d %q: %v", i+1, l, err)
		}
		out = append(out, m)
	}
	return out
}

func seqs(steps []StepRecord) []int {
	out := []int{}
	for _, s := range steps {
		out = append(out, s.Seq)
	}
	return out
}

func appendRaw(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

type prior struct {
	MinLength int    `json:"min_length"`
	Name      string `json:"name"`
}

type result struct {
	ID string `json:"id"`
}

func ok(res any) func(context.Context) (any, error) {
	return func(context.Context) (any, error) { return res, nil }
}

func accessDenied() error {
	return &smithy.OperationError{ServiceID: "IAM", OperationName: "UpdateAccountPasswordPolicy",
		Err: &smithy.GenericAPIError{Code: "AccessDenied", Message: "not allowed"}}
}

func TestDefaultStateDir(t *testing.T) {
	t.Setenv("HOME", "/home/alice")
	t.Setenv("XDG_STATE_HOME", "/xdg/state")
	got, err := DefaultStateDir()
	if err != nil || got != "/xdg/state/harden" {
		t.Errorf("with XDG_STATE_HOME: %q, %v; want /xdg/state/harden", got, err)
	}
	t.Setenv("XDG_STATE_HOME", "")
	got, err = DefaultStateDir()
	if err != nil || got != "/home/alice/.local/state/harden" {
		t.Errorf("without XDG_STATE_HOME: %q, %v; want /home/alice/.local/state/harden", got, err)
	}
	t.Setenv("XDG_STATE_HOME", "relative/state")
	got, err = DefaultStateDir()
	if err != nil || got != "/home/alice/.local/state/harden" {
		t.Errorf("relative XDG_STATE_HOME is invalid and ignored: %q, %v", got, err)
	}
}

func TestOpen(t *testing.T) {
	state := filepath.Join(t.TempDir(), "a", "b")
	for _, bad := range []string{"", "12345678901", "1234567890123", "12345678901x", "../../../etc"} {
		if _, err := Open(state, bad); err == nil || !strings.Contains(err.Error(), "12 digits") {
			t.Errorf("Open(%q) = %v, want a 12 digits error", bad, err)
		}
	}
	if _, err := os.Stat(state); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a rejected Open created %s: %v", state, err)
	}
	s, err := Open(state, acct)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(state, acct); s.Dir() != want {
		t.Errorf("Dir() = %q, want %q", s.Dir(), want)
	}
	fi, err := os.Stat(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("%s mode %v, want a 0700 directory", s.Dir(), fi.Mode())
	}
	// Opening again is fine.
	if _, err := Open(state, acct); err != nil {
		t.Errorf("second Open: %v", err)
	}
}

func TestBeginWritesHeader(t *testing.T) {
	s := newStore(t)
	r := begin(t, s)

	if !regexp.MustCompile(`^20250304T050607Z-[0-9a-f]{4}$`).MatchString(r.ID()) {
		t.Errorf("run ID %q, want 20250304T050607Z-xxxx", r.ID())
	}
	if want := filepath.Join(s.Dir(), r.ID()+".jsonl"); r.Path() != want {
		t.Errorf("Path() = %q, want %q", r.Path(), want)
	}
	fi, err := os.Stat(r.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || !fi.Mode().IsRegular() {
		t.Errorf("run file mode %v, want 0600 regular file", fi.Mode())
	}
	di, err := os.Stat(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("run dir mode %v, want 0700", di.Mode().Perm())
	}

	data, err := os.ReadFile(r.Path())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"run","version":2,"run":"` + r.ID() + `","account":"123456789012","home_region":"eu-west-1","harden":"v1.2.3","started":"2025-03-04T05:06:07.001Z"}` + "\n"
	if string(data) != want {
		t.Errorf("run file:\n%s\nwant:\n%s", data, want)
	}

	// No temporary file is left behind; the lock file is there.
	entries, err := os.ReadDir(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if wantNames := []string{".lock", r.ID() + ".jsonl"}; !reflect.DeepEqual(names, wantNames) {
		t.Errorf("dir holds %q, want %q", names, wantNames)
	}

	runs, err := s.Runs()
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := Header{Type: "run", Version: 2, RunID: r.ID(), AccountID: acct, HomeRegion: "eu-west-1",
		Harden: "v1.2.3", Started: t0.Add(time.Millisecond)}
	if len(runs) != 1 || runs[0].ID != r.ID() || runs[0].Path != r.Path() || runs[0].Header != wantHeader {
		t.Errorf("Runs() = %+v, want one run %s with header %+v", runs, r.ID(), wantHeader)
	}
}

func TestWriteDone(t *testing.T) {
	s := newStore(t)
	r := begin(t, s)
	called := 0
	err := r.For("iam-password-policy", "eu-west-1").Write(context.Background(), "UpdateAccountPasswordPolicy", prior{MinLength: 8, Name: "old"}, prior{MinLength: 14, Name: "new"},
		func(ctx context.Context) (any, error) {
			called++
			// The intent is on disk before the write runs.
			ls := lines(t, r.Path())
			if len(ls) != 2 || ls[1]["type"] != "intent" {
				t.Errorf("during the write the journal holds %v, want header and intent", ls)
			}
			return result{ID: "pp-1"}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if called != 1 {
		t.Errorf("write called %d times, want 1", called)
	}

	ls := lines(t, r.Path())
	if len(ls) != 3 {
		t.Fatalf("journal has %d lines, want 3: %v", len(ls), ls)
	}
	intent, done := ls[1], ls[2]
	wantIntent := map[string]any{"type": "intent", "seq": 1.0, "control": "iam-password-policy", "region": "eu-west-1",
		"action": "UpdateAccountPasswordPolicy", "prior": map[string]any{"min_length": 8.0, "name": "old"},
		"after": map[string]any{"min_length": 14.0, "name": "new"}, "time": intent["time"]}
	if !reflect.DeepEqual(intent, wantIntent) {
		t.Errorf("intent %v, want %v", intent, wantIntent)
	}
	wantDone := map[string]any{"type": "done", "seq": 1.0, "result": map[string]any{"id": "pp-1"}, "time": done["time"]}
	if !reflect.DeepEqual(done, wantDone) {
		t.Errorf("done %v, want %v", done, wantDone)
	}

	l := load(t, s, r.ID())
	p := l.Pending()
	if len(p) != 1 {
		t.Fatalf("Pending() = %+v, want 1 step", p)
	}
	st := p[0]
	if st.Seq != 1 || st.Control != "iam-password-policy" || st.Region != "eu-west-1" || st.Failed || st.Undone ||
		!st.Step.Done || st.Step.Kind != "UpdateAccountPasswordPolicy" {
		t.Errorf("step %+v", st)
	}
	if st.Time.IsZero() || !st.Time.Equal(t0.Add(2*time.Millisecond)) {
		t.Errorf("step time %v, want %v", st.Time, t0.Add(2*time.Millisecond))
	}
	var gotPrior prior
	if err := control.DecodePrior(st.Step, &gotPrior); err != nil {
		t.Fatal(err)
	}
	if gotPrior != (prior{MinLength: 8, Name: "old"}) {
		t.Errorf("prior %+v", gotPrior)
	}
	var gotResult result
	if err := json.Unmarshal(st.Step.Result, &gotResult); err != nil {
		t.Fatal(err)
	}
	if gotResult.ID != "pp-1" {
		t.Errorf("result %+v", gotResult)
	}
	if !reflect.DeepEqual(l.Steps, p) {
		t.Errorf("Steps %+v differ from Pending %+v", l.Steps, p)
	}
	if l.Header.RunID != r.ID() || l.Path != r.Path() {
		t.Errorf("log header %+v path %s", l.Header, l.Path)
	}
}

func TestWriteNilPriorAndResult(t *testing.T) {
	s := newStore(t)
	r := begin(t, s)
	if err := r.For("ebs-encryption", "us-east-1").Write(context.Background(), "EnableEbsEncryptionByDefault", nil, nil, ok(nil)); err != nil {
		t.Fatal(err)
	}
	var typedNil *result
	if err := r.For("ebs-encryption", "us-east-2").Write(context.Background(), "EnableEbsEncryptionByDefault", nil, nil, ok(typedNil)); err != nil {
		t.Fatal(err)
	}
	ls := lines(t, r.Path())
	if len(ls) != 5 {
		t.Fatalf("%d lines, want 5", len(ls))
	}
	if v, present := ls[1]["prior"]; !present || v != nil {
		t.Errorf("intent prior %v (present %v), want null", v, present)
	}
	for _, i := range []int{2, 4} {
		if _, present := ls[i]["result"]; present || ls[i]["type"] != "done" {
			t.Errorf("line %d = %v, want a done record without result", i+1, ls[i])
		}
	}
	l := load(t, s, r.ID())
	for _, st := range l.Steps {
		if string(st.Step.Prior) != "null" || st.Step.Result != nil || !st.Step.Done {
			t.Errorf("step %d: prior %q result %q done %v", st.Seq, st.Step.Prior, st.Step.Result, st.Step.Done)
		}
	}
}

func TestWriteAPIErrorIsFailed(t *testing.T) {
	s := newStore(t)
	r := begin(t, s)
	j := r.For("iam-password-policy", "eu-west-1")
	err := j.Write(context.Background(), "UpdateAccountPasswordPolicy", prior{MinLength: 8}, nil, func(context.Context) (any, error) {
		return nil, accessDenied()
	})
	var ae *smithy.GenericAPIError
	if !errors.As(err, &ae) || ae.Code != "AccessDenied" {
		t.Fatalf("Write returned %v, want the AccessDenied error", err)
	}
	if err := j.Write(context.Background(), "DeleteAccountPasswordPolicy", prior{}, nil, func(context.Context) (any, error) {
		return nil, &smithy.GenericAPIError{Code: "AccessDenied"}
	}); err == nil {
		t.Fatal("want an error")
	}
	ls := lines(t, r.Path())
	if len(ls) != 5 || ls[2]["type"] != "failed" || ls[2]["seq"] != 1.0 || ls[4]["type"] != "failed" || ls[4]["seq"] != 2.0 {
		t.Fatalf("journal %v, want intent+failed twice", ls)
	}
	l := load(t, s, r.ID())
	if len(l.Steps) != 2 {
		t.Fatalf("steps %+v", l.Steps)
	}
	st := l.Steps[0]
	if !st.Failed || st.Step.Done || st.Undone || st.Error != accessDenied().Error() {
		t.Errorf("step %+v, want failed with error %q", st, accessDenied().Error())
	}
	if p := l.Pending(); len(p) != 0 {
		t.Errorf("Pending() = %+v, want none: failed writes did not happen", p)
	}
}

func TestWriteUnknownOutcomeIsPending(t *testing.T) {
	s := newStore(t)
	r := begin(t, s)
	j := r.For("s3-public-access-block", "us-east-1")

	netErr := errors.New("dial tcp: connection reset by peer")
	if err := j.Write(context.Background(), "PutPublicAccessBlock", prior{Name: "net"}, nil, func(context.Context) (any, error) {
		return result{ID: "ignored"}, netErr
	}); err != netErr {
		t.Fatalf("Write returned %v, want %v", err, netErr)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := j.Write(ctx, "PutPublicAccessBlock", prior{Name: "cancel"}, nil, func(ctx context.Context) (any, error) {
		cancel() // Ctrl-C while the request is in flight.
		<-ctx.Done()
		return nil, fmt.Errorf("operation error S3 Control: PutPublicAccessBlock: %w", ctx.Err())
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Write returned %v, want context.Canceled", err)
	}

	ls := lines(t, r.Path())
	if len(ls) != 3 || ls[1]["type"] != "intent" || ls[2]["type"] != "intent" {
		t.Fatalf("journal %v, want header and two intents only", ls)
	}
	l := load(t, s, r.ID())
	p := l.Pending()
	if got := seqs(p); !reflect.DeepEqual(got, []int{2, 1}) {
		t.Fatalf("Pending seqs %v, want [2 1]", got)
	}
	for _, st := range p {
		if st.Step.Done || st.Failed || st.Undone || st.Step.Result != nil {
			t.Errorf("step %+v, want may-have-happened", st)
		}
	}
	var pr prior
	if err := control.DecodePrior(p[0].Step, &pr); err != nil || pr.Name != "cancel" {
		t.Errorf("newest pending prior %+v, %v; want the cancelled one", pr, err)
	}

	// A Write with the cancelled context appends nothing.
	before, _ := os.ReadFile(r.Path())
	called := false
	if err := j.Write(ctx, "PutPublicAccessBlock", nil, nil, func(context.Context) (any, error) {
		called = true
		return nil, nil
	}); !errors.Is(err, context.Canceled) {
		t.Errorf("Write with a done ctx returned %v", err)
	}
	after, _ := os.ReadFile(r.Path())
	if called || !bytes.Equal(before, after) {
		t.Errorf("Write with a done ctx: called %v, journal changed %v", called, !bytes.Equal(before, after))
	}
}

func TestWriteCancelledBefore(t *testing.T) {
	s := newStore(t)
	r := begin(t, s)
	before, err := os.ReadFile(r.Path())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	called := false
	err = r.For("ebs-encryption", "us-east-1").Write(ctx, "EnableEbsEncryptionByDefault", nil, nil, func(context.Context) (any, error) {
		called = true
		return nil, nil
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Write returned %v, want context.DeadlineExceeded", err)
	}
	if called {
		t.Error("write was called with a done context")
	}
	after, err := os.ReadFile(r.Path())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("journal changed:\n%s", after)
	}
	if l := load(t, s, r.ID()); len(l.Steps) != 0 {
		t.Errorf("steps %+v, want none", l.Steps)
	}
}

func TestWriteNotRunWhenIntentCannotBeJournaled(t *testing.T) {
	s := newStore(t)
	r := begin(t, s)
	called := false
	write := func(context.Context) (any, error) {
		called = true
		return nil, nil
	}
	j := r.For("ebs-encryption", "us-east-1")

	// A prior that cannot be encoded.
	if err := j.Write(context.Background(), "EnableEbsEncryptionByDefault", make(chan int), nil, write); err == nil {
		t.Error("want an error for an unencodable prior")
	}
	// A closed run.
	mustClose(t, r)
	err := j.Write(context.Background(), "EnableEbsEncryptionByDefault", nil, nil, write)
	if err == nil || !strings.Contains(err.Error(), "journal: append to "+r.Path()) {
		t.Errorf("Write after Close returned %v, want an append error naming %s", err, r.Path())
	}
	if called {
		t.Error("write was called although its intent was not journaled")
	}
	if ls := lines(t, r.Path()); len(ls) != 1 {
		t.Errorf("journal %v, want the header only", ls)
	}
}

func TestConcurrentWrites(t *testing.T) {
	s := newStore(t)
	r := begin(t, s)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j := r.For(fmt.Sprintf("control-%02d", g), "eu-west-1")
			errs <- j.Write(context.Background(), "Put", prior{MinLength: g}, nil, func(context.Context) (any, error) {
				return result{ID: fmt.Sprint(g)}, nil
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	mustClose(t, r)

	l := load(t, s, r.ID())
	p := l.Pending()
	if len(p) != n {
		t.Fatalf("%d pending steps, want %d", len(p), n)
	}
	seen := map[int]bool{}
	for i, st := range p {
		if st.Seq != n-i {
			t.Errorf("Pending[%d].Seq = %d, want %d", i, st.Seq, n-i)
		}
		var pr prior
		if err := control.DecodePrior(st.Step, &pr); err != nil {
			t.Fatal(err)
		}
		var res result
		if err := json.Unmarshal(st.Step.Result, &res); err != nil {
			t.Fatal(err)
		}
		if !st.Step.Done || res.ID != fmt.Sprint(pr.MinLength) || st.Control != fmt.Sprintf("control-%02d", pr.MinLength) {
			t.Errorf("step %d mixes up goroutines: control %s prior %+v result %+v", st.Seq, st.Control, pr, res)
		}
		seen[pr.MinLength] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct goroutines journaled, want %d", len(seen), n)
	}
	if got := len(lines(t, r.Path())); got != 1+2*n {
		t.Errorf("%d lines, want %d", got, 1+2*n)
	}
}

func TestResumeMarkUndone(t *testing.T) {
	s := newStore(t)
	r := begin(t, s)
	j := r.For("c", "eu-west-1")
	for i := 1; i <= 3; i++ {
		if err := j.Write(context.Background(), control.StepKind(fmt.Sprint("Put", i)), prior{MinLength: i}, nil, ok(nil)); err != nil {
			t.Fatal(err)
		}
	}
	mustClose(t, r)

	rr, err := s.Resume(r.ID())
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	if rr.ID() != r.ID() || rr.Path() != r.Path() {
		t.Errorf("resumed %s at %s, want %s at %s", rr.ID(), rr.Path(), r.ID(), r.Path())
	}
	if err := rr.MarkUndone(2, false); err != nil {
		t.Fatal(err)
	}
	if err := rr.MarkUndone(99, false); err == nil || !strings.Contains(err.Error(), "no step 99") {
		t.Errorf("MarkUndone(99) = %v, want a no step 99 error", err)
	}
	if err := rr.For("c", "us-east-1").Write(context.Background(), "Put4", nil, nil, ok(nil)); err != nil {
		t.Fatal(err)
	}
	mustClose(t, rr)

	ls := lines(t, r.Path())
	if len(ls) != 10 {
		t.Fatalf("%d lines, want 10", len(ls))
	}
	if u := ls[7]; u["type"] != "undone" || u["seq"] != 2.0 || u["time"] == nil || len(u) != 3 {
		t.Errorf("undone record %v", u)
	}
	if ls[8]["type"] != "intent" || ls[8]["seq"] != 4.0 {
		t.Errorf("the write after Resume is %v, want intent seq 4", ls[8])
	}

	l := load(t, s, "")
	if got := seqs(l.Pending()); !reflect.DeepEqual(got, []int{4, 3, 1}) {
		t.Errorf("Pending seqs %v, want [4 3 1]", got)
	}
	if !l.Steps[1].Undone || l.Steps[0].Undone {
		t.Errorf("Undone flags: %+v", l.Steps)
	}
}

func TestTornFinalLine(t *testing.T) {
	s := newStore(t)
	r := begin(t, s)
	j := r.For("c", "eu-west-1")
	if err := j.Write(context.Background(), "Put", prior{MinLength: 1}, nil, ok(result{ID: "x"})); err != nil {
		t.Fatal(err)
	}
	if err := j.Write(context.Background(), "Put", prior{MinLength: 2}, nil, ok(result{ID: "y"})); err != nil {
		t.Fatal(err)
	}
	mustClose(t, r)

	// Tear off the end of the last record (step 2's done) mid-line.
	data, err := os.ReadFile(r.Path())
	if err != nil {
		t.Fatal(err)
	}
	cut := bytes.LastIndex(data[:len(data)-1], []byte("\n")) + 1
	torn := data[:cut+20]
	if err := os.WriteFile(r.Path(), torn, 0o600); err != nil {
		t.Fatal(err)
	}
	l := load(t, s, r.ID())
	if len(l.Steps) != 2 || !l.Steps[0].Step.Done || l.Steps[1].Step.Done || l.Steps[1].Step.Result != nil {
		t.Fatalf("steps %+v, want step 1 done and step 2 may-have-happened", l.Steps)
	}
	if got := seqs(l.Pending()); !reflect.DeepEqual(got, []int{2, 1}) {
		t.Errorf("Pending seqs %v, want [2 1]", got)
	}

	// A torn intent is ignored altogether.
	if err := os.WriteFile(r.Path(), data, 0o600); err != nil {
		t.Fatal(err)
	}
	appendRaw(t, r.Path(), `{"type":"intent","seq":3,"contr`)
	if l := load(t, s, r.ID()); len(l.Steps) != 2 || !l.Steps[1].Step.Done {
		t.Fatalf("steps %+v, want the two done steps only", l.Steps)
	}

	// Resume cuts the torn line off, so what it appends starts a line.
	rr, err := s.Resume(r.ID())
	if err != nil {
		t.Fatal(err)
	}
	if err := rr.For("c", "eu-west-1").Write(context.Background(), "Put", nil, nil, ok(nil)); err != nil {
		t.Fatal(err)
	}
	mustClose(t, rr)
	ls := lines(t, r.Path())
	if len(ls) != 7 || ls[5]["type"] != "intent" || ls[5]["seq"] != 3.0 || ls[6]["type"] != "done" {
		t.Errorf("journal after Resume %v, want 5 old lines, intent 3 and done 3", ls)
	}
}

func TestFinalLineWithoutNewlineIsKept(t *testing.T) {
	s := newStore(t)
	r := begin(t, s)
	if err := r.For("c", "eu-west-1").Write(context.Background(), "Put", nil, nil, ok(nil)); err != nil {
		t.Fatal(err)
	}
	mustClose(t, r)
	data, _ := os.ReadFile(r.Path())
	// A complete record whose newline was lost still counts.
	if err := os.WriteFile(r.Path(), data[:len(data)-1], 0o600); err != nil {
		t.Fatal(err)
	}
	if l := load(t, s, r.ID()); len(l.Steps) != 1 || !l.Steps[0].Step.Done {
		t.Fatalf("steps %+v, want step 1 done", l.Steps)
	}
	rr, err := s.Resume(r.ID())
	if err != nil {
		t.Fatal(err)
	}
	if err := rr.MarkUndone(1, false); err != nil {
		t.Fatal(err)
	}
	mustClose(t, rr)
	if ls := lines(t, r.Path()); len(ls) != 4 || ls[2]["type"] != "done" || ls[3]["type"] != "undone" {
		t.Errorf("journal %v", ls)
	}
}

// writeRun writes a run file by hand and returns its path.
func writeRun(t *testing.T, s *Store, id, content string) string {
	t.Helper()
	p := filepath.Join(s.Dir(), id+".jsonl")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func header(id, account string, version int) string {
	return fmt.Sprintf(`{"type":"run","version":%d,"run":%q,"account":%q,"home_region":"eu-west-1","harden":"v1","started":"2025-01-01T00:00:00Z"}`+"\n",
		version, id, account)
}

func TestCorruptMiddleLine(t *testing.T) {
	s := newStore(t)
	r := begin(t, s)
	j := r.For("c", "eu-west-1")
	for i := 0; i < 3; i++ {
		if err := j.Write(context.Background(), "Put", nil, nil, ok(nil)); err != nil {
			t.Fatal(err)
		}
	}
	mustClose(t, r)
	data, _ := os.ReadFile(r.Path())
	ls := strings.SplitAfter(string(data), "\n")
	ls[3] = `{"type":"intent","seq":2,` + "\n" // line 4: step 2's intent, cut short
	corrupted := strings.Join(ls, "")
	if err := os.WriteFile(r.Path(), []byte(corrupted), 0o600); err != nil {
		t.Fatal(err)
	}

	_, err := s.Load(r.ID())
	var ce *CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("Load returned %v, want a *CorruptError", err)
	}
	if ce.Line != 4 || ce.Path != r.Path() {
		t.Errorf("CorruptError line %d path %s, want line 4 of %s", ce.Line, ce.Path, r.Path())
	}
	wantPrefix := fmt.Sprintf("journal %s line 4 is corrupt: ", r.Path())
	if msg := err.Error(); !strings.HasPrefix(msg, wantPrefix) || !strings.HasSuffix(msg, "; nothing was changed") {
		t.Errorf("message %q", msg)
	}

	// Resume refuses too, changes nothing, and releases the lock.
	if _, err := s.Resume(r.ID()); !errors.As(err, &ce) || ce.Line != 4 {
		t.Errorf("Resume returned %v, want the CorruptError", err)
	}
	if after, _ := os.ReadFile(r.Path()); string(after) != corrupted {
		t.Error("Resume changed a corrupt journal")
	}
	r2, err := s.Begin("eu-west-1", "v1")
	if err != nil {
		t.Fatalf("Begin after a failed Resume: %v", err)
	}
	mustClose(t, r2)
}

func TestCorruptJournals(t *testing.T) {
	const id = "20250101T000000Z-abcd"
	h := header(id, acct, 1)
	intent := func(seq int) string {
		return fmt.Sprintf(`{"type":"intent","seq":%d,"control":"c","region":"r","action":"Put","prior":null,"time":"2025-01-01T00:00:01Z"}`+"\n", seq)
	}
	done := func(seq int) string {
		return fmt.Sprintf(`{"type":"done","seq":%d,"time":"2025-01-01T00:00:02Z"}`+"\n", seq)
	}
	for _, tc := range []struct {
		name    string
		content string
		line    int
		msg     string
	}{
		{"empty file", "", 1, "no header"},
		{"torn header", h[:30], 1, "no complete header"},
		{"no header", intent(1), 1, "not a run header"},
		{"header without version", strings.Replace(h, `"version":1`, `"version":0`, 1), 1, "version"},
		{"header of another run", header("20250101T000000Z-ffff", acct, 1), 1, "names run"},
		{"garbage line with newline at end", h + intent(1) + "garbage\n", 3, "invalid character"},
		{"blank line", h + "\n" + intent(1), 2, "unexpected end of JSON input"},
		{"unknown type", h + intent(1) + `{"type":"redo","seq":1}` + "\n", 3, `unknown record type "redo"`},
		{"second header", h + intent(1) + h, 3, "second run header"},
		{"undeclared done", h + intent(1) + done(2), 3, "no intent declared"},
		{"undone before intent", h + `{"type":"undone","seq":1,"time":"2025-01-01T00:00:02Z"}` + "\n" + intent(1), 2, "no intent declared"},
		{"duplicate intent", h + intent(1) + done(1) + intent(1), 4, "duplicate intent for step 1"},
		{"done twice", h + intent(1) + done(1) + done(1), 4, "second outcome"},
		{"done and failed", h + intent(1) + `{"type":"failed","seq":1,"error":"x","time":"2025-01-01T00:00:02Z"}` + "\n" + done(1), 4, "second outcome"},
		{"no seq", h + intent(1) + `{"type":"done","time":"2025-01-01T00:00:02Z"}` + "\n", 3, "no seq"},
		{"intent seq 0", h + intent(0), 2, "seq 0"},
		{"intent without action", h + `{"type":"intent","seq":1,"control":"c","region":"r","prior":null}` + "\n", 2, "no action"},
		{"not an object", h + intent(1) + "[1,2]\n" + done(1), 3, "cannot unmarshal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			p := writeRun(t, s, id, tc.content)
			_, err := s.Load(id)
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("Load returned %v, want a *CorruptError", err)
			}
			if ce.Line != tc.line || ce.Path != p || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %q (line %d), want line %d containing %q", err, ce.Line, tc.line, tc.msg)
			}
			if after, _ := os.ReadFile(p); string(after) != tc.content {
				t.Error("Load changed the file")
			}
		})
	}
}

func TestRunsCorruptHeader(t *testing.T) {
	s := newStore(t)
	r := begin(t, s)
	mustClose(t, r)
	// Files that are not run files are ignored.
	for _, name := range []string{"notes.txt", "foo.jsonl", ".20250101T000000Z-abcd.jsonl.tmp"} {
		if err := os.WriteFile(filepath.Join(s.Dir(), name), []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if runs, err := s.Runs(); err != nil || len(runs) != 1 || runs[0].ID != r.ID() {
		t.Fatalf("Runs() = %+v, %v; want only %s", runs, err, r.ID())
	}
	bad := writeRun(t, s, "20250101T000000Z-abcd", "{not json\n")
	_, err := s.Runs()
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Path != bad || ce.Line != 1 {
		t.Fatalf("Runs() error %v, want a *CorruptError for line 1 of %s", err, bad)
	}
}

func TestForeignAccount(t *testing.T) {
	state := t.TempDir()
	a, err := Open(state, acct)
	if err != nil {
		t.Fatal(err)
	}
	r, err := a.Begin("eu-west-1", "v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.For("c", "eu-west-1").Write(context.Background(), "Put", nil, nil, ok(nil)); err != nil {
		t.Fatal(err)
	}
	mustClose(t, r)

	b, err := Open(state, other)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(r.Path())
	p := writeRun(t, b, r.ID(), string(data))

	for name, f := range map[string]func() error{
		"Load":        func() error { _, err := b.Load(r.ID()); return err },
		"Load newest": func() error { _, err := b.Load(""); return err },
		"Resume": func() error {
			rr, err := b.Resume(r.ID())
			if err == nil {
				rr.Close()
			}
			return err
		},
	} {
		err := f()
		var fe *ForeignAccountError
		if !errors.As(err, &fe) {
			t.Fatalf("%s returned %v, want a *ForeignAccountError", name, err)
		}
		if fe.Path != p || fe.Account != acct || fe.Want != other {
			t.Errorf("%s: %+v", name, fe)
		}
		want := fmt.Sprintf("journal %s belongs to account %s, not %s (the account of these credentials); nothing was changed", p, acct, other)
		if err.Error() != want {
			t.Errorf("%s: message %q, want %q", name, err, want)
		}
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(after, data) {
		t.Error("the foreign journal was changed")
	}
}

func TestNewerVersion(t *testing.T) {
	s := newStore(t)
	const id = "20250101T000000Z-abcd"
	p := writeRun(t, s, id, header(id, acct, Version+1)+`{"type":"whatever-the-next-has"}`+"\n")
	if runs, err := s.Runs(); err != nil || len(runs) != 1 || runs[0].Header.Version != Version+1 {
		t.Errorf("Runs() = %+v, %v; want the newer run listed", runs, err)
	}
	_, err := s.Load(id)
	if !errors.Is(err, ErrNewerVersion) || !strings.Contains(err.Error(), "written by a newer harden") ||
		!strings.Contains(err.Error(), p) {
		t.Errorf("Load returned %v, want a newer-harden error naming %s", err, p)
	}
	if _, err := s.Resume(id); !errors.Is(err, ErrNewerVersion) {
		t.Errorf("Resume returned %v, want ErrNewerVersion", err)
	}
}

func TestLoadNewest(t *testing.T) {
	s := newStore(t)
	var ids []string
	// Out of order on purpose: an hour later, then the same second twice.
	for _, start := range []time.Time{t0, t0.Add(time.Hour), t0.Add(time.Hour + 300*time.Millisecond), t0.Add(time.Hour + 600*time.Millisecond)} {
		s.now = testClock(start)
		r := begin(t, s)
		if err := r.For("c", "eu-west-1").Write(context.Background(), control.StepKind("Put-"+r.ID()), nil, nil, ok(nil)); err != nil {
			t.Fatal(err)
		}
		mustClose(t, r)
		ids = append(ids, r.ID())
	}
	runs, err := s.Runs()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ri := range runs {
		got = append(got, ri.ID)
	}
	if !reflect.DeepEqual(got, ids) {
		t.Errorf("Runs() order %v, want %v", got, ids)
	}
	l := load(t, s, "")
	if l.Header.RunID != ids[3] || len(l.Steps) != 1 || string(l.Steps[0].Step.Kind) != "Put-"+ids[3] {
		t.Errorf("Load(\"\") gave run %s %+v, want %s", l.Header.RunID, l.Steps, ids[3])
	}
	if l := load(t, s, ids[0]); l.Header.RunID != ids[0] || string(l.Steps[0].Step.Kind) != "Put-"+ids[0] {
		t.Errorf("Load(%s) gave %s", ids[0], l.Header.RunID)
	}
}

func TestLoadUnknownRun(t *testing.T) {
	s := newStore(t)
	r := begin(t, s)
	mustClose(t, r)
	for _, id := range []string{"20990101T000000Z-abcd", "../" + acct + "/" + r.ID(), "nope"} {
		_, err := s.Load(id)
		var ue *UnknownRunError
		if !errors.As(err, &ue) {
			t.Fatalf("Load(%q) returned %v, want *UnknownRunError", id, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, fmt.Sprintf("%q", id)) || !strings.Contains(msg, r.ID()) || !strings.Contains(msg, s.Dir()) ||
			!reflect.DeepEqual(ue.Known, []string{r.ID()}) {
			t.Errorf("Load(%q): %q, known %v; want the id, the known run and the directory", id, msg, ue.Known)
		}
	}
}

func TestErrNoRuns(t *testing.T) {
	s := newStore(t)
	if _, err := s.Load(""); err != ErrNoRuns {
		t.Errorf("Load(\"\") = %v, want ErrNoRuns", err)
	}
	if ErrNoRuns.Error() != "no apply runs are journaled for this account" {
		t.Errorf("ErrNoRuns says %q", ErrNoRuns)
	}
	if _, err := s.Resume(""); !errors.Is(err, ErrNoRuns) {
		t.Errorf("Resume(\"\") = %v, want ErrNoRuns", err)
	}
	if runs, err := s.Runs(); err != nil || len(runs) != 0 {
		t.Errorf("Runs() = %v, %v", runs, err)
	}
	// The failed Resume released the lock.
	mustClose(t, begin(t, s))
}

func TestLock(t *testing.T) {
	s := newStore(t)
	r := begin(t, s)

	// Another Store on the same directory, as another process would open it.
	s2, err := Open(filepath.Dir(s.Dir()), acct)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s2.Begin("eu-west-1", "v1")
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "another harden apply or rollback is running") ||
		!strings.Contains(err.Error(), acct) {
		t.Fatalf("second Begin returned %v, want the lock error", err)
	}
	if _, err := s2.Resume(r.ID()); !errors.Is(err, ErrLocked) {
		t.Errorf("Resume during an apply returned %v, want ErrLocked", err)
	}
	if runs, err := s.Runs(); err != nil || len(runs) != 1 {
		t.Errorf("the refused Begin left runs %v, %v", runs, err)
	}
	// Reading needs no lock.
	if _, err := s2.Load(r.ID()); err != nil {
		t.Errorf("Load during an apply: %v", err)
	}

	mustClose(t, r)
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	r2, err := s2.Begin("eu-west-1", "v1")
	if err != nil {
		t.Fatalf("Begin after Close: %v", err)
	}
	mustClose(t, r2)

	// Another account is not locked by this one.
	r3 := begin(t, s)
	o, err := Open(filepath.Dir(s.Dir()), other)
	if err != nil {
		t.Fatal(err)
	}
	r4, err := o.Begin("eu-west-1", "v1")
	if err != nil {
		t.Fatalf("Begin on another account: %v", err)
	}
	mustClose(t, r4)
	mustClose(t, r3)
}

// crash stops a run the way a killed process would: the file and the lock
// are released by the kernel, and nothing more is written.
func crash(r *Run) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_ = r.f.Close()
	_ = r.lock.Close()
	r.f = nil
}

func TestCrashBetweenWrites(t *testing.T) {
	s := newStore(t)
	r := begin(t, s)
	if err := r.For("iam-password-policy", "eu-west-1").Write(context.Background(), "UpdateAccountPasswordPolicy", prior{MinLength: 8}, nil, ok(result{ID: "one"})); err != nil {
		t.Fatal(err)
	}
	var inFlight *Log
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_ = r.For("ebs-encryption", "us-east-1").Write(ctx, "EnableEbsEncryptionByDefault", prior{Name: "off"}, prior{Name: "on"},
		func(ctx context.Context) (any, error) {
			// The process dies while AWS handles the request.
			crash(r)
			var err error
			inFlight, err = s.Load(r.ID())
			if err != nil {
				t.Error(err)
			}
			cancel()
			return nil, ctx.Err()
		})
	ls := lines(t, r.Path())
	if len(ls) != 4 || ls[3]["type"] != "intent" {
		t.Fatalf("journal after the crash %v, want header, intent, done, intent", ls)
	}
	for _, l := range []*Log{inFlight, load(t, s, "")} {
		p := l.Pending()
		if got := seqs(p); !reflect.DeepEqual(got, []int{2, 1}) {
			t.Fatalf("Pending seqs %v, want [2 1]", got)
		}
		if p[1].Control != "iam-password-policy" || !p[1].Step.Done || string(p[1].Step.Result) != `{"id":"one"}` {
			t.Errorf("step 1 %+v, want done with its result", p[1])
		}
		if p[0].Control != "ebs-encryption" || p[0].Region != "us-east-1" || p[0].Step.Done || p[0].Failed ||
			string(p[0].Step.Prior) != `{"min_length":0,"name":"off"}` {
			t.Errorf("step 2 %+v, want may-have-happened with its prior", p[0])
		}
	}

	// Rollback can take over after the crash.
	rr, err := s.Resume("")
	if err != nil {
		t.Fatal(err)
	}
	for _, seq := range []int{2, 1} {
		if err := rr.MarkUndone(seq, false); err != nil {
			t.Fatal(err)
		}
	}
	mustClose(t, rr)
	if p := load(t, s, "").Pending(); len(p) != 0 {
		t.Errorf("Pending after rollback %+v, want none", p)
	}
}

// TestReadsFormat1 reads a journal written by the previous format (no
// after states, no end record, SDK-shaped priors) and sees every step.
func TestReadsFormat1(t *testing.T) {
	s := newStore(t)
	data, err := os.ReadFile("testdata/format1.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	const id = "20261101T120000Z-0a1b"
	writeRun(t, s, id, string(data))
	l, err := s.Load(id)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if l.Header.Version != 1 || l.Interrupted() || l.Outcome != "" {
		t.Errorf("header %+v outcome %q interrupted %v: a format-1 run has no end record and is not taken as interrupted",
			l.Header, l.Outcome, l.Interrupted())
	}
	if len(l.Steps) != 4 {
		t.Fatalf("%d steps, want 4", len(l.Steps))
	}
	for _, st := range l.Steps {
		if st.Step.RunID != id || len(st.Step.After) != 0 {
			t.Errorf("step %d: run %q after %s; want the run id and no after state", st.Seq, st.Step.RunID, st.Step.After)
		}
	}
	if l.Steps[2].Step.Kind != "CreateAnalyzer" || !l.Steps[2].Step.Done || len(l.Steps[2].Step.Result) == 0 {
		t.Errorf("step 3 = %+v", l.Steps[2])
	}
	if l.Steps[3].Step.Done {
		t.Errorf("step 4 has no outcome: it may or may not have happened")
	}
	if p := l.Pending(); len(p) != 4 || p[0].Seq != 4 {
		t.Errorf("pending = %+v, want all four, newest first", p)
	}
	// Rollback bookkeeping appends format-2 records to a format-1 file.
	r, err := s.Resume(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.MarkUndone(4, true); err != nil {
		t.Fatal(err)
	}
	r.Close()
	l = load(t, s, id)
	if !l.Steps[3].Undone || !l.Steps[3].Forced {
		t.Errorf("step 4 after MarkUndone(forced) = %+v", l.Steps[3])
	}
}

func TestFinishAndInterrupted(t *testing.T) {
	s := newStore(t)
	r := begin(t, s)
	if err := r.For("c", "eu-west-1").Write(context.Background(), "Put", nil, nil, ok(nil)); err != nil {
		t.Fatal(err)
	}
	if l := load(t, s, r.ID()); !l.Interrupted() {
		t.Errorf("a format-2 run without an end record must read as interrupted (killed)")
	}
	if err := r.Finish(OutcomeCompleted); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if l := load(t, s, r.ID()); l.Interrupted() || l.Outcome != OutcomeCompleted {
		t.Errorf("outcome %q interrupted %v, want completed", l.Outcome, l.Interrupted())
	}
	r2 := begin(t, s)
	if err := r2.Finish(OutcomeInterrupted); err != nil {
		t.Fatal(err)
	}
	r2.Close()
	if l := load(t, s, r2.ID()); !l.Interrupted() {
		t.Errorf("run finished as interrupted reads as %q", l.Outcome)
	}
	path := r2.Path()
	data, _ := os.ReadFile(path)
	if err := os.WriteFile(path, append(data, []byte(`{"type":"end","outcome":"completed","time":"2025-01-01T00:00:00Z"}`+"\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	var ce *CorruptError
	if _, err := s.Load(r2.ID()); !errors.As(err, &ce) {
		t.Errorf("two end records: Load = %v, want CorruptError", err)
	}
}

func TestLockHeldAcrossRuns(t *testing.T) {
	s := newStore(t)
	lk, err := s.Lock()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Begin("eu-west-1", "v"); !errors.Is(err, ErrLocked) {
		t.Fatalf("Begin while locked = %v, want ErrLocked", err)
	}
	r, err := lk.Begin("eu-west-1", "v")
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := s.Lock(); !errors.Is(err, ErrLocked) {
		t.Fatalf("closing a run begun under a Lock released the lock: %v", err)
	}
	r2, err := lk.Resume(r.ID())
	if err != nil {
		t.Fatal(err)
	}
	r2.Close()
	if err := lk.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := lk.Begin("eu-west-1", "v"); err == nil {
		t.Errorf("Begin on a released lock succeeded")
	}
	lk2, err := s.Lock()
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	lk2.Close()
}
