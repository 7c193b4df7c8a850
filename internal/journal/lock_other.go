//go:build !unix

package journal

import (
	"fmt"
	"os"
	"runtime"
)

// acquireLock is not available: harden refuses to journal without a lock.
func acquireLock(s *Store) (*os.File, error) {
	return nil, fmt.Errorf("journal: locking the journal of account %s is not supported on %s", s.account, runtime.GOOS)
}

func syncDir(string) error { return nil }
