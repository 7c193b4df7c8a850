package controls

import "time"

// SetStandardsReadyDeadline shortens securityhub's wait for READY for a
// test, and returns the function that puts it back.
func SetStandardsReadyDeadline(d time.Duration) (restore func()) {
	old := shStandardsReadyDeadline
	shStandardsReadyDeadline = d
	return func() { shStandardsReadyDeadline = old }
}
