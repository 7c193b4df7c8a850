// Package fakeawstest starts an in-process fakeaws for tests and points the
// real aws-sdk-go-v2 clients at it.
package fakeawstest

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/harden-dev/harden/internal/awsclient"
	"github.com/harden-dev/harden/internal/fakeaws"
)

// Env is a running fakeaws and clients that talk to it.
type Env struct {
	Server  *fakeaws.Server
	URL     string
	Clients *awsclient.Clients
}

// Start serves a fresh fake account for the length of the test and sets the
// environment a test process needs: static credentials, no shared config
// files, no instance metadata. Retries back off at most 20 ms so that
// throttling tests stay fast.
func Start(t testing.TB, opts ...fakeaws.Options) *Env {
	t.Helper()
	var o fakeaws.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	srv := fakeaws.New(o)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	SetCredentialEnv(t)
	clients, err := awsclient.Load(context.Background(), awsclient.Options{
		Region:      "us-east-1",
		EndpointURL: hs.URL,
		MaxBackoff:  20 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("load clients: %v", err)
	}
	return &Env{Server: srv, URL: hs.URL, Clients: clients}
}

// SetCredentialEnv sets static test credentials and hides the machine's own
// AWS configuration from the SDK.
func SetCredentialEnv(t testing.TB) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "AKIAFAKEAWSTEST00001",
		"AWS_SECRET_ACCESS_KEY":       "fakeaws-secret",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  "us-east-1",
		"AWS_CONFIG_FILE":             "/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ENDPOINT_URL":            "",
	} {
		t.Setenv(k, v)
	}
}

// WithoutKMS returns a snapshot with every region's KMS state removed, for
// comparing an account before apply and after rollback: rollback keeps the
// log-archive KMS key on purpose (logs may be encrypted with it).
func WithoutKMS(t testing.TB, snap []byte) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(snap, &m); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	regions, _ := m["Regions"].(map[string]any)
	for _, r := range regions {
		delete(r.(map[string]any), "KMS")
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ec2ID matches the ids fakeaws gives EC2 resources ("vpc-0123456789abcdef0").
var ec2ID = regexp.MustCompile(`^([a-z]+(?:-[a-z]+)?)-0[0-9a-f]{16}$`)

// WithoutEC2IDs returns a snapshot in which every EC2 resource id is
// replaced by a placeholder naming its kind ("<vpc>"), and every map keyed
// by such ids by the sorted list of its values, so that a default VPC that
// rollback recreated with new ids (CreateDefaultVpc) or security group
// rules authorized again (new rule ids) compare by shape: same CIDRs,
// subnets, gateway, routes and rules.
func WithoutEC2IDs(t testing.TB, snap []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(snap, &v); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	b, err := json.Marshal(withoutEC2IDs(v))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func withoutEC2IDs(v any) any {
	switch v := v.(type) {
	case string:
		if m := ec2ID.FindStringSubmatch(v); m != nil {
			return "<" + m[1] + ">"
		}
		return v
	case []any:
		for i := range v {
			v[i] = withoutEC2IDs(v[i])
		}
		return v
	case map[string]any:
		keyedByID := len(v) > 0
		for k, x := range v {
			v[k] = withoutEC2IDs(x)
			keyedByID = keyedByID && ec2ID.MatchString(k)
		}
		if !keyedByID {
			return v
		}
		values := make([]string, 0, len(v))
		for _, x := range v {
			b, _ := json.Marshal(x)
			values = append(values, string(b))
		}
		sort.Strings(values)
		out := make([]any, len(values))
		for i, s := range values {
			out[i] = json.RawMessage(s)
		}
		return out
	}
	return v
}
