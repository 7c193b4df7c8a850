package controls

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cstypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
)

// Journals of format 1 held the SDK's RecordingGroup and RecordingMode as
// encoding/json marshals them (Go field names): the harden-owned types
// decode them to the same recorder, and put the same one back.
func TestConfigRecorderSpecDecodesFormat1(t *testing.T) {
	type format1Spec struct {
		Name           string                  `json:"name"`
		RoleARN        string                  `json:"role_arn"`
		RecordingGroup *cstypes.RecordingGroup `json:"recording_group,omitempty"`
		RecordingMode  *cstypes.RecordingMode  `json:"recording_mode,omitempty"`
	}
	type format1Prior struct {
		Name     string       `json:"name"`
		Recorder *format1Spec `json:"recorder"`
	}
	group := &cstypes.RecordingGroup{
		AllSupported:               false,
		IncludeGlobalResourceTypes: false,
		ExclusionByResourceTypes:   &cstypes.ExclusionByResourceTypes{ResourceTypes: []cstypes.ResourceType{"AWS::EC2::Instance", "AWS::S3::Bucket"}},
		RecordingStrategy:          &cstypes.RecordingStrategy{UseOnly: cstypes.RecordingStrategyTypeExclusionByResourceTypes},
	}
	mode := &cstypes.RecordingMode{RecordingFrequency: cstypes.RecordingFrequencyDaily,
		RecordingModeOverrides: []cstypes.RecordingModeOverride{{Description: aws.String("hourly VPCs"),
			RecordingFrequency: cstypes.RecordingFrequencyContinuous, ResourceTypes: []cstypes.ResourceType{"AWS::EC2::VPC"}}}}
	old, err := json.Marshal(format1Prior{Name: "mine", Recorder: &format1Spec{Name: "mine", RoleARN: "arn:aws:iam::1:role/r",
		RecordingGroup: group, RecordingMode: mode}})
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"name":"mine","recorder":{"name":"mine","role_arn":"arn:aws:iam::1:role/r","recording_group":{"AllSupported":false,` +
		`"ExclusionByResourceTypes":{"ResourceTypes":["AWS::EC2::Instance","AWS::S3::Bucket"]},"IncludeGlobalResourceTypes":false,` +
		`"RecordingStrategy":{"UseOnly":"EXCLUSION_BY_RESOURCE_TYPES"},"ResourceTypes":null},"recording_mode":{"RecordingFrequency":"DAILY",` +
		`"RecordingModeOverrides":[{"RecordingFrequency":"CONTINUOUS","ResourceTypes":["AWS::EC2::VPC"],"Description":"hourly VPCs"}]}}}`
	if string(old) != want {
		t.Fatalf("the SDK marshals differently than format-1 journals hold:\n got  %s\n want %s", old, want)
	}
	var p configRecorderPrior
	if err := json.Unmarshal(old, &p); err != nil {
		t.Fatal(err)
	}
	decoded := p.Recorder
	if decoded == nil || decoded.Name != "mine" || decoded.RoleARN != "arn:aws:iam::1:role/r" {
		t.Fatalf("decoded %+v", decoded)
	}
	if !reflect.DeepEqual(decoded.RecordingGroup, groupFromSDK(group)) || !reflect.DeepEqual(decoded.RecordingMode, modeFromSDK(mode)) {
		t.Fatalf("decoded group %s mode %s, want %s %s", mustJSON(decoded.RecordingGroup), mustJSON(decoded.RecordingMode),
			mustJSON(groupFromSDK(group)), mustJSON(modeFromSDK(mode)))
	}
	in := decoded.input()
	if !reflect.DeepEqual(in.RecordingGroup, group) || !reflect.DeepEqual(in.RecordingMode, mode) {
		t.Fatalf("put back group %+v mode %+v, want %+v %+v", in.RecordingGroup, in.RecordingMode, group, mode)
	}
}

func TestSetFields(t *testing.T) {
	prior := map[string]string{"role": "mine", "recording mode": "DAILY", "global resource types": "true"}
	after := map[string]string{"role": "slr", "recording mode": "DAILY", "global resource types": "false"}
	now := map[string]string{"role": "slr", "recording mode": "CONTINUOUS", "global resource types": "true"}
	got := setFields([]string{"role", "recorded resource types", "global resource types", "recording mode"}, prior, after, now)
	want := []stepField{{"role", "mine", "slr", "slr"}, {"global resource types", "true", "false", "true"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v (the recording mode the step did not set is not compared)", got, want)
	}
	if state, drift := compareStepFields(got); state != fieldsDrifted || drift != "global resource types: harden set false, now true" {
		t.Fatalf("state %v %q", state, drift)
	}
}
