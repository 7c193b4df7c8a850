package version

import (
	"runtime/debug"
	"testing"
)

func TestString(t *testing.T) {
	defer func(v string, f func() (*debug.BuildInfo, bool)) { Version, readBuildInfo = v, f }(Version, readBuildInfo)
	readBuildInfo = func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Main: debug.Module{Version: "v0.4.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}}}, true
	}
	Version = "dev"
	if got := String(); got != "v0.4.0" {
		t.Errorf("go install build: %q, want the module version v0.4.0", got)
	}
	Version = "v1.2.3"
	if got := String(); got != "v1.2.3" {
		t.Errorf("ldflags build: %q, want v1.2.3", got)
	}
	if in := Get(); in.Commit != "abc123" || in.Schema != "harden.version/v1" {
		t.Errorf("Get() = %+v", in)
	}
	Version = "dev"
	readBuildInfo = func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true
	}
	if got := String(); got != "dev" {
		t.Errorf("source build: %q, want dev", got)
	}
}
