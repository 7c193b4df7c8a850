package fakeaws_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/harden-dev/harden/internal/fakeawstest"
)

// In a versioned bucket a delete keeps the object's versions behind a
// delete marker, so the bucket stays non-empty though ListObjectsV2 shows
// nothing; only deleting every version by id empties it.
func TestS3ObjectVersions(t *testing.T) {
	env := fakeawstest.Start(t)
	c := env.Clients.S3("us-east-1")
	b := aws.String("versioned-logs")
	must[*s3.CreateBucketOutput](t, "create")(c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}))
	put := func(key, body string) {
		must[*s3.PutObjectOutput](t, "put "+key)(c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String(key), Body: strings.NewReader(body)}))
	}
	put("plain", "x")
	must[*s3.DeleteObjectOutput](t, "delete unversioned")(c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: aws.String("plain")}))
	vs := must[*s3.ListObjectVersionsOutput](t, "list empty")(c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: b}))
	if len(vs.Versions) != 0 || len(vs.DeleteMarkers) != 0 {
		t.Fatalf("unversioned delete left %+v", vs)
	}

	must[*s3.PutBucketVersioningOutput](t, "enable")(c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b,
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}))
	put("AWSLogs/a", "one")
	put("AWSLogs/a", "two")
	must[*s3.DeleteObjectOutput](t, "delete")(c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: aws.String("AWSLogs/a")}))
	list := must[*s3.ListObjectsV2Output](t, "list")(c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b}))
	if aws.ToInt32(list.KeyCount) != 0 {
		t.Fatalf("deleted object still listed: %+v", list.Contents)
	}
	vs = must[*s3.ListObjectVersionsOutput](t, "list versions")(c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: b}))
	if len(vs.Versions) != 2 || len(vs.DeleteMarkers) != 1 || !aws.ToBool(vs.DeleteMarkers[0].IsLatest) || aws.ToBool(vs.Versions[0].IsLatest) ||
		aws.ToInt64(vs.Versions[0].Size) != 3 || aws.ToString(vs.Versions[0].VersionId) == aws.ToString(vs.Versions[1].VersionId) {
		t.Fatalf("versions = %+v, markers = %+v", vs.Versions, vs.DeleteMarkers)
	}
	_, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b})
	mustCode(t, "delete bucket with versions", err, "BucketNotEmpty")

	page := must[*s3.ListObjectVersionsOutput](t, "first page")(c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: b, MaxKeys: aws.Int32(1)}))
	if !aws.ToBool(page.IsTruncated) || len(page.DeleteMarkers) != 1 || aws.ToString(page.NextKeyMarker) != "AWSLogs/a" {
		t.Fatalf("first page = %+v", page)
	}
	page = must[*s3.ListObjectVersionsOutput](t, "second page")(c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: b, MaxKeys: aws.Int32(1),
		KeyMarker: page.NextKeyMarker, VersionIdMarker: page.NextVersionIdMarker}))
	if len(page.Versions) != 1 || aws.ToString(page.Versions[0].VersionId) != aws.ToString(vs.Versions[0].VersionId) {
		t.Fatalf("second page = %+v", page)
	}

	for _, v := range vs.Versions {
		must[*s3.DeleteObjectOutput](t, "delete version")(c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: v.Key, VersionId: v.VersionId}))
	}
	for _, m := range vs.DeleteMarkers {
		must[*s3.DeleteObjectOutput](t, "delete marker")(c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: m.Key, VersionId: m.VersionId}))
	}
	must[*s3.DeleteBucketOutput](t, "delete emptied bucket")(c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b}))
}

// S3 refuses a lifecycle configuration that mixes a base-level Prefix (V1)
// with a Filter (V2).
func TestS3LifecycleRefusesMixedPrefixAndFilter(t *testing.T) {
	env := fakeawstest.Start(t)
	c := env.Clients.S3("us-east-1")
	b := aws.String("mixed-rules")
	must[*s3.CreateBucketOutput](t, "create")(c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}))
	v1 := s3types.LifecycleRule{ID: aws.String("v1"), Status: s3types.ExpirationStatusEnabled, Prefix: aws.String("tmp/"),
		Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(1)}}
	v2 := s3types.LifecycleRule{ID: aws.String("v2"), Status: s3types.ExpirationStatusEnabled, Filter: &s3types.LifecycleRuleFilter{Prefix: aws.String("logs/")},
		Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(1)}}
	_, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: b,
		LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: []s3types.LifecycleRule{v1, v2}}})
	mustCode(t, "mixed V1 and V2 rules", err, "InvalidRequest")
	for _, r := range []s3types.LifecycleRule{v1, v2} {
		must[*s3.PutBucketLifecycleConfigurationOutput](t, "one kind of rule")(c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: b,
			LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: []s3types.LifecycleRule{r}}}))
	}
}
