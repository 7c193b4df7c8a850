package controls_test

import (
	"strings"
	"testing"

	"github.com/harden-dev/harden/internal/controls"
)

func TestValidBucketName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"harden-logs-123456789012-us-east-1", true},
		{"abc", true},
		{"a.b-c.1", true},
		{strings.Repeat("a", 63), true},
		{"192.168.5.4x", true},
		{"ab", false},
		{strings.Repeat("a", 64), false},
		{"MyLogs", false},
		{"my_logs", false},
		{"my logs", false},
		{"-logs", false},
		{"logs-", false},
		{".logs", false},
		{"logs.", false},
		{"a..b", false},
		{"192.168.5.4", false},
		{"999.999.999.999", false},
		{"xn--logs", false},
		{"sthree-logs", false},
		{"amzn-s3-demo-logs", false},
		{"logs-s3alias", false},
		{"logs--ol-s3", false},
		{"logs.mrap", false},
		{"logs--x-s3", false},
		{"logs--table-s3", false},
		{"", false},
	} {
		err := controls.ValidBucketName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidBucketName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "invalid S3 bucket name") {
			t.Errorf("ValidBucketName(%q): error %q does not say what is wrong", tc.name, err)
		}
	}
}
