package awserror

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"testing"

	"github.com/aws/smithy-go"
)

func apiErr(code, msg string) error {
	return fmt.Errorf("cloudtrail: start logging: %w", &smithy.GenericAPIError{Code: code, Message: msg})
}

func TestDeniedAction(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{apiErr("AccessDeniedException", "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: cloudtrail:StartLogging on resource: arn:aws:cloudtrail:us-east-1:123456789012:trail/harden-trail because no identity-based policy allows the cloudtrail:StartLogging action"), "cloudtrail:StartLogging"},
		{apiErr("AccessDenied", "User: arn:aws:sts::123456789012:assumed-role/r/s is not authorized to perform: iam:UpdateAccountPasswordPolicy"), "iam:UpdateAccountPasswordPolicy"},
		{apiErr("UnauthorizedOperation", "You are not authorized to perform this operation."), ""},
		{apiErr("AccessDeniedException", "User is not authorized to perform this action"), ""},
		{apiErr("ValidationException", "not authorized to perform: s3:PutObject"), ""}, // not a denial
		{fmt.Errorf("plain"), ""},
	}
	for _, c := range cases {
		if got := DeniedAction(c.err); got != c.want {
			t.Errorf("DeniedAction(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

func TestKinds(t *testing.T) {
	if !IsCredentialsRejected(apiErr("UnrecognizedClientException", "")) || IsCredentialsRejected(apiErr("AccessDenied", "")) {
		t.Error("IsCredentialsRejected")
	}
	if !IsThrottled(apiErr("SlowDown", "")) || IsThrottled(apiErr("AccessDenied", "")) {
		t.Error("IsThrottled")
	}
	if !IsTimeout(fmt.Errorf("x: %w", context.DeadlineExceeded)) || IsTimeout(context.Canceled) {
		t.Error("IsTimeout")
	}
	if !IsBlockedByPolicy(apiErr("AccessDenied", "... with an explicit deny in a service control policy")) {
		t.Error("IsBlockedByPolicy")
	}
}

// A service not offered in a region has no endpoint there: the lookup of
// its name fails (as the SDK wraps it), or fakeaws answers UnknownEndpoint.
func TestIsServiceNotOffered(t *testing.T) {
	lookup := &smithy.OperationError{ServiceID: "Detective", OperationName: "ListGraphs",
		Err: fmt.Errorf("https response error: %w", &url.Error{Op: "Post", URL: "https://api.detective.ap-east-2.amazonaws.com/graphs/list",
			Err: &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "api.detective.ap-east-2.amazonaws.com", IsNotFound: true}}})}
	answered := &smithy.GenericAPIError{Code: "UnknownEndpoint", Message: "Inaccessible host"}
	flaky := &net.DNSError{Err: "server misbehaving", Name: "x", IsTemporary: true}
	for _, tc := range []struct {
		err  error
		want bool
	}{{lookup, true}, {answered, true}, {flaky, false}, {&smithy.GenericAPIError{Code: "AccessDeniedException"}, false}} {
		if got := IsServiceNotOffered(tc.err); got != tc.want {
			t.Errorf("IsServiceNotOffered(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
