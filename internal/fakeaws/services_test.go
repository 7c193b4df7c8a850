package fakeaws_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/detective"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// A service marked absent from a region answers every call there as the
// SDKs report a missing endpoint; other regions and services are served.
func TestServiceAbsentFromRegion(t *testing.T) {
	env := fakeawstest.Start(t)
	if err := env.Server.SetServiceAbsent("guardduty", "eu-south-1", true); err != nil {
		t.Fatal(err)
	}
	_, err := env.Clients.GuardDuty("eu-south-1").ListDetectors(ctx, &guardduty.ListDetectorsInput{})
	if apiCode(t, err) != "UnknownEndpoint" || !awserror.IsServiceNotOffered(err) ||
		!strings.Contains(awserror.Message(err), "guardduty.eu-south-1.amazonaws.com") {
		t.Fatalf("absent service: %v", err)
	}
	if _, err := env.Clients.GuardDuty("eu-west-1").ListDetectors(ctx, &guardduty.ListDetectorsInput{}); err != nil {
		t.Fatalf("other region: %v", err)
	}
	// The admin endpoint marks Detective absent, then offered again.
	post := func(body string) int {
		resp, err := http.Post(env.URL+"/_fakeaws/services", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(`{"service":"detective","region":"eu-west-1","absent":true}`); code != http.StatusNoContent {
		t.Fatalf("admin: %d", code)
	}
	if _, err := env.Clients.Detective("eu-west-1").ListGraphs(ctx, &detective.ListGraphsInput{}); !awserror.IsServiceNotOffered(err) {
		t.Fatalf("detective marked absent: %v", err)
	}
	post(`{"service":"detective","region":"eu-west-1","absent":false}`)
	if _, err := env.Clients.Detective("eu-west-1").ListGraphs(ctx, &detective.ListGraphsInput{}); err != nil {
		t.Fatalf("detective offered again: %v", err)
	}
	if code := post(`{"service":"nope","region":"eu-west-1","absent":true}`); code != http.StatusBadRequest {
		t.Fatalf("unknown service: %d", code)
	}
}
