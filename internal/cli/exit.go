package cli

import (
	"errors"
	"fmt"
)

// Exit codes. They are part of harden's interface: documented in the
// README and never reused for something else.
const (
	// ExitOK: nothing to change, everything compliant, or the command succeeded.
	ExitOK = 0
	// ExitError: at least one target errored or was left unverified (not
	// checked for a reason other than a region the account has not
	// enabled), or the command failed. It wins over ExitChanges.
	ExitError = 1
	// ExitChanges: plan found changes to make; audit found findings.
	ExitChanges = 2
	// ExitUsage: the command line was wrong, or selects nothing to check;
	// nothing was written.
	ExitUsage = 64
	// ExitInterrupted: stopped by Ctrl-C or SIGTERM, or by Ctrl-C or
	// Ctrl-D at the prompt; the journal is consistent.
	ExitInterrupted = 130
)

// usageError marks an error in how harden was called.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// exitError carries an exit code for a command that has already reported
// its outcome (e.g. plan with changes exits 2 with no error message).
type exitError struct {
	code int
	err  error // optional message
}

func (e *exitError) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return fmt.Sprintf("exit %d", e.code)
}

func exitCode(err error) int {
	var ue *usageError
	var ee *exitError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		return ExitUsage
	default:
		return ExitError
	}
}
