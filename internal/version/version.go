// Package version holds harden's version, set at build time with
// -ldflags "-X github.com/harden-dev/harden/internal/version.Version=v1.2.3".
package version

// Version of this build; "dev" for builds without ldflags.
var Version = "dev"
