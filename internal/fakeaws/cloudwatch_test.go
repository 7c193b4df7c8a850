package fakeaws_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"

	"github.com/harden-dev/harden/internal/fakeawstest"
)

// TestCloudWatchSpeaksCBOR puts, reads, tags and deletes an alarm through
// the SDK's RPC v2 CBOR client, and reads an error.
func TestCloudWatchSpeaksCBOR(t *testing.T) {
	ctx := context.Background()
	env := fakeawstest.Start(t)
	cw := env.Clients.CloudWatch("eu-west-1")
	_, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("a1"), MetricName: aws.String("RootUsage"), Namespace: aws.String("harden/CIS"),
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(300), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold, TreatMissingData: aws.String("notBreaching"),
		AlarmActions: []string{"arn:aws:sns:eu-west-1:123456789012:t"},
		Tags:         []cwtypes.Tag{{Key: aws.String("managed-by"), Value: aws.String("harden")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"a1"}})
	if err != nil || len(out.MetricAlarms) != 1 {
		t.Fatalf("describe: %+v, %v", out, err)
	}
	a := out.MetricAlarms[0]
	if aws.ToFloat64(a.Threshold) != 1 || aws.ToInt32(a.Period) != 300 || a.Statistic != cwtypes.StatisticSum ||
		a.AlarmActions[0] != "arn:aws:sns:eu-west-1:123456789012:t" || aws.ToString(a.TreatMissingData) != "notBreaching" ||
		aws.ToString(a.AlarmArn) != "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:a1" {
		t.Fatalf("alarm = %+v", a)
	}
	tags, err := cw.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: a.AlarmArn})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "harden" {
		t.Fatalf("tags: %+v, %v", tags, err)
	}
	if _, err := cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"a1"}}); err != nil {
		t.Fatal(err)
	}
	_, err = cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"a1"}})
	var nf *cwtypes.ResourceNotFound
	var ae smithy.APIError
	if !errors.As(err, &nf) && !(errors.As(err, &ae) && ae.ErrorCode() == "ResourceNotFound") {
		t.Fatalf("delete of a missing alarm: %v", err)
	}
}
