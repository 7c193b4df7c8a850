// Package journal keeps the record of every write harden makes to AWS, so
// that a later rollback can undo exactly what an apply changed, even after a
// crash or a kill.
//
// # Layout
//
// Journals live under a state directory (see DefaultStateDir), one
// directory per AWS account, mode 0700:
//
//	<stateDir>/<accountID>/.lock            advisory lock (flock) held by a running apply or rollback
//	<stateDir>/<accountID>/<runID>.jsonl    one file per apply run, mode 0600
//
// A run ID is the UTC start time and four random hex digits, for example
// 20250102T150405Z-3fa9, so that names sort chronologically.
//
// # Format
//
// A run file is JSON Lines: one JSON object per line. The first line is the
// header; every later line is a record about one step (one write to AWS),
// named by its seq, which starts at 1 in each run and increases:
//
//	{"type":"run","version":2,"run":"<runID>","account":"<12 digits>","home_region":"...","harden":"<version>","started":"<RFC 3339>"}
//	{"type":"intent","seq":N,"control":"...","region":"...","action":"<step kind>","prior":<json>,"after":<json>,"time":"..."}
//	{"type":"done","seq":N,"result":<json, omitted when none>,"time":"..."}
//	{"type":"failed","seq":N,"error":"...","time":"..."}
//	{"type":"undone","seq":N,"forced":true (only when --force overwrote drift),"time":"..."}
//	{"type":"end","outcome":"completed"|"interrupted","time":"..."}
//
// Format 1 (harden before the rollback-trust release) had no "after" in
// intents and no end record; this package reads both and writes 2. A run
// of format 2 without an end record was killed before it could write one.
// Prior and after states are harden-owned JSON shapes, never SDK types.
//
// An intent, holding the state before the write and the state the write is
// meant to leave, is appended and synced to
// disk before the write is attempted. A done record follows when AWS
// confirmed the write; a failed record when AWS refused it (the write did
// not happen). A step with neither may or may not have happened (the
// process was interrupted, or the network failed), and rollback treats it
// with care. An undone record says that rollback has restored the step.
//
// Every record is appended with a single write of the whole line, newline
// included, followed by fsync. A crash can therefore only leave a torn last
// line without its newline; readers ignore it. Any other damage makes the
// journal unreadable (CorruptError) rather than guessed at.
package journal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/control"
)

// Version is the journal format version this package writes. It reads
// every version from 1 to Version.
const Version = 2

const (
	typeRun    = "run"
	typeIntent = "intent"
	typeDone   = "done"
	typeFailed = "failed"
	typeUndone = "undone"
	typeEnd    = "end"

	// OutcomeCompleted and OutcomeInterrupted end a run (see Run.Finish).
	OutcomeCompleted   = "completed"
	OutcomeInterrupted = "interrupted"

	runIDTimeLayout = "20060102T150405Z"
	fileExt         = ".jsonl"
	lockName        = ".lock"
)

var (
	accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)
	runIDPattern     = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}$`)
)

// ErrNoRuns is returned by Load when the account has no journaled run.
var ErrNoRuns = errors.New("no apply runs are journaled for this account")

// ErrLocked is wrapped by the error Begin and Resume return when another
// harden apply or rollback holds the account's lock.
var ErrLocked = errors.New("another harden apply or rollback is running for this account")

// ErrNewerVersion is wrapped by the error Load and Resume return for a
// journal written in a newer format than this harden reads.
var ErrNewerVersion = errors.New("written by a newer harden")

// CorruptError says a journal file cannot be trusted: a line that does not
// parse, a record about an undeclared step, a missing header, ...
type CorruptError struct {
	Path string
	// Line is 1-based.
	Line int
	Err  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("journal %s line %d is corrupt: %v; nothing was changed", e.Path, e.Line, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// ForeignAccountError says a journal belongs to another AWS account than
// the one harden runs against.
type ForeignAccountError struct {
	Path string
	// Account is the account the journal belongs to; Want the account of
	// the credentials in use.
	Account string
	Want    string
}

func (e *ForeignAccountError) Error() string {
	return fmt.Sprintf("journal %s belongs to account %s, not %s (the account of these credentials); nothing was changed",
		e.Path, e.Account, e.Want)
}

// UnknownRunError says a run ID names no journaled run of the account.
type UnknownRunError struct {
	RunID   string
	Account string
	Dir     string
	// Known lists the account's run IDs, oldest first.
	Known []string
}

func (e *UnknownRunError) Error() string {
	msg := fmt.Sprintf("no run %q is journaled for account %s", e.RunID, e.Account)
	if len(e.Known) == 0 {
		return msg + fmt.Sprintf("; there are no journaled runs in %s", e.Dir)
	}
	known := e.Known
	more := ""
	if len(known) > 10 {
		more = fmt.Sprintf(" (and %d older)", len(known)-10)
		known = known[len(known)-10:]
	}
	list := ""
	for i := len(known) - 1; i >= 0; i-- {
		if list != "" {
			list += ", "
		}
		list += known[i]
	}
	return msg + fmt.Sprintf("; journaled runs, newest first: %s%s (each is a %s file in %s)", list, more, fileExt, e.Dir)
}

// DefaultStateDir returns $XDG_STATE_HOME/harden when XDG_STATE_HOME is set
// to an absolute path, else ~/.local/state/harden.
func DefaultStateDir() (string, error) {
	if x := os.Getenv("XDG_STATE_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "harden"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("journal: find the state directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "harden"), nil
}

// Store is the journal directory of one AWS account.
type Store struct {
	dir     string
	account string
	// now is the clock; tests replace it.
	now func() time.Time
}

// Open returns the store of accountID under stateDir, creating the
// directory <stateDir>/<accountID> with mode 0700 if it is missing.
func Open(stateDir, accountID string) (*Store, error) {
	if !accountIDPattern.MatchString(accountID) {
		return nil, fmt.Errorf("journal: account ID %q is not 12 digits", accountID)
	}
	if stateDir == "" {
		return nil, errors.New("journal: no state directory")
	}
	dir := filepath.Join(stateDir, accountID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: create %s: %w", dir, err)
	}
	return &Store{dir: dir, account: accountID, now: time.Now}, nil
}

// Dir returns the account's journal directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(runID string) string { return filepath.Join(s.dir, runID+fileExt) }

func (s *Store) newRunID() (string, error) {
	var b [2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("journal: make a run ID: %w", err)
	}
	return s.now().UTC().Format(runIDTimeLayout) + "-" + hex.EncodeToString(b[:]), nil
}

// Header is the first line of every run file.
type Header struct {
	Type       string    `json:"type"`    // "run"
	Version    int       `json:"version"` // 2
	RunID      string    `json:"run"`
	AccountID  string    `json:"account"`
	HomeRegion string    `json:"home_region"`
	Harden     string    `json:"harden"` // harden version string
	Started    time.Time `json:"started"`
}

// Run is one run file open for appending. It is safe for concurrent use.
type Run struct {
	store *Store
	id    string
	path  string

	mu   sync.Mutex
	f    *os.File // nil once closed
	lock *os.File
	seq  int
	// declared holds every seq an intent was journaled for.
	declared map[int]bool
	// broken is set when an append failed: the end of the file is then
	// unknown, and appending after it could corrupt the journal.
	broken error
}

// Lock is the account's exclusive lock, held by one apply or rollback at a
// time. Take it before planning so that what is planned is what is applied.
type Lock struct {
	store *Store
	f     *os.File
}

// Lock takes the account's lock without waiting; it fails with ErrLocked
// when another harden holds it.
func (s *Store) Lock() (*Lock, error) {
	f, err := acquireLock(s)
	if err != nil {
		return nil, err
	}
	return &Lock{store: s, f: f}, nil
}

// Close releases the lock. Closing twice is harmless.
func (l *Lock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Begin starts a new run under the held lock; closing the run leaves the
// lock held.
func (l *Lock) Begin(homeRegion, hardenVersion string) (*Run, error) {
	if l.f == nil {
		return nil, errors.New("journal: the account lock is released")
	}
	return l.store.create(homeRegion, hardenVersion, nil)
}

// Resume reopens a run under the held lock (see Store.Resume); closing the
// run leaves the lock held.
func (l *Lock) Resume(runID string) (*Run, error) {
	if l.f == nil {
		return nil, errors.New("journal: the account lock is released")
	}
	return l.store.resume(runID, nil)
}

// Begin starts a new run: it takes the account's lock, then creates
// <dir>/<runID>.jsonl (mode 0600) holding the synced header. The lock is
// held until Close, so two applies or rollbacks on one account cannot
// interleave.
//
// The header is written to a temporary file that is renamed into place, so
// a run file never lacks its header even after a crash.
func (s *Store) Begin(homeRegion, hardenVersion string) (*Run, error) {
	lock, err := acquireLock(s)
	if err != nil {
		return nil, err
	}
	r, err := s.create(homeRegion, hardenVersion, lock)
	if err != nil {
		_ = lock.Close()
		return nil, err
	}
	return r, nil
}

func (s *Store) create(homeRegion, hardenVersion string, lock *os.File) (*Run, error) {
	for attempt := 0; ; attempt++ {
		id, err := s.newRunID()
		if err != nil {
			return nil, err
		}
		final := s.path(id)
		tmp := filepath.Join(s.dir, "."+id+fileExt+".tmp")
		// The lock is held, so no other harden creates files here
		// between this check and the rename below.
		if _, err := os.Lstat(final); err == nil {
			if attempt < 16 {
				continue
			}
			return nil, fmt.Errorf("journal: create run file: %s exists", final)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("journal: create run file: %w", err)
		}
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
		if errors.Is(err, fs.ErrExist) && attempt < 16 {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("journal: create run file: %w", err)
		}
		r := &Run{store: s, id: id, path: final, f: f, lock: lock, declared: map[int]bool{}}
		h := Header{
			Type:       typeRun,
			Version:    Version,
			RunID:      id,
			AccountID:  s.account,
			HomeRegion: homeRegion,
			Harden:     hardenVersion,
			Started:    s.now().UTC(),
		}
		r.path = tmp
		err = r.appendLocked(h)
		r.path = final
		if err == nil {
			if err = os.Rename(tmp, final); err != nil {
				err = fmt.Errorf("journal: create run file: %w", err)
			}
		}
		if err == nil {
			err = syncDir(s.dir)
		}
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
			return nil, err
		}
		return r, nil
	}
}

// Resume reopens an existing run for appending, for rollback bookkeeping.
// runID "" means the newest run. It takes the same lock as Begin and
// verifies the journal like Load. A torn last line left by a crash is cut
// off before anything is appended.
func (s *Store) Resume(runID string) (*Run, error) {
	lock, err := acquireLock(s)
	if err != nil {
		return nil, err
	}
	r, err := s.resume(runID, lock)
	if err != nil {
		_ = lock.Close()
		return nil, err
	}
	return r, nil
}

func (s *Store) resume(runID string, lock *os.File) (*Run, error) {
	l, p, err := s.load(runID)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(l.Path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("journal: open %s: %w", l.Path, err)
	}
	if p.validLen < p.size {
		// Cut the torn last line so the next record starts a line.
		if err := f.Truncate(p.validLen); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("journal: cut torn last line of %s: %w", l.Path, err)
		}
	}
	if p.needNewline {
		if _, err := f.Write([]byte("\n")); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("journal: append to %s: %w", l.Path, err)
		}
	}
	if p.validLen < p.size || p.needNewline {
		if err := f.Sync(); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("journal: append to %s: %w", l.Path, err)
		}
	}
	r := &Run{store: s, id: l.Header.RunID, path: l.Path, f: f, lock: lock, declared: map[int]bool{}}
	for _, st := range l.Steps {
		r.declared[st.Seq] = true
		if st.Seq > r.seq {
			r.seq = st.Seq
		}
	}
	return r, nil
}

// ID returns the run ID.
func (r *Run) ID() string { return r.id }

// Path returns the run file's path.
func (r *Run) Path() string { return r.path }

// Close closes the run file and releases the account's lock. Closing twice
// is harmless.
func (r *Run) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	if r.lock != nil {
		if lerr := r.lock.Close(); lerr != nil && err == nil {
			err = lerr
		}
	}
	if err != nil {
		return fmt.Errorf("journal: close %s: %w", r.path, err)
	}
	return nil
}

// appendLocked appends rec as one line with a single write, then syncs the
// file. r.mu must be held (or r not yet shared). It takes no context: a
// cancelled run must still leave whole lines.
func (r *Run) appendLocked(rec any) error {
	if r.f == nil {
		return fmt.Errorf("journal: append to %s: the run is closed", r.path)
	}
	if r.broken != nil {
		return fmt.Errorf("journal: append to %s: an earlier append failed: %w", r.path, r.broken)
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("journal: append to %s: %w", r.path, err)
	}
	line = append(line, '\n')
	if _, err := r.f.Write(line); err != nil {
		r.broken = err
		return fmt.Errorf("journal: append to %s: %w", r.path, err)
	}
	if err := r.f.Sync(); err != nil {
		r.broken = err
		return fmt.Errorf("journal: append to %s: %w", r.path, err)
	}
	return nil
}

type intentRecord struct {
	Type    string          `json:"type"`
	Seq     int             `json:"seq"`
	Control string          `json:"control"`
	Region  string          `json:"region"`
	Action  string          `json:"action"`
	Prior   json.RawMessage `json:"prior"`
	After   json.RawMessage `json:"after,omitempty"`
	Time    time.Time       `json:"time"`
}

type endRecord struct {
	Type    string    `json:"type"`
	Outcome string    `json:"outcome"`
	Time    time.Time `json:"time"`
}

type doneRecord struct {
	Type   string          `json:"type"`
	Seq    int             `json:"seq"`
	Result json.RawMessage `json:"result,omitempty"`
	Time   time.Time       `json:"time"`
}

type failedRecord struct {
	Type  string    `json:"type"`
	Seq   int       `json:"seq"`
	Error string    `json:"error"`
	Time  time.Time `json:"time"`
}

type undoneRecord struct {
	Type   string    `json:"type"`
	Seq    int       `json:"seq"`
	Forced bool      `json:"forced,omitempty"`
	Time   time.Time `json:"time"`
}

// intent journals a new step and returns its seq.
func (r *Run) intent(controlID, region, action string, prior, after json.RawMessage) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seq := r.seq + 1
	err := r.appendLocked(intentRecord{
		Type: typeIntent, Seq: seq, Control: controlID, Region: region,
		Action: action, Prior: prior, After: after, Time: r.store.now().UTC(),
	})
	if err != nil {
		return 0, err
	}
	r.seq = seq
	r.declared[seq] = true
	return seq, nil
}

func (r *Run) append(rec any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.appendLocked(rec)
}

// MarkUndone journals that rollback restored step seq (forced: by
// overwriting a newer change, under --force).
func (r *Run) MarkUndone(seq int, forced bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.declared[seq] {
		return fmt.Errorf("journal: run %s has no step %d", r.id, seq)
	}
	return r.appendLocked(undoneRecord{Type: typeUndone, Seq: seq, Forced: forced, Time: r.store.now().UTC()})
}

// Finish journals how the run ended: OutcomeCompleted, or
// OutcomeInterrupted when it was cancelled. A run killed before Finish has
// no end record and is listed as interrupted.
func (r *Run) Finish(outcome string) error {
	return r.append(endRecord{Type: typeEnd, Outcome: outcome, Time: r.store.now().UTC()})
}

// For returns the journal for one target: its writes are journaled with
// controlID and region.
func (r *Run) For(controlID, region string) control.Journal {
	return &targetJournal{run: r, control: controlID, region: region}
}

type targetJournal struct {
	run     *Run
	control string
	region  string
}

// RunID names the run the writes go to.
func (j *targetJournal) RunID() string { return j.run.id }

// Write journals the intent (with prior and after), runs write, and journals the
// outcome: done with the result when write succeeds, failed when AWS
// refused it; nothing more when the outcome is unknown. write is not run
// when ctx is done or the intent cannot be journaled.
func (j *targetJournal) Write(ctx context.Context, kind control.StepKind, prior, after any, write func(context.Context) (any, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := j.run
	action := string(kind)
	priorJSON, err := json.Marshal(prior)
	if err != nil {
		return fmt.Errorf("journal: encode prior state of %s for %s in %s: %w", action, j.control, j.region, err)
	}
	afterJSON, err := json.Marshal(after)
	if err != nil {
		return fmt.Errorf("journal: encode after state of %s for %s in %s: %w", action, j.control, j.region, err)
	}
	if string(afterJSON) == "null" {
		afterJSON = nil
	}
	seq, err := r.intent(j.control, j.region, action, priorJSON, afterJSON)
	if err != nil {
		return fmt.Errorf("%w; %s was not attempted", err, action)
	}

	result, werr := write(ctx)

	if werr == nil {
		var resultJSON json.RawMessage
		if result != nil {
			b, err := json.Marshal(result)
			if err != nil {
				// The step stays "may have happened": rollback looks
				// before it acts, which is safe without the result.
				return fmt.Errorf("journal: %s for %s in %s succeeded but its result cannot be journaled: %w",
					action, j.control, j.region, err)
			}
			if string(b) != "null" {
				resultJSON = b
			}
		}
		if err := r.append(doneRecord{Type: typeDone, Seq: seq, Result: resultJSON, Time: r.store.now().UTC()}); err != nil {
			return fmt.Errorf("%w (%s for %s in %s was made)", err, action, j.control, j.region)
		}
		return nil
	}
	if awserror.IsAPIError(werr) {
		// AWS answered with an error: the write did not happen.
		if err := r.append(failedRecord{Type: typeFailed, Seq: seq, Error: werr.Error(), Time: r.store.now().UTC()}); err != nil {
			return errors.Join(werr, err)
		}
	}
	// Otherwise the write may have happened: the intent alone says so.
	return werr
}
