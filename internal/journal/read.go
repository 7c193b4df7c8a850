package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/harden-dev/harden/internal/control"
)

// RunInfo describes one journaled run.
type RunInfo struct {
	ID     string
	Path   string
	Header Header
}

// Log is one run's journal as read back.
type Log struct {
	Header Header
	Path   string
	// Steps are in seq order.
	Steps []StepRecord
	// Outcome is how the run ended (OutcomeCompleted,
	// OutcomeInterrupted), or "" when it has no end record: killed, still
	// running, or written in format 1, which had none.
	Outcome string
}

// Interrupted reports whether the run did not complete: cancelled, or
// (format 2 and later) killed before it could say how it ended.
func (l *Log) Interrupted() bool {
	return l.Outcome == OutcomeInterrupted || (l.Outcome == "" && l.Header.Version >= 2)
}

// StepRecord is one journaled write and what became of it.
type StepRecord struct {
	Seq     int
	Control string
	Region  string
	// Time is when the intent was journaled.
	Time time.Time
	// Step holds the action, the prior state, the result and whether AWS
	// confirmed the write (a done record exists).
	Step control.Step
	// Failed is true when AWS refused the write: it did not happen.
	Failed bool
	Error  string
	// Undone is true when rollback already restored the step; Forced when
	// it did so by overwriting a newer change.
	Undone bool
	Forced bool
}

// Pending returns the steps rollback must undo, newest (highest seq)
// first: every step that did not fail and is not undone yet, including
// steps that may or may not have happened (Step.Done false).
func (l *Log) Pending() []StepRecord {
	var p []StepRecord
	for _, s := range l.Steps {
		if !s.Failed && !s.Undone {
			p = append(p, s)
		}
	}
	sort.SliceStable(p, func(i, j int) bool { return p[i].Seq > p[j].Seq })
	return p
}

// runIDs lists the IDs of the run files in the store, unsorted.
func (s *Store) runIDs() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("journal: list runs in %s: %w", s.dir, err)
	}
	var ids []string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(name, fileExt) {
			continue
		}
		id := strings.TrimSuffix(name, fileExt)
		if !runIDPattern.MatchString(id) {
			continue
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Runs lists the account's runs, oldest first. A run file whose header
// cannot be read is reported as a *CorruptError.
func (s *Store) Runs() ([]RunInfo, error) {
	ids, err := s.runIDs()
	if err != nil {
		return nil, err
	}
	runs := make([]RunInfo, 0, len(ids))
	for _, id := range ids {
		p := s.path(id)
		h, err := readHeader(p, id)
		if err != nil {
			return nil, err
		}
		runs = append(runs, RunInfo{ID: id, Path: p, Header: h})
	}
	// IDs start with the start time to the second; Started breaks ties
	// between runs started within one second.
	sort.Slice(runs, func(i, j int) bool {
		a, b := runs[i], runs[j]
		if at, bt := a.ID[:len(runIDTimeLayout)], b.ID[:len(runIDTimeLayout)]; at != bt {
			return at < bt
		}
		if !a.Header.Started.Equal(b.Header.Started) {
			return a.Header.Started.Before(b.Header.Started)
		}
		return a.ID < b.ID
	})
	return runs, nil
}

// readHeader reads and parses the first line of the run file at path.
func readHeader(path, runID string) (Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return Header{}, fmt.Errorf("journal: read %s: %w", path, err)
	}
	defer f.Close()
	line, err := bufio.NewReader(io.LimitReader(f, 1<<20)).ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return Header{}, fmt.Errorf("journal: read %s: %w", path, err)
	}
	return parseHeader(path, runID, line)
}

func parseHeader(path, runID string, line []byte) (Header, error) {
	corrupt := func(format string, a ...any) (Header, error) {
		return Header{}, &CorruptError{Path: path, Line: 1, Err: fmt.Errorf(format, a...)}
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	if len(line) == 0 {
		return corrupt("no header")
	}
	var h Header
	if err := json.Unmarshal(line, &h); err != nil {
		return corrupt("header: %w", err)
	}
	if h.Type != typeRun {
		return corrupt("the first line is not a run header (type %q)", h.Type)
	}
	if h.Version < 1 {
		return corrupt("header has no valid version (%d)", h.Version)
	}
	if h.Version <= Version && h.RunID != runID {
		return corrupt("header names run %q but the file is run %q", h.RunID, runID)
	}
	return h, nil
}

// checkHeader verifies a header belongs to this store and format.
func (s *Store) checkHeader(path string, h Header) error {
	if h.Version > Version {
		return fmt.Errorf("journal %s was %w (format version %d; this harden reads version %d): upgrade harden; nothing was changed",
			path, ErrNewerVersion, h.Version, Version)
	}
	if h.AccountID != s.account {
		return &ForeignAccountError{Path: path, Account: h.AccountID, Want: s.account}
	}
	return nil
}

// Load reads and verifies the journal of a run; runID "" means the newest
// run. It returns ErrNoRuns when the account has no run, and an
// *UnknownRunError when runID names none.
func (s *Store) Load(runID string) (*Log, error) {
	l, _, err := s.load(runID)
	return l, err
}

// parsed describes where a run file's valid content ends.
type parsed struct {
	size     int64
	validLen int64
	// needNewline is true when the last valid line lacks its newline.
	needNewline bool
}

func (s *Store) load(runID string) (*Log, parsed, error) {
	if runID == "" {
		runs, err := s.Runs()
		if err != nil {
			return nil, parsed{}, err
		}
		if len(runs) == 0 {
			return nil, parsed{}, ErrNoRuns
		}
		runID = runs[len(runs)-1].ID
	}
	runID = strings.TrimSuffix(runID, fileExt)
	path := s.path(runID)
	var data []byte
	var err error
	if runIDPattern.MatchString(runID) {
		data, err = os.ReadFile(path)
	} else {
		err = fs.ErrNotExist
	}
	if errors.Is(err, fs.ErrNotExist) {
		ids, lerr := s.runIDs()
		if lerr != nil {
			return nil, parsed{}, lerr
		}
		sort.Strings(ids)
		return nil, parsed{}, &UnknownRunError{RunID: runID, Account: s.account, Dir: s.dir, Known: ids}
	}
	if err != nil {
		return nil, parsed{}, fmt.Errorf("journal: read %s: %w", path, err)
	}
	return s.parse(path, runID, data)
}

// rawRecord is any record after the header.
type rawRecord struct {
	Type    string          `json:"type"`
	Seq     *int            `json:"seq"`
	Control string          `json:"control"`
	Region  string          `json:"region"`
	Action  string          `json:"action"`
	Prior   json.RawMessage `json:"prior"`
	After   json.RawMessage `json:"after"`
	Result  json.RawMessage `json:"result"`
	Error   string          `json:"error"`
	Forced  bool            `json:"forced"`
	Outcome string          `json:"outcome"`
	Time    time.Time       `json:"time"`
}

func (s *Store) parse(path, runID string, data []byte) (*Log, parsed, error) {
	p := parsed{size: int64(len(data))}
	l := &Log{Path: path}
	steps := map[int]*StepRecord{}
	var order []int
	lineNo := 0
	for off := 0; off < len(data); {
		lineNo++
		end := bytes.IndexByte(data[off:], '\n')
		last := end < 0
		var line []byte
		next := len(data)
		if last {
			line = data[off:]
		} else {
			line = data[off : off+end]
			next = off + end + 1
		}
		torn := func() bool {
			// A final line without newline that does not parse is an
			// append cut short by a crash: ignore it.
			return last && !json.Valid(line)
		}
		corrupt := func(format string, a ...any) (*Log, parsed, error) {
			return nil, parsed{}, &CorruptError{Path: path, Line: lineNo, Err: fmt.Errorf(format, a...)}
		}
		if lineNo == 1 {
			if torn() {
				return corrupt("no complete header")
			}
			h, err := parseHeader(path, runID, line)
			if err != nil {
				return nil, parsed{}, err
			}
			if err := s.checkHeader(path, h); err != nil {
				return nil, parsed{}, err
			}
			l.Header = h
		} else {
			if torn() {
				break
			}
			var rec rawRecord
			if err := json.Unmarshal(line, &rec); err != nil {
				return corrupt("%w", err)
			}
			if rec.Type == typeEnd {
				if l.Outcome != "" {
					return corrupt("second end record")
				}
				if rec.Outcome != OutcomeCompleted && rec.Outcome != OutcomeInterrupted {
					return corrupt("end record with outcome %q", rec.Outcome)
				}
				l.Outcome = rec.Outcome
				p.validLen = int64(next)
				p.needNewline = last
				off = next
				continue
			}
			switch rec.Type {
			case typeIntent, typeDone, typeFailed, typeUndone:
			case typeRun:
				return corrupt("second run header")
			default:
				return corrupt("unknown record type %q", rec.Type)
			}
			if rec.Seq == nil {
				return corrupt("%q record has no seq", rec.Type)
			}
			seq := *rec.Seq
			st := steps[seq]
			switch rec.Type {
			case typeDone, typeFailed, typeUndone:
				if st == nil {
					return corrupt("%q record for step %d, which no intent declared", rec.Type, seq)
				}
			}
			switch rec.Type {
			case typeIntent:
				if seq < 1 {
					return corrupt("intent has seq %d", seq)
				}
				if st != nil {
					return corrupt("duplicate intent for step %d", seq)
				}
				if rec.Action == "" {
					return corrupt("intent for step %d has no action", seq)
				}
				after := rec.After
				if string(after) == "null" {
					after = nil
				}
				steps[seq] = &StepRecord{
					Seq: seq, Control: rec.Control, Region: rec.Region, Time: rec.Time,
					Step: control.Step{Kind: control.StepKind(rec.Action), Prior: rec.Prior, After: after, RunID: runID},
				}
				order = append(order, seq)
			case typeDone:
				if st.Step.Done || st.Failed {
					return corrupt("second outcome for step %d", seq)
				}
				st.Step.Done = true
				if len(rec.Result) > 0 && string(rec.Result) != "null" {
					st.Step.Result = rec.Result
				}
			case typeFailed:
				if st.Step.Done || st.Failed {
					return corrupt("second outcome for step %d", seq)
				}
				st.Failed = true
				st.Error = rec.Error
			case typeUndone:
				st.Undone = true
				st.Forced = st.Forced || rec.Forced
			}
		}
		p.validLen = int64(next)
		p.needNewline = last
		off = next
	}
	if lineNo == 0 {
		return nil, parsed{}, &CorruptError{Path: path, Line: 1, Err: errors.New("empty file, no header")}
	}
	sort.Ints(order)
	l.Steps = make([]StepRecord, 0, len(order))
	for _, seq := range order {
		l.Steps = append(l.Steps, *steps[seq])
	}
	return l, p, nil
}
