// Package version holds harden's version, set at build time with
// -ldflags "-X github.com/harden-dev/harden/internal/version.Version=v1.2.3".
// A build without it (go install …@v1.2.3) falls back to the module
// version Go records in the binary.
package version

import (
	"runtime"
	"runtime/debug"
)

// Version of this build; "dev" for builds without ldflags.
var Version = "dev"

// readBuildInfo is debug.ReadBuildInfo, replaced in tests.
var readBuildInfo = debug.ReadBuildInfo

// Info is what `harden version -o json` prints.
type Info struct {
	Schema  string `json:"schema"`
	Version string `json:"version"`
	// Commit and Modified come from the VCS information Go records in a
	// build from a repository checkout; empty otherwise.
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// String is the build's version: Version when set at build time, else
// the module version of a `go install` build, else "dev".
func String() string {
	if Version != "" && Version != "dev" {
		return Version
	}
	if bi, ok := readBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// Get returns the build's version information.
func Get() Info {
	in := Info{Schema: "harden.version/v1", Version: String(), Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := readBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				in.Commit = s.Value
			case "vcs.modified":
				in.Modified = s.Value == "true"
			}
		}
	}
	return in
}
