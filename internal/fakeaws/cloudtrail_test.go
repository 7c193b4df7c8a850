package fakeaws_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/harden-dev/harden/internal/fakeawstest"
)

// ctRaw posts a CloudTrail JSON 1.1 request with the given X-Amz-Target,
// as a client other than the Go SDK would, and returns the status and body.
func ctRaw(t *testing.T, env *fakeawstest.Env, target, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, env.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAFAKEAWSTEST00001/20260101/us-east-1/cloudtrail/aws4_request, "+
		"SignedHeaders=host;x-amz-date;x-amz-target, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s: body %q: %v", target, raw, err)
		}
	}
	return resp.StatusCode, out
}

// The AWS CLI v2 names CloudTrail operations with the service's full shape
// id; the Go SDK with the short one. Both reach the same operation.
func TestCloudTrailTargetPrefixes(t *testing.T) {
	env := fakeawstest.Start(t)
	for _, prefix := range []string{"CloudTrail_20131101", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"} {
		status, out := ctRaw(t, env, prefix+".DescribeTrails", `{}`)
		if status != http.StatusOK {
			t.Fatalf("%s.DescribeTrails: %d %v", prefix, status, out)
		}
		if list, ok := out["trailList"].([]any); !ok || len(list) != 0 {
			t.Fatalf("%s.DescribeTrails: %v", prefix, out)
		}
	}
	for _, target := range []string{"com.amazonaws.cloudtrail.v20131101.DescribeTrails", "Other_20131101.DescribeTrails", "DescribeTrails"} {
		if status, out := ctRaw(t, env, target, `{}`); status != http.StatusBadRequest || out["__type"] == nil {
			t.Fatalf("%s: %d %v, want an unknown-operation error", target, status, out)
		}
	}
	if w := env.Server.Writes(); len(w) != 0 {
		t.Fatalf("reads wrote: %+v", w)
	}
}
