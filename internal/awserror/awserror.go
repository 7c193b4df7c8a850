// Package awserror sorts AWS API errors into the few kinds harden acts on:
// access denied, credentials rejected, throttled, timed out.
package awserror

import (
	"context"
	"errors"
	"net"
	"regexp"
	"strings"

	"github.com/aws/smithy-go"
)

// Code returns the AWS error code of err, or "".
func Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// Message returns the AWS error message of err, or "".
func Message(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

// Is reports whether err is an AWS API error with one of the codes.
func Is(err error, codes ...string) bool {
	c := Code(err)
	if c == "" {
		return false
	}
	for _, want := range codes {
		if c == want {
			return true
		}
	}
	return false
}

// IsAPIError reports whether AWS answered with an error, so the call is
// known to have been refused (as opposed to a network failure or an
// interruption, after which a write may or may not have happened).
func IsAPIError(err error) bool { return Code(err) != "" }

// IsAccessDenied reports a permissions failure: IAM policy, SCP or
// permission boundary.
func IsAccessDenied(err error) bool {
	return Is(err, "AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
		"UnauthorizedAccess", "AuthorizationError", "Forbidden")
}

// IsCredentialsRejected reports an answer that says AWS did not accept the
// request's credentials: bad or expired keys, or a region the account has
// not enabled (AWS gives the same answer to both). Only DescribeRegions
// can tell the two apart, so harden never reads "region not enabled" from
// this code.
func IsCredentialsRejected(err error) bool {
	return Is(err, "UnrecognizedClientException", "InvalidClientTokenId", "AuthFailure",
		"OptInRequired", "ExpiredToken", "ExpiredTokenException", "InvalidAccessKeyId", "SignatureDoesNotMatch")
}

// ServiceNotOfferedCode is the code of an answer that says the service has
// no endpoint in the region: the name the AWS SDKs give the failure
// ("UnknownEndpoint: Inaccessible host: … This service may not be
// available in the … region"), which fakeaws sends for a service marked
// absent from a region, since it cannot fail a DNS lookup.
const ServiceNotOfferedCode = "UnknownEndpoint"

// IsServiceNotOffered reports a call to a service that does not exist in
// the region: its endpoint's name does not resolve (AWS publishes no DNS
// name for a service in a region where it is not offered), or the answer
// says so (ServiceNotOfferedCode).
func IsServiceNotOffered(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return true
	}
	return Is(err, ServiceNotOfferedCode)
}

// IsThrottled reports a throttling answer.
func IsThrottled(err error) bool {
	var paced interface{ Throttled() bool }
	if errors.As(err, &paced) && paced.Throttled() {
		return true
	}
	return Is(err, "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
		"SlowDown", "RequestThrottled", "RequestThrottledException")
}

// IsTimeout reports a call that ended without an answer in time: a
// connect, attempt or overall deadline.
func IsTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// deniedActionPattern finds the action in AWS's access-denied messages:
// "User: arn:... is not authorized to perform: cloudtrail:StartLogging on
// resource: ...".
var deniedActionPattern = regexp.MustCompile(`perform: ([A-Za-z0-9-]+:[A-Za-z0-9*]+)`)

// DeniedAction returns the action an access-denied error names, or "".
func DeniedAction(err error) string {
	if !IsAccessDenied(err) {
		return ""
	}
	m := deniedActionPattern.FindStringSubmatch(Message(err))
	if m == nil {
		return ""
	}
	return m[1]
}

// IsBlockedByPolicy reports an access denial that names a service control
// policy: the region or service is fenced off on purpose.
func IsBlockedByPolicy(err error) bool {
	return IsAccessDenied(err) && strings.Contains(strings.ToLower(Message(err)), "service control policy")
}

// Clean returns err's message as one short line: the caller's context
// followed by "Code: message" in place of the SDK's "operation error …
// https response error StatusCode: …, RequestID: …" preamble.
func Clean(err error) string {
	full := err.Error()
	var oe *smithy.OperationError
	var ae smithy.APIError
	if !errors.As(err, &oe) {
		return full
	}
	prefix, ok := strings.CutSuffix(full, oe.Error())
	switch {
	case !ok:
		return full
	case errors.As(err, &ae):
		return prefix + ae.ErrorCode() + ": " + ae.ErrorMessage()
	case IsTimeout(err):
		return prefix + oe.Service() + " " + oe.Operation() + ": no answer in time"
	}
	return full
}
