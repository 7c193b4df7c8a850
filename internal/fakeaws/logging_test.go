package fakeaws_test

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

const acct = fakeaws.DefaultAccountID

// cloudTrailBucketPolicy is the bucket policy the CloudTrail user guide
// gives for a trail, with a deny of plain-HTTP requests as baselines add.
func cloudTrailBucketPolicy(bucket, sourceArn string) string {
	return fmt.Sprintf(`{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "AWSCloudTrailAclCheck20150319", "Effect": "Allow",
     "Principal": {"Service": "cloudtrail.amazonaws.com"},
     "Action": "s3:GetBucketAcl", "Resource": "arn:aws:s3:::%[1]s",
     "Condition": {"ArnLike": {"aws:SourceArn": "%[3]s"}}},
    {"Sid": "AWSCloudTrailWrite20150319", "Effect": "Allow",
     "Principal": {"Service": "cloudtrail.amazonaws.com"},
     "Action": "s3:PutObject", "Resource": "arn:aws:s3:::%[1]s/AWSLogs/%[2]s/*",
     "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"},
                   "ArnLike": {"aws:SourceArn": "%[3]s"}}},
    {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
     "Resource": ["arn:aws:s3:::%[1]s", "arn:aws:s3:::%[1]s/*"],
     "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
  ]
}`, bucket, acct, sourceArn)
}

// cloudTrailKeyPolicy is the key policy the CloudTrail user guide gives.
func cloudTrailKeyPolicy(sourceArn string) string {
	return fmt.Sprintf(`{
  "Version": "2012-10-17",
  "Id": "Key policy created by CloudTrail",
  "Statement": [
    {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::%[1]s:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "Allow CloudTrail to encrypt logs", "Effect": "Allow",
     "Principal": {"Service": "cloudtrail.amazonaws.com"},
     "Action": "kms:GenerateDataKey*", "Resource": "*",
     "Condition": {"StringEquals": {"aws:SourceArn": "%[2]s"},
                   "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:%[1]s:trail/*"}}},
    {"Sid": "Allow CloudTrail to describe key", "Effect": "Allow",
     "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:DescribeKey", "Resource": "*"}
  ]
}`, acct, sourceArn)
}

// configBucketPolicy is the bucket policy the AWS Config developer guide
// gives for delivery with the service-linked role.
func configBucketPolicy(bucket string) string {
	return fmt.Sprintf(`{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "AWSConfigBucketPermissionsCheck", "Effect": "Allow",
     "Principal": {"Service": "config.amazonaws.com"}, "Action": "s3:GetBucketAcl",
     "Resource": "arn:aws:s3:::%[1]s", "Condition": {"StringEquals": {"AWS:SourceAccount": "%[2]s"}}},
    {"Sid": "AWSConfigBucketExistenceCheck", "Effect": "Allow",
     "Principal": {"Service": "config.amazonaws.com"}, "Action": "s3:ListBucket",
     "Resource": "arn:aws:s3:::%[1]s", "Condition": {"StringEquals": {"AWS:SourceAccount": "%[2]s"}}},
    {"Sid": "AWSConfigBucketDelivery", "Effect": "Allow",
     "Principal": {"Service": "config.amazonaws.com"}, "Action": "s3:PutObject",
     "Resource": "arn:aws:s3:::%[1]s/AWSLogs/%[2]s/Config/*",
     "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "AWS:SourceAccount": "%[2]s"}}}
  ]
}`, bucket, acct)
}

func trailARN(region, name string) string {
	return fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", region, acct, name)
}

func httpStatus(t *testing.T, err error) int {
	t.Helper()
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("want an HTTP response error, got %v", err)
	}
	return re.HTTPStatusCode()
}

func mustCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: want %s, got success", what, code)
	}
	if got := apiCode(t, err); got != code {
		t.Fatalf("%s: want %s, got %s (%v)", what, code, got, err)
	}
}

func must[T any](t *testing.T, what string) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

func createBucket(t *testing.T, env *fakeawstest.Env, region, name string) {
	t.Helper()
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
	}
	if _, err := env.Clients.S3(region).CreateBucket(ctx, in); err != nil {
		t.Fatalf("create bucket %s in %s: %v", name, region, err)
	}
}

func putPolicy(t *testing.T, env *fakeawstest.Env, region, bucket, policy string) {
	t.Helper()
	if _, err := env.Clients.S3(region).PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy)}); err != nil {
		t.Fatalf("put bucket policy on %s: %v", bucket, err)
	}
}

func TestS3BucketDefaultsAndErrors(t *testing.T) {
	env := fakeawstest.Start(t)
	c := env.Clients.S3("us-east-1")
	b := aws.String("harden-logs-123456789012")
	createBucket(t, env, "us-east-1", *b)

	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: b}); err != nil {
		t.Fatalf("head: %v", err)
	}
	loc := must[*s3.GetBucketLocationOutput](t, "location")(c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: b}))
	if loc.LocationConstraint != "" {
		t.Fatalf("us-east-1 bucket location = %q, want empty", loc.LocationConstraint)
	}
	enc := must[*s3.GetBucketEncryptionOutput](t, "encryption")(c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b}))
	if r := enc.ServerSideEncryptionConfiguration.Rules; len(r) != 1 || r[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != s3types.ServerSideEncryptionAes256 {
		t.Fatalf("default encryption = %+v", r)
	}
	pab := must[*s3.GetPublicAccessBlockOutput](t, "pab")(c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b}))
	if p := pab.PublicAccessBlockConfiguration; !aws.ToBool(p.BlockPublicAcls) || !aws.ToBool(p.IgnorePublicAcls) || !aws.ToBool(p.BlockPublicPolicy) || !aws.ToBool(p.RestrictPublicBuckets) {
		t.Fatalf("new bucket public access block = %+v", p)
	}
	ver := must[*s3.GetBucketVersioningOutput](t, "versioning")(c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b}))
	if ver.Status != "" || ver.MFADelete != "" {
		t.Fatalf("new bucket versioning = %+v", ver)
	}
	_, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b})
	mustCode(t, "policy of new bucket", err, "NoSuchBucketPolicy")
	if httpStatus(t, err) != 404 {
		t.Fatalf("NoSuchBucketPolicy status %d", httpStatus(t, err))
	}
	_, err = c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: b})
	mustCode(t, "lifecycle of new bucket", err, "NoSuchLifecycleConfiguration")
	_, err = c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b})
	mustCode(t, "tags of new bucket", err, "NoSuchTagSet")

	// Re-creating an owned bucket: 200 in us-east-1 (legacy), 409 elsewhere.
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatalf("re-create in us-east-1: %v", err)
	}
	createBucket(t, env, "eu-west-1", "harden-eu-logs")
	_, err = env.Clients.S3("eu-west-1").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("harden-eu-logs"),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}})
	var owned *s3types.BucketAlreadyOwnedByYou
	if !errors.As(err, &owned) || httpStatus(t, err) != 409 {
		t.Fatalf("re-create in eu-west-1: want BucketAlreadyOwnedByYou 409, got %v", err)
	}
	euLoc := must[*s3.GetBucketLocationOutput](t, "eu location")(c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("harden-eu-logs")}))
	if euLoc.LocationConstraint != "eu-west-1" {
		t.Fatalf("eu bucket location = %q", euLoc.LocationConstraint)
	}
	_, err = env.Clients.S3("eu-west-1").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("harden-no-constraint")})
	mustCode(t, "no location constraint outside us-east-1", err, "IllegalLocationConstraintException")
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("harden-explicit-use1"),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "us-east-1"}})
	mustCode(t, "explicit us-east-1 constraint", err, "InvalidLocationConstraint")
	for _, bad := range []string{"ab", "Upper-Case", "under_score", "192.168.5.4", "double..dot", "-leading", "xn--punycode", "ends-s3alias"} {
		_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bad)})
		mustCode(t, "bucket name "+bad, err, "InvalidBucketName")
	}

	// A bucket is addressed in its own region.
	_, err = env.Clients.S3("eu-west-1").GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b})
	mustCode(t, "wrong region", err, "PermanentRedirect")
	if httpStatus(t, err) != 301 {
		t.Fatalf("wrong region status = %d", httpStatus(t, err))
	}

	// Missing buckets.
	missing := aws.String("harden-missing-bucket")
	_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: missing})
	var nf *s3types.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("head missing: want NotFound, got %v", err)
	}
	_, err = c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: missing, Policy: aws.String("{}")})
	mustCode(t, "put policy on missing bucket", err, "NoSuchBucket")
	_, err = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: missing,
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
	mustCode(t, "versioning on missing bucket", err, "NoSuchBucket")
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: missing})
	mustCode(t, "delete missing bucket", err, "NoSuchBucket")

	// Bucket policies.
	_, err = c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String("not json")})
	mustCode(t, "bad JSON policy", err, "MalformedPolicy")
	_, err = c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other-bucket/*"}]}`)})
	mustCode(t, "policy for another bucket", err, "MalformedPolicy")
	public := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + *b + `/*"}]}`
	_, err = c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(public)})
	mustCode(t, "public policy with BlockPublicPolicy", err, "AccessDenied")
	policy := cloudTrailBucketPolicy(*b, trailARN("us-east-1", "harden"))
	putPolicy(t, env, "us-east-1", *b, policy)
	got := must[*s3.GetBucketPolicyOutput](t, "get policy")(c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b}))
	if aws.ToString(got.Policy) != policy {
		t.Fatalf("policy round trip:\n%s", aws.ToString(got.Policy))
	}
	must[*s3.DeleteBucketPolicyOutput](t, "delete policy")(c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: b}))
	_, err = c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b})
	mustCode(t, "policy after delete", err, "NoSuchBucketPolicy")

	// Encryption with a KMS key, then back to the SSE-S3 default.
	must[*s3.PutBucketEncryptionOutput](t, "put encryption")(c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: b,
		ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String("alias/harden")},
			BucketKeyEnabled:                   aws.Bool(true),
		}}}}))
	enc = must[*s3.GetBucketEncryptionOutput](t, "encryption")(c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b}))
	if r := enc.ServerSideEncryptionConfiguration.Rules[0]; r.ApplyServerSideEncryptionByDefault.SSEAlgorithm != s3types.ServerSideEncryptionAwsKms ||
		aws.ToString(r.ApplyServerSideEncryptionByDefault.KMSMasterKeyID) != "alias/harden" || !aws.ToBool(r.BucketKeyEnabled) {
		t.Fatalf("kms encryption = %+v", r)
	}
	must[*s3.DeleteBucketEncryptionOutput](t, "delete encryption")(c.DeleteBucketEncryption(ctx, &s3.DeleteBucketEncryptionInput{Bucket: b}))
	enc = must[*s3.GetBucketEncryptionOutput](t, "encryption")(c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b}))
	if enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != s3types.ServerSideEncryptionAes256 {
		t.Fatal("DeleteBucketEncryption did not reset to SSE-S3")
	}

	// Versioning, lifecycle, tags, public access block.
	must[*s3.PutBucketVersioningOutput](t, "versioning")(c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b,
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}))
	ver = must[*s3.GetBucketVersioningOutput](t, "versioning")(c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b}))
	if ver.Status != s3types.BucketVersioningStatusEnabled {
		t.Fatalf("versioning = %q", ver.Status)
	}
	must[*s3.PutBucketLifecycleConfigurationOutput](t, "lifecycle")(c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: b,
		LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: []s3types.LifecycleRule{{
			ID: aws.String("expire-logs"), Status: s3types.ExpirationStatusEnabled,
			Filter:      &s3types.LifecycleRuleFilter{Prefix: aws.String("AWSLogs/")},
			Transitions: []s3types.Transition{{Days: aws.Int32(90), StorageClass: s3types.TransitionStorageClassGlacier}},
			Expiration:  &s3types.LifecycleExpiration{Days: aws.Int32(365)},
		}}}}))
	lc := must[*s3.GetBucketLifecycleConfigurationOutput](t, "lifecycle")(c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: b}))
	if len(lc.Rules) != 1 || aws.ToString(lc.Rules[0].ID) != "expire-logs" || aws.ToInt32(lc.Rules[0].Expiration.Days) != 365 ||
		len(lc.Rules[0].Transitions) != 1 || aws.ToString(lc.Rules[0].Filter.Prefix) != "AWSLogs/" {
		t.Fatalf("lifecycle = %+v", lc.Rules)
	}
	_, err = c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: b,
		LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: []s3types.LifecycleRule{{Status: s3types.ExpirationStatusEnabled,
			Filter: &s3types.LifecycleRuleFilter{Prefix: aws.String("")}}}}})
	mustCode(t, "lifecycle rule without action", err, "InvalidRequest")
	must[*s3.DeleteBucketLifecycleOutput](t, "delete lifecycle")(c.DeleteBucketLifecycle(ctx, &s3.DeleteBucketLifecycleInput{Bucket: b}))
	_, err = c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: b})
	mustCode(t, "lifecycle after delete", err, "NoSuchLifecycleConfiguration")

	must[*s3.PutBucketTaggingOutput](t, "tags")(c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: b,
		Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("managed-by"), Value: aws.String("harden")}}}}))
	tags := must[*s3.GetBucketTaggingOutput](t, "tags")(c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b}))
	if len(tags.TagSet) != 1 || aws.ToString(tags.TagSet[0].Value) != "harden" {
		t.Fatalf("tags = %+v", tags.TagSet)
	}
	_, err = c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: b,
		Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("aws:reserved"), Value: aws.String("x")}}}})
	mustCode(t, "aws: tag", err, "InvalidTag")

	must[*s3.DeletePublicAccessBlockOutput](t, "delete pab")(c.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: b}))
	_, err = c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
	mustCode(t, "pab after delete", err, "NoSuchPublicAccessBlockConfiguration")
	must[*s3.PutBucketPolicyOutput](t, "public policy without BPA")(c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(public)}))

	// Objects keep a bucket from being deleted.
	must[*s3.PutObjectOutput](t, "put object")(c.PutObject(ctx, &s3.PutObjectInput{Bucket: b,
		Key: aws.String("AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/01/log.json.gz"), Body: strings.NewReader("{}")}))
	list := must[*s3.ListObjectsV2Output](t, "list")(c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b, Prefix: aws.String("AWSLogs/")}))
	if aws.ToInt32(list.KeyCount) != 1 || len(list.Contents) != 1 || aws.ToInt64(list.Contents[0].Size) != 2 {
		t.Fatalf("list = %+v", list)
	}
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b})
	mustCode(t, "delete non-empty bucket", err, "BucketNotEmpty")
	if httpStatus(t, err) != 409 {
		t.Fatalf("BucketNotEmpty status %d", httpStatus(t, err))
	}
	must[*s3.DeleteObjectOutput](t, "delete object")(c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: list.Contents[0].Key}))
	// The bucket is versioned: the delete left the version behind a
	// delete marker, and S3 deletes the bucket only once both are gone.
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b})
	mustCode(t, "delete bucket holding versions", err, "BucketNotEmpty")
	vs := must[*s3.ListObjectVersionsOutput](t, "list versions")(c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: b}))
	if len(vs.Versions) != 1 || len(vs.DeleteMarkers) != 1 {
		t.Fatalf("versions = %+v, markers = %+v", vs.Versions, vs.DeleteMarkers)
	}
	must[*s3.DeleteObjectOutput](t, "delete version")(c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: vs.Versions[0].Key, VersionId: vs.Versions[0].VersionId}))
	must[*s3.DeleteObjectOutput](t, "delete marker")(c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: vs.DeleteMarkers[0].Key, VersionId: vs.DeleteMarkers[0].VersionId}))
	must[*s3.DeleteBucketOutput](t, "delete bucket")(c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b}))
	buckets := must[*s3.ListBucketsOutput](t, "list buckets")(c.ListBuckets(ctx, &s3.ListBucketsInput{}))
	if len(buckets.Buckets) != 1 || aws.ToString(buckets.Buckets[0].Name) != "harden-eu-logs" || aws.ToString(buckets.Buckets[0].BucketRegion) != "eu-west-1" {
		t.Fatalf("buckets = %+v", buckets.Buckets)
	}
}

func TestKMSKeys(t *testing.T) {
	env := fakeawstest.Start(t)
	c := env.Clients.KMS("us-east-1")
	created := must[*kms.CreateKeyOutput](t, "create key")(c.CreateKey(ctx, &kms.CreateKeyInput{
		Description: aws.String("harden log archive"),
		Tags:        []kmstypes.Tag{{TagKey: aws.String("managed-by"), TagValue: aws.String("harden")}},
	}))
	md := created.KeyMetadata
	if md.KeySpec != kmstypes.KeySpecSymmetricDefault || md.KeyUsage != kmstypes.KeyUsageTypeEncryptDecrypt ||
		md.KeyState != kmstypes.KeyStateEnabled || !md.Enabled || md.KeyManager != kmstypes.KeyManagerTypeCustomer ||
		aws.ToString(md.AWSAccountId) != acct || md.CreationDate == nil ||
		!strings.HasPrefix(aws.ToString(md.Arn), "arn:aws:kms:us-east-1:"+acct+":key/") {
		t.Fatalf("key metadata = %+v", md)
	}
	id, arn := md.KeyId, md.Arn

	pol := must[*kms.GetKeyPolicyOutput](t, "policy")(c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: id}))
	if !strings.Contains(aws.ToString(pol.Policy), `"arn:aws:iam::`+acct+`:root"`) || !strings.Contains(aws.ToString(pol.Policy), `"kms:*"`) || aws.ToString(pol.PolicyName) != "default" {
		t.Fatalf("default key policy = %s", aws.ToString(pol.Policy))
	}

	rot := must[*kms.GetKeyRotationStatusOutput](t, "rotation")(c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: id}))
	if rot.KeyRotationEnabled {
		t.Fatal("rotation on for a new key")
	}
	must[*kms.EnableKeyRotationOutput](t, "enable rotation")(c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: id}))
	rot = must[*kms.GetKeyRotationStatusOutput](t, "rotation")(c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: arn}))
	if !rot.KeyRotationEnabled || aws.ToInt32(rot.RotationPeriodInDays) != 365 || rot.NextRotationDate == nil {
		t.Fatalf("rotation after enable = %+v", rot)
	}

	must[*kms.CreateAliasOutput](t, "alias")(c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/harden"), TargetKeyId: id}))
	_, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/harden"), TargetKeyId: id})
	var exists *kmstypes.AlreadyExistsException
	if !errors.As(err, &exists) {
		t.Fatalf("duplicate alias: %v", err)
	}
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/aws/harden"), TargetKeyId: id})
	var badName *kmstypes.InvalidAliasNameException
	if !errors.As(err, &badName) {
		t.Fatalf("alias/aws/ prefix: %v", err)
	}
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("harden"), TargetKeyId: id})
	mustCode(t, "alias without prefix", err, "ValidationException")

	for _, ref := range []string{*id, *arn, "alias/harden", "arn:aws:kms:us-east-1:" + acct + ":alias/harden"} {
		d := must[*kms.DescribeKeyOutput](t, "describe "+ref)(c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(ref)}))
		if aws.ToString(d.KeyMetadata.KeyId) != *id {
			t.Fatalf("describe %s = %s", ref, aws.ToString(d.KeyMetadata.KeyId))
		}
	}
	var nf *kmstypes.NotFoundException
	for _, ref := range []string{"alias/nope", "11111111-2222-3333-4444-555555555555", strings.Replace(*arn, "us-east-1", "eu-west-1", 1)} {
		_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(ref)})
		if !errors.As(err, &nf) || httpStatus(t, err) != 400 {
			t.Fatalf("describe %s: want NotFoundException 400, got %v", ref, err)
		}
	}
	if _, err := env.Clients.KMS("eu-west-1").DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/harden")}); !errors.As(err, &nf) {
		t.Fatalf("aliases are per region: %v", err)
	}

	other := must[*kms.CreateKeyOutput](t, "second key")(c.CreateKey(ctx, &kms.CreateKeyInput{}))
	must[*kms.CreateAliasOutput](t, "alias 2")(c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/other"), TargetKeyId: other.KeyMetadata.KeyId}))
	aliases := must[*kms.ListAliasesOutput](t, "aliases")(c.ListAliases(ctx, &kms.ListAliasesInput{KeyId: id}))
	if len(aliases.Aliases) != 1 || aws.ToString(aliases.Aliases[0].AliasName) != "alias/harden" || aws.ToString(aliases.Aliases[0].TargetKeyId) != *id {
		t.Fatalf("aliases of key = %+v", aliases.Aliases)
	}
	all := must[*kms.ListAliasesOutput](t, "aliases")(c.ListAliases(ctx, &kms.ListAliasesInput{}))
	if len(all.Aliases) != 2 {
		t.Fatalf("all aliases = %+v", all.Aliases)
	}

	_, err = c.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: id, Policy: aws.String("{not json")})
	var malformed *kmstypes.MalformedPolicyDocumentException
	if !errors.As(err, &malformed) {
		t.Fatalf("bad JSON key policy: %v", err)
	}
	lockout := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"kms:GenerateDataKey*","Resource":"*"}]}`
	_, err = c.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: id, Policy: aws.String(lockout)})
	if !errors.As(err, &malformed) {
		t.Fatalf("policy that locks the account out: %v", err)
	}
	must[*kms.PutKeyPolicyOutput](t, "bypass lockout check")(c.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: other.KeyMetadata.KeyId, Policy: aws.String(lockout), BypassPolicyLockoutSafetyCheck: true}))
	good := cloudTrailKeyPolicy(trailARN("us-east-1", "harden"))
	must[*kms.PutKeyPolicyOutput](t, "put key policy")(c.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: id, Policy: aws.String(good)}))
	pol = must[*kms.GetKeyPolicyOutput](t, "policy")(c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: id, PolicyName: aws.String("default")}))
	if aws.ToString(pol.Policy) != good {
		t.Fatal("key policy did not round-trip")
	}

	must[*kms.TagResourceOutput](t, "tag")(c.TagResource(ctx, &kms.TagResourceInput{KeyId: id, Tags: []kmstypes.Tag{{TagKey: aws.String("env"), TagValue: aws.String("prod")}}}))
	tags := must[*kms.ListResourceTagsOutput](t, "tags")(c.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: id}))
	if len(tags.Tags) != 2 || aws.ToString(tags.Tags[0].TagKey) != "env" || aws.ToString(tags.Tags[1].TagValue) != "harden" {
		t.Fatalf("tags = %+v", tags.Tags)
	}

	_, err = c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: id, PendingWindowInDays: aws.Int32(6)})
	mustCode(t, "6-day window", err, "ValidationException")
	del := must[*kms.ScheduleKeyDeletionOutput](t, "schedule deletion")(c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: id, PendingWindowInDays: aws.Int32(7)}))
	if del.KeyState != kmstypes.KeyStatePendingDeletion || aws.ToInt32(del.PendingWindowInDays) != 7 || del.DeletionDate == nil {
		t.Fatalf("schedule deletion = %+v", del)
	}
	d := must[*kms.DescribeKeyOutput](t, "describe")(c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: id}))
	if d.KeyMetadata.KeyState != kmstypes.KeyStatePendingDeletion || d.KeyMetadata.Enabled {
		t.Fatalf("pending deletion metadata = %+v", d.KeyMetadata)
	}
	_, err = c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: id})
	var invalidState *kmstypes.KMSInvalidStateException
	if !errors.As(err, &invalidState) {
		t.Fatalf("rotation on a key pending deletion: %v", err)
	}
	must[*kms.CancelKeyDeletionOutput](t, "cancel deletion")(c.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: id}))
	d = must[*kms.DescribeKeyOutput](t, "describe")(c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: id}))
	if d.KeyMetadata.KeyState != kmstypes.KeyStateDisabled {
		t.Fatalf("after cancel: %s", d.KeyMetadata.KeyState)
	}
	must[*kms.DeleteAliasOutput](t, "delete alias")(c.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/harden")}))
	if _, err := c.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/harden")}); !errors.As(err, &nf) {
		t.Fatalf("delete alias twice: %v", err)
	}
}

// setupTrailPrereqs makes the log bucket (with the CloudTrail policy for
// sourceArn) and a key whose policy lets CloudTrail use it.
func setupTrailPrereqs(t *testing.T, env *fakeawstest.Env, region, bucket, sourceArn string) string {
	t.Helper()
	createBucket(t, env, region, bucket)
	putPolicy(t, env, region, bucket, cloudTrailBucketPolicy(bucket, sourceArn))
	key := must[*kms.CreateKeyOutput](t, "create key")(env.Clients.KMS(region).CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(cloudTrailKeyPolicy(sourceArn))}))
	return aws.ToString(key.KeyMetadata.Arn)
}

func TestCloudTrailHappyPath(t *testing.T) {
	env := fakeawstest.Start(t)
	home := "us-east-1"
	bucket := "harden-cloudtrail-" + acct
	arn := trailARN(home, "harden")
	keyARN := setupTrailPrereqs(t, env, home, bucket, arn)
	must[*kms.CreateAliasOutput](t, "alias")(env.Clients.KMS(home).CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/harden-cloudtrail"), TargetKeyId: aws.String(keyARN)}))
	ct := env.Clients.CloudTrail(home)

	env.Server.ResetLog()
	created := must[*cloudtrail.CreateTrailOutput](t, "create trail")(ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{
		Name: aws.String("harden"), S3BucketName: aws.String(bucket), IsMultiRegionTrail: aws.Bool(true),
		EnableLogFileValidation: aws.Bool(true), KmsKeyId: aws.String("alias/harden-cloudtrail"),
		TagsList: []cttypes.Tag{{Key: aws.String("managed-by"), Value: aws.String("harden")}},
	}))
	if aws.ToString(created.TrailARN) != arn || !aws.ToBool(created.IsMultiRegionTrail) || !aws.ToBool(created.IncludeGlobalServiceEvents) ||
		!aws.ToBool(created.LogFileValidationEnabled) || aws.ToString(created.KmsKeyId) != keyARN || aws.ToBool(created.IsOrganizationTrail) {
		t.Fatalf("created = %+v", created)
	}
	status := must[*cloudtrail.GetTrailStatusOutput](t, "status")(ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("harden")}))
	if aws.ToBool(status.IsLogging) {
		t.Fatal("a new trail is logging before StartLogging")
	}
	sel := must[*cloudtrail.GetEventSelectorsOutput](t, "selectors")(ct.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String("harden")}))
	if len(sel.EventSelectors) != 1 || sel.EventSelectors[0].ReadWriteType != cttypes.ReadWriteTypeAll ||
		!aws.ToBool(sel.EventSelectors[0].IncludeManagementEvents) || len(sel.AdvancedEventSelectors) != 0 || aws.ToString(sel.TrailARN) != arn {
		t.Fatalf("default selectors = %+v", sel)
	}
	must[*cloudtrail.StartLoggingOutput](t, "start")(ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(arn)}))
	status = must[*cloudtrail.GetTrailStatusOutput](t, "status")(ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("harden")}))
	if !aws.ToBool(status.IsLogging) || status.StartLoggingTime == nil || aws.ToString(status.TimeLoggingStarted) == "" {
		t.Fatalf("status after start = %+v", status)
	}
	must[*cloudtrail.PutEventSelectorsOutput](t, "put selectors")(ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("harden"),
		AdvancedEventSelectors: []cttypes.AdvancedEventSelector{{Name: aws.String("Management events"),
			FieldSelectors: []cttypes.AdvancedFieldSelector{{Field: aws.String("eventCategory"), Equals: []string{"Management"}}}}}}))
	sel = must[*cloudtrail.GetEventSelectorsOutput](t, "selectors")(ct.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String("harden")}))
	if len(sel.AdvancedEventSelectors) != 1 || len(sel.EventSelectors) != 0 {
		t.Fatalf("selectors after put = %+v", sel)
	}
	tags := must[*cloudtrail.ListTagsOutput](t, "tags")(ct.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{arn}}))
	if len(tags.ResourceTagList) != 1 || len(tags.ResourceTagList[0].TagsList) != 1 {
		t.Fatalf("tags = %+v", tags.ResourceTagList)
	}
	writes := env.Server.Writes()
	if len(writes) != 3 || writes[0].Action != "CreateTrail" || writes[1].Action != "StartLogging" || writes[2].Action != "PutEventSelectors" {
		t.Fatalf("writes = %+v", writes)
	}

	// Seen from another region: a shadow trail with its home region.
	for _, region := range []string{"eu-west-1", "ap-southeast-2", "eu-south-1"} {
		other := env.Clients.CloudTrail(region)
		d := must[*cloudtrail.DescribeTrailsOutput](t, "describe")(other.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{}))
		if len(d.TrailList) != 1 || aws.ToString(d.TrailList[0].HomeRegion) != home || aws.ToString(d.TrailList[0].TrailARN) != arn ||
			!aws.ToBool(d.TrailList[0].HasCustomEventSelectors) {
			t.Fatalf("%s: trails = %+v", region, d.TrailList)
		}
		noShadow := must[*cloudtrail.DescribeTrailsOutput](t, "describe")(other.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(false)}))
		if len(noShadow.TrailList) != 0 {
			t.Fatalf("%s without shadows: %+v", region, noShadow.TrailList)
		}
		// Tags are read in the home region only.
		_, err := other.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{arn}})
		var badARN *cttypes.CloudTrailARNInvalidException
		if !errors.As(err, &badARN) {
			t.Fatalf("%s: list tags of a shadow: %v", region, err)
		}
		// A shadow trail's status is read by ARN; its name is unknown here.
		st := must[*cloudtrail.GetTrailStatusOutput](t, "shadow status")(other.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)}))
		if !aws.ToBool(st.IsLogging) {
			t.Fatalf("%s: shadow not logging", region)
		}
		_, err = other.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("harden")})
		var tnf *cttypes.TrailNotFoundException
		if !errors.As(err, &tnf) {
			t.Fatalf("%s: shadow by name: %v", region, err)
		}
	}
	// A read-only pass writes nothing.
	env.Server.ResetLog()
	ct.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
	ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
	ct.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(arn)})
	if w := env.Server.Writes(); len(w) != 0 || len(env.Server.Requests()) != 3 {
		t.Fatalf("reads logged as writes: %+v", env.Server.Requests())
	}
}

func TestCloudTrailFailures(t *testing.T) {
	env := fakeawstest.Start(t)
	home := "us-east-1"
	ct := env.Clients.CloudTrail(home)
	bucket := "harden-trail-failures"
	create := func(name string, mod func(*cloudtrail.CreateTrailInput)) error {
		in := &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String(bucket), IsMultiRegionTrail: aws.Bool(true)}
		if mod != nil {
			mod(in)
		}
		_, err := ct.CreateTrail(ctx, in)
		return err
	}

	var noBucket *cttypes.S3BucketDoesNotExistException
	if err := create("harden", nil); !errors.As(err, &noBucket) {
		t.Fatalf("missing bucket: %v", err)
	}
	createBucket(t, env, home, bucket)
	var badPolicy *cttypes.InsufficientS3BucketPolicyException
	if err := create("harden", nil); !errors.As(err, &badPolicy) {
		t.Fatalf("no bucket policy: %v", err)
	}
	// A policy for another trail's ARN does not do.
	putPolicy(t, env, home, bucket, cloudTrailBucketPolicy(bucket, trailARN(home, "someone-else")))
	if err := create("harden", nil); !errors.As(err, &badPolicy) {
		t.Fatalf("policy for another trail: %v", err)
	}
	// Nor one whose write grant requires another ACL, one scoped to another
	// account's prefix, or one with an explicit deny.
	for name, p := range map[string]string{
		"wrong acl":     strings.Replace(cloudTrailBucketPolicy(bucket, trailARN(home, "harden")), "bucket-owner-full-control", "private", 1),
		"wrong account": strings.Replace(cloudTrailBucketPolicy(bucket, trailARN(home, "harden")), "/AWSLogs/"+acct+"/*", "/AWSLogs/999999999999/*", 1),
		"explicit deny": strings.Replace(cloudTrailBucketPolicy(bucket, trailARN(home, "harden")), `"Bool": {"aws:SecureTransport": "false"}`, `"Bool": {"aws:SecureTransport": "true"}`, 1),
		"no acl check":  strings.Replace(cloudTrailBucketPolicy(bucket, trailARN(home, "harden")), `"Action": "s3:GetBucketAcl"`, `"Action": "s3:ListBucket"`, 1),
	} {
		putPolicy(t, env, home, bucket, p)
		if err := create("harden", nil); !errors.As(err, &badPolicy) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// With a prefix, the write grant must cover prefix/AWSLogs/ACCOUNT/.
	putPolicy(t, env, home, bucket, cloudTrailBucketPolicy(bucket, "arn:aws:cloudtrail:*:"+acct+":trail/*"))
	if err := create("prefixed", func(in *cloudtrail.CreateTrailInput) { in.S3KeyPrefix = aws.String("trails") }); !errors.As(err, &badPolicy) {
		t.Fatalf("prefix not covered: %v", err)
	}

	// KMS keys: missing, wrong region, policy without CloudTrail.
	var keyNF *cttypes.KmsKeyNotFoundException
	if err := create("harden", func(in *cloudtrail.CreateTrailInput) { in.KmsKeyId = aws.String("alias/nope") }); !errors.As(err, &keyNF) {
		t.Fatalf("missing key: %v", err)
	}
	euKey := must[*kms.CreateKeyOutput](t, "eu key")(env.Clients.KMS("eu-west-1").CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(cloudTrailKeyPolicy(trailARN(home, "harden")))}))
	if err := create("harden", func(in *cloudtrail.CreateTrailInput) { in.KmsKeyId = euKey.KeyMetadata.Arn }); !errors.As(err, &keyNF) {
		t.Fatalf("key in another region than the bucket: %v", err)
	}
	plainKey := must[*kms.CreateKeyOutput](t, "key")(env.Clients.KMS(home).CreateKey(ctx, &kms.CreateKeyInput{}))
	var encPolicy *cttypes.InsufficientEncryptionPolicyException
	if err := create("harden", func(in *cloudtrail.CreateTrailInput) { in.KmsKeyId = plainKey.KeyMetadata.KeyId }); !errors.As(err, &encPolicy) {
		t.Fatalf("key policy without CloudTrail: %v", err)
	}
	otherTrailKey := must[*kms.CreateKeyOutput](t, "key")(env.Clients.KMS(home).CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(cloudTrailKeyPolicy(trailARN(home, "other")))}))
	if err := create("harden", func(in *cloudtrail.CreateTrailInput) { in.KmsKeyId = otherTrailKey.KeyMetadata.Arn }); !errors.As(err, &encPolicy) {
		t.Fatalf("key policy for another trail: %v", err)
	}

	// Parameter checks.
	var badName *cttypes.InvalidTrailNameException
	for _, n := range []string{"ab", "-harden", "my--trail", "my-_trail", "10.0.0.1", "harden!"} {
		if err := create(n, nil); !errors.As(err, &badName) {
			t.Fatalf("name %q: %v", n, err)
		}
	}
	var combo *cttypes.InvalidParameterCombinationException
	if err := create("harden", func(in *cloudtrail.CreateTrailInput) { in.IncludeGlobalServiceEvents = aws.Bool(false) }); !errors.As(err, &combo) {
		t.Fatalf("multi-region without global events: %v", err)
	}
	var notInOrg *cttypes.OrganizationsNotInUseException
	if err := create("harden", func(in *cloudtrail.CreateTrailInput) { in.IsOrganizationTrail = aws.Bool(true) }); !errors.As(err, &notInOrg) {
		t.Fatalf("organization trail outside an organization: %v", err)
	}

	// Created; the same name again, here or in another region, conflicts.
	if err := create("harden", nil); err != nil {
		t.Fatal(err)
	}
	var exists *cttypes.TrailAlreadyExistsException
	if err := create("harden", nil); !errors.As(err, &exists) {
		t.Fatalf("same trail again: %v", err)
	}
	_, err := env.Clients.CloudTrail("us-west-2").CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("harden"), S3BucketName: aws.String(bucket)})
	if !errors.As(err, &exists) {
		t.Fatalf("name of a multi-region trail in another region: %v", err)
	}

	// Outside the home region the trail can be read but not changed.
	west := env.Clients.CloudTrail("eu-west-1")
	var wrongHome *cttypes.InvalidHomeRegionException
	for _, ref := range []string{"harden", trailARN(home, "harden")} {
		if _, err := west.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(ref)}); !errors.As(err, &wrongHome) {
			t.Fatalf("start %s from eu-west-1: %v", ref, err)
		}
		if _, err := west.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(ref)}); !errors.As(err, &wrongHome) {
			t.Fatalf("stop %s from eu-west-1: %v", ref, err)
		}
		if _, err := west.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(ref)}); !errors.As(err, &wrongHome) {
			t.Fatalf("delete %s from eu-west-1: %v", ref, err)
		}
		if _, err := west.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(ref), EnableLogFileValidation: aws.Bool(true)}); !errors.As(err, &wrongHome) {
			t.Fatalf("update %s from eu-west-1: %v", ref, err)
		}
		if _, err := west.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(ref),
			EventSelectors: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeAll}}}); !errors.As(err, &wrongHome) {
			t.Fatalf("put selectors %s from eu-west-1: %v", ref, err)
		}
	}
	if _, err := west.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(trailARN(home, "harden"))}); err != nil {
		t.Fatalf("get shadow by ARN: %v", err)
	}
	var tnf *cttypes.TrailNotFoundException
	if _, err := ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("nope")}); !errors.As(err, &tnf) || httpStatus(t, err) != 400 {
		t.Fatalf("status of unknown trail: %v", err)
	}

	// UpdateTrail validates what it changes.
	if _, err := ct.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("harden"), S3BucketName: aws.String("harden-no-such-bucket")}); !errors.As(err, &noBucket) {
		t.Fatalf("update to a missing bucket: %v", err)
	}
	if _, err := ct.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("harden"), KmsKeyId: plainKey.KeyMetadata.Arn}); !errors.As(err, &encPolicy) {
		t.Fatalf("update to a key without CloudTrail: %v", err)
	}
	up := must[*cloudtrail.UpdateTrailOutput](t, "update")(ct.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("harden"), EnableLogFileValidation: aws.Bool(true)}))
	if !aws.ToBool(up.LogFileValidationEnabled) || aws.ToString(up.S3BucketName) != bucket || !aws.ToBool(up.IsMultiRegionTrail) {
		t.Fatalf("update = %+v", up)
	}

	// Event selectors.
	var badSel *cttypes.InvalidEventSelectorsException
	_, err = ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("harden"),
		EventSelectors:         []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeAll}},
		AdvancedEventSelectors: []cttypes.AdvancedEventSelector{{FieldSelectors: []cttypes.AdvancedFieldSelector{{Field: aws.String("eventCategory"), Equals: []string{"Management"}}}}}})
	if !errors.As(err, &badSel) {
		t.Fatalf("both kinds of selectors: %v", err)
	}
	_, err = ct.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("harden"),
		EventSelectors: []cttypes.EventSelector{{ReadWriteType: "read-only"}}})
	if !errors.As(err, &badSel) {
		t.Fatalf("bad ReadWriteType: %v", err)
	}

	// Five trails per region, shadow trails included.
	for i := 1; i <= 4; i++ {
		_, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(fmt.Sprintf("regional-%d", i)), S3BucketName: aws.String(bucket)})
		if err != nil {
			t.Fatalf("trail %d: %v", i, err)
		}
	}
	var tooMany *cttypes.MaximumNumberOfTrailsExceededException
	if _, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("regional-5"), S3BucketName: aws.String(bucket)}); !errors.As(err, &tooMany) {
		t.Fatalf("sixth trail in us-east-1: %v", err)
	}
	// us-west-2 holds only the shadow; a single-region trail fits there,
	// a multi-region one does not (it would be a sixth in us-east-1).
	westCT := env.Clients.CloudTrail("us-west-2")
	if _, err := westCT.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("west-only"), S3BucketName: aws.String(bucket)}); err != nil {
		t.Fatalf("single-region trail in us-west-2: %v", err)
	}
	if _, err := westCT.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("west-multi"), S3BucketName: aws.String(bucket), IsMultiRegionTrail: aws.Bool(true)}); !errors.As(err, &tooMany) {
		t.Fatalf("multi-region trail when us-east-1 is full: %v", err)
	}
	list := must[*cloudtrail.DescribeTrailsOutput](t, "describe")(ct.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{TrailNameList: []string{"harden", "regional-1", "west-only"}}))
	if len(list.TrailList) != 2 {
		t.Fatalf("describe by names in us-east-1 = %d trails", len(list.TrailList))
	}
	// Deleting from the home region removes the trail everywhere.
	must[*cloudtrail.DeleteTrailOutput](t, "delete")(ct.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String("harden")}))
	d := must[*cloudtrail.DescribeTrailsOutput](t, "describe")(west.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{}))
	if len(d.TrailList) != 0 {
		t.Fatalf("eu-west-1 after delete: %+v", d.TrailList)
	}
}

func TestOrganizationTrailFromMemberAccount(t *testing.T) {
	env := fakeawstest.Start(t)
	orgARN := env.Server.AddOrganizationTrail("us-east-1", "org-trail", "aws-controltower-logs-archive")
	if !strings.Contains(orgARN, fakeaws.OrganizationManagementAccountID) {
		t.Fatalf("org trail ARN %s", orgARN)
	}
	ct := env.Clients.CloudTrail("eu-central-1")
	d := must[*cloudtrail.DescribeTrailsOutput](t, "describe")(ct.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{}))
	if len(d.TrailList) != 1 || !aws.ToBool(d.TrailList[0].IsOrganizationTrail) || !aws.ToBool(d.TrailList[0].IsMultiRegionTrail) ||
		aws.ToString(d.TrailList[0].TrailARN) != orgARN || aws.ToString(d.TrailList[0].HomeRegion) != "us-east-1" {
		t.Fatalf("trails = %+v", d.TrailList)
	}
	st := must[*cloudtrail.GetTrailStatusOutput](t, "status")(ct.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(orgARN)}))
	if !aws.ToBool(st.IsLogging) {
		t.Fatal("org trail not logging")
	}
	var tnf *cttypes.TrailNotFoundException
	if _, err := env.Clients.CloudTrail("us-east-1").GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("org-trail")}); !errors.As(err, &tnf) {
		t.Fatalf("org trail by name from a member: %v", err)
	}
	home := env.Clients.CloudTrail("us-east-1")
	var notMgmt *cttypes.NotOrganizationMasterAccountException
	if _, err := home.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(orgARN)}); !errors.As(err, &notMgmt) {
		t.Fatalf("stop org trail: %v", err)
	}
	if _, err := home.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(orgARN)}); !errors.As(err, &notMgmt) {
		t.Fatalf("delete org trail: %v", err)
	}
	if _, err := home.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(orgARN), EnableLogFileValidation: aws.Bool(false)}); !errors.As(err, &notMgmt) {
		t.Fatalf("update org trail: %v", err)
	}
	var badARN *cttypes.CloudTrailARNInvalidException
	if _, err := home.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{orgARN}}); !errors.As(err, &badARN) {
		t.Fatalf("list tags of org trail: %v", err)
	}
	createBucket(t, env, "us-east-1", "member-bucket")
	putPolicy(t, env, "us-east-1", "member-bucket", cloudTrailBucketPolicy("member-bucket", trailARN("us-east-1", "*")))
	_, err := home.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("member-org"), S3BucketName: aws.String("member-bucket"), IsOrganizationTrail: aws.Bool(true), IsMultiRegionTrail: aws.Bool(true)})
	if !errors.As(err, &notMgmt) {
		t.Fatalf("member creating an org trail: %v", err)
	}
	// The member's own trail may reuse the name; org trails don't count
	// toward its five.
	if _, err := home.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("org-trail"), S3BucketName: aws.String("member-bucket")}); err != nil {
		t.Fatalf("member trail named like the org trail: %v", err)
	}
}

func TestConfigServiceLinkedRole(t *testing.T) {
	env := fakeawstest.Start(t)
	c := env.Clients.IAM()
	out := must[*iam.CreateServiceLinkedRoleOutput](t, "create SLR")(c.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String("config.amazonaws.com")}))
	wantARN := "arn:aws:iam::" + acct + ":role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
	if aws.ToString(out.Role.Arn) != wantARN || aws.ToString(out.Role.Path) != "/aws-service-role/config.amazonaws.com/" || aws.ToString(out.Role.RoleName) != "AWSServiceRoleForConfig" {
		t.Fatalf("role = %+v", out.Role)
	}
	_, err := c.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String("config.amazonaws.com")})
	mustCode(t, "second SLR", err, "InvalidInput")
	if !strings.Contains(err.Error(), "Service role name AWSServiceRoleForConfig has been taken in this account, please try again.") || httpStatus(t, err) != 400 {
		t.Fatalf("second SLR: %v", err)
	}
	got := must[*iam.GetRoleOutput](t, "get role")(c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("AWSServiceRoleForConfig")}))
	trust, _ := url.QueryUnescape(aws.ToString(got.Role.AssumeRolePolicyDocument))
	if aws.ToString(got.Role.Arn) != wantARN || !strings.Contains(trust, "config.amazonaws.com") {
		t.Fatalf("get role = %+v (%s)", got.Role, trust)
	}
	_, err = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("nope")})
	mustCode(t, "missing role", err, "NoSuchEntity")
	if httpStatus(t, err) != 404 {
		t.Fatalf("NoSuchEntity status %d", httpStatus(t, err))
	}
	_, err = c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("AWSServiceRoleForConfig")})
	mustCode(t, "DeleteRole on an SLR", err, "UnmodifiableEntity")
}

// configRecorderInput is a recorder that records everything, IAM included.
func configRecorderInput(name, role string) *configservice.PutConfigurationRecorderInput {
	return &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: &cfgtypes.ConfigurationRecorder{
		Name: aws.String(name), RoleARN: aws.String(role),
		RecordingGroup: &cfgtypes.RecordingGroup{AllSupported: true, IncludeGlobalResourceTypes: true,
			RecordingStrategy: &cfgtypes.RecordingStrategy{UseOnly: cfgtypes.RecordingStrategyTypeAllSupportedResourceTypes}},
	}}
}

func TestConfigRecorderAndDeliveryChannel(t *testing.T) {
	env := fakeawstest.Start(t)
	region := "eu-west-1"
	c := env.Clients.Config(region)
	bucket := "harden-config-" + acct
	createBucket(t, env, "us-east-1", bucket)
	slr := must[*iam.CreateServiceLinkedRoleOutput](t, "SLR")(env.Clients.IAM().CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String("config.amazonaws.com")}))
	role := aws.ToString(slr.Role.Arn)
	before := env.Server.Snapshot()

	recs := must[*configservice.DescribeConfigurationRecordersOutput](t, "describe")(c.DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{}))
	if len(recs.ConfigurationRecorders) != 0 {
		t.Fatalf("new account recorders: %+v", recs.ConfigurationRecorders)
	}
	channel := &configservice.PutDeliveryChannelInput{DeliveryChannel: &cfgtypes.DeliveryChannel{Name: aws.String("default"), S3BucketName: aws.String(bucket),
		ConfigSnapshotDeliveryProperties: &cfgtypes.ConfigSnapshotDeliveryProperties{DeliveryFrequency: cfgtypes.MaximumExecutionFrequencyTwentyFourHours}}}
	_, err := c.PutDeliveryChannel(ctx, channel)
	var noRecorder *cfgtypes.NoAvailableConfigurationRecorderException
	if !errors.As(err, &noRecorder) {
		t.Fatalf("channel without recorder: %v", err)
	}

	var badRole *cfgtypes.InvalidRoleException
	if _, err := c.PutConfigurationRecorder(ctx, configRecorderInput("default", "arn:aws:iam::"+acct+":role/nope")); !errors.As(err, &badRole) {
		t.Fatalf("missing role: %v", err)
	}
	var badGroup *cfgtypes.InvalidRecordingGroupException
	for name, g := range map[string]*cfgtypes.RecordingGroup{
		"global without allSupported": {IncludeGlobalResourceTypes: true, ResourceTypes: []cfgtypes.ResourceType{"AWS::EC2::Instance"}},
		"allSupported with types":     {AllSupported: true, ResourceTypes: []cfgtypes.ResourceType{"AWS::EC2::Instance"}},
		"everything empty":            {},
		"allSupported with exclusion strategy": {AllSupported: true, RecordingStrategy: &cfgtypes.RecordingStrategy{UseOnly: cfgtypes.RecordingStrategyTypeExclusionByResourceTypes},
			ExclusionByResourceTypes: &cfgtypes.ExclusionByResourceTypes{ResourceTypes: []cfgtypes.ResourceType{"AWS::EC2::Instance"}}},
	} {
		in := configRecorderInput("default", role)
		in.ConfigurationRecorder.RecordingGroup = g
		if _, err := c.PutConfigurationRecorder(ctx, in); !errors.As(err, &badGroup) {
			t.Fatalf("%s: %v", name, err)
		}
	}

	must[*configservice.PutConfigurationRecorderOutput](t, "put recorder")(c.PutConfigurationRecorder(ctx, configRecorderInput("default", role)))
	// Putting it again is an update; another name is a second recorder.
	must[*configservice.PutConfigurationRecorderOutput](t, "put recorder again")(c.PutConfigurationRecorder(ctx, configRecorderInput("default", role)))
	var tooMany *cfgtypes.MaxNumberOfConfigurationRecordersExceededException
	if _, err := c.PutConfigurationRecorder(ctx, configRecorderInput("harden", role)); !errors.As(err, &tooMany) {
		t.Fatalf("second recorder: %v", err)
	}
	recs = must[*configservice.DescribeConfigurationRecordersOutput](t, "describe")(c.DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{}))
	if len(recs.ConfigurationRecorders) != 1 {
		t.Fatalf("recorders = %+v", recs.ConfigurationRecorders)
	}
	rec := recs.ConfigurationRecorders[0]
	if aws.ToString(rec.Name) != "default" || aws.ToString(rec.RoleARN) != role || !rec.RecordingGroup.AllSupported || !rec.RecordingGroup.IncludeGlobalResourceTypes ||
		rec.RecordingGroup.RecordingStrategy.UseOnly != cfgtypes.RecordingStrategyTypeAllSupportedResourceTypes ||
		rec.RecordingMode == nil || rec.RecordingMode.RecordingFrequency != cfgtypes.RecordingFrequencyContinuous {
		t.Fatalf("recorder = %+v", rec)
	}
	var noSuch *cfgtypes.NoSuchConfigurationRecorderException
	if _, err := c.DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{ConfigurationRecorderNames: []string{"nope"}}); !errors.As(err, &noSuch) {
		t.Fatalf("describe unknown recorder: %v", err)
	}
	status := must[*configservice.DescribeConfigurationRecorderStatusOutput](t, "status")(c.DescribeConfigurationRecorderStatus(ctx, &configservice.DescribeConfigurationRecorderStatusInput{}))
	if len(status.ConfigurationRecordersStatus) != 1 || status.ConfigurationRecordersStatus[0].Recording || status.ConfigurationRecordersStatus[0].LastStatus != "" {
		t.Fatalf("status before start = %+v", status.ConfigurationRecordersStatus)
	}

	var noChannel *cfgtypes.NoAvailableDeliveryChannelException
	if _, err := c.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}); !errors.As(err, &noChannel) {
		t.Fatalf("start without channel: %v", err)
	}
	if _, err := c.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String("nope")}); !errors.As(err, &noSuch) {
		t.Fatalf("start unknown recorder: %v", err)
	}

	var noBucket *cfgtypes.NoSuchBucketException
	missing := *channel.DeliveryChannel
	missing.S3BucketName = aws.String("harden-no-such-bucket")
	if _, err := c.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &missing}); !errors.As(err, &noBucket) {
		t.Fatalf("channel to a missing bucket: %v", err)
	}
	var badPolicy *cfgtypes.InsufficientDeliveryPolicyException
	if _, err := c.PutDeliveryChannel(ctx, channel); !errors.As(err, &badPolicy) {
		t.Fatalf("bucket without policy: %v", err)
	}
	putPolicy(t, env, "us-east-1", bucket, strings.ReplaceAll(configBucketPolicy(bucket), `"AWS:SourceAccount": "`+acct+`"`, `"AWS:SourceAccount": "999999999999"`))
	if _, err := c.PutDeliveryChannel(ctx, channel); !errors.As(err, &badPolicy) {
		t.Fatalf("bucket policy for another account: %v", err)
	}
	putPolicy(t, env, "us-east-1", bucket, configBucketPolicy(bucket))
	prefixed := *channel.DeliveryChannel
	prefixed.S3KeyPrefix = aws.String("config")
	if _, err := c.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &prefixed}); !errors.As(err, &badPolicy) {
		t.Fatalf("prefix the policy does not cover: %v", err)
	}
	must[*configservice.PutDeliveryChannelOutput](t, "put channel")(c.PutDeliveryChannel(ctx, channel))
	second := *channel.DeliveryChannel
	second.Name = aws.String("harden")
	var tooManyChannels *cfgtypes.MaxNumberOfDeliveryChannelsExceededException
	if _, err := c.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: &second}); !errors.As(err, &tooManyChannels) {
		t.Fatalf("second channel: %v", err)
	}
	chans := must[*configservice.DescribeDeliveryChannelsOutput](t, "channels")(c.DescribeDeliveryChannels(ctx, &configservice.DescribeDeliveryChannelsInput{}))
	if len(chans.DeliveryChannels) != 1 || aws.ToString(chans.DeliveryChannels[0].S3BucketName) != bucket ||
		chans.DeliveryChannels[0].ConfigSnapshotDeliveryProperties.DeliveryFrequency != cfgtypes.MaximumExecutionFrequencyTwentyFourHours {
		t.Fatalf("channels = %+v", chans.DeliveryChannels)
	}

	must[*configservice.StartConfigurationRecorderOutput](t, "start")(c.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}))
	status = must[*configservice.DescribeConfigurationRecorderStatusOutput](t, "status")(c.DescribeConfigurationRecorderStatus(ctx, &configservice.DescribeConfigurationRecorderStatusInput{}))
	if s := status.ConfigurationRecordersStatus[0]; !s.Recording || s.LastStatus != cfgtypes.RecorderStatusSuccess || s.LastStartTime == nil {
		t.Fatalf("status after start = %+v", s)
	}
	// Another region is untouched.
	other := must[*configservice.DescribeConfigurationRecordersOutput](t, "describe")(env.Clients.Config("eu-west-2").DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{}))
	if len(other.ConfigurationRecorders) != 0 {
		t.Fatal("recorder leaked into eu-west-2")
	}

	var running *cfgtypes.LastDeliveryChannelDeleteFailedException
	if _, err := c.DeleteDeliveryChannel(ctx, &configservice.DeleteDeliveryChannelInput{DeliveryChannelName: aws.String("default")}); !errors.As(err, &running) {
		t.Fatalf("delete channel while recording: %v", err)
	}
	// The SLR is in use: its deletion task fails and the role stays.
	task := must[*iam.DeleteServiceLinkedRoleOutput](t, "delete SLR")(env.Clients.IAM().DeleteServiceLinkedRole(ctx, &iam.DeleteServiceLinkedRoleInput{RoleName: aws.String("AWSServiceRoleForConfig")}))
	ts := must[*iam.GetServiceLinkedRoleDeletionStatusOutput](t, "task")(env.Clients.IAM().GetServiceLinkedRoleDeletionStatus(ctx, &iam.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskId: task.DeletionTaskId}))
	if ts.Status != "FAILED" || ts.Reason == nil || len(ts.Reason.RoleUsageList) != 1 || aws.ToString(ts.Reason.RoleUsageList[0].Region) != region {
		t.Fatalf("deletion of an SLR in use = %+v", ts)
	}

	// Roll back: stop, delete channel, delete recorder.
	must[*configservice.StopConfigurationRecorderOutput](t, "stop")(c.StopConfigurationRecorder(ctx, &configservice.StopConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}))
	must[*configservice.DeleteDeliveryChannelOutput](t, "delete channel")(c.DeleteDeliveryChannel(ctx, &configservice.DeleteDeliveryChannelInput{DeliveryChannelName: aws.String("default")}))
	must[*configservice.DeleteConfigurationRecorderOutput](t, "delete recorder")(c.DeleteConfigurationRecorder(ctx, &configservice.DeleteConfigurationRecorderInput{ConfigurationRecorderName: aws.String("default")}))
	putPolicy(t, env, "us-east-1", bucket, configBucketPolicy(bucket))
	must[*s3.DeleteBucketPolicyOutput](t, "delete policy")(env.Clients.S3("us-east-1").DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(bucket)}))
	if string(before) != string(env.Server.Snapshot()) {
		t.Fatalf("snapshot differs after create and delete:\nbefore: %s\nafter: %s", before, env.Server.Snapshot())
	}
}

func TestControlTowerRecorder(t *testing.T) {
	env := fakeawstest.Start(t)
	env.Server.AddControlTowerConfigRecorder("us-east-2")
	c := env.Clients.Config("us-east-2")
	recs := must[*configservice.DescribeConfigurationRecordersOutput](t, "describe")(c.DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{}))
	if len(recs.ConfigurationRecorders) != 1 || aws.ToString(recs.ConfigurationRecorders[0].Name) != fakeaws.ControlTowerRecorderName {
		t.Fatalf("recorders = %+v", recs.ConfigurationRecorders)
	}
	st := must[*configservice.DescribeConfigurationRecorderStatusOutput](t, "status")(c.DescribeConfigurationRecorderStatus(ctx, &configservice.DescribeConfigurationRecorderStatusInput{}))
	if !st.ConfigurationRecordersStatus[0].Recording {
		t.Fatal("Control Tower recorder not recording")
	}
	// Starting a running recorder changes nothing and is not denied.
	must[*configservice.StartConfigurationRecorderOutput](t, "start")(c.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String(fakeaws.ControlTowerRecorderName)}))
	_, err := c.StopConfigurationRecorder(ctx, &configservice.StopConfigurationRecorderInput{ConfigurationRecorderName: aws.String(fakeaws.ControlTowerRecorderName)})
	mustCode(t, "stop a Control Tower recorder", err, "AccessDeniedException")
	if !strings.Contains(err.Error(), "explicit deny in a service control policy") {
		t.Fatalf("stop: %v", err)
	}
	_, err = c.PutConfigurationRecorder(ctx, configRecorderInput(fakeaws.ControlTowerRecorderName, aws.ToString(recs.ConfigurationRecorders[0].RoleARN)))
	mustCode(t, "update a Control Tower recorder", err, "AccessDeniedException")
	_, err = c.DeleteDeliveryChannel(ctx, &configservice.DeleteDeliveryChannelInput{DeliveryChannelName: aws.String("aws-controltower-BaselineConfigDeliveryChannel")})
	mustCode(t, "delete a Control Tower channel", err, "AccessDeniedException")
}

func TestLoggingServicesSnapshotAndFaults(t *testing.T) {
	env := fakeawstest.Start(t)
	home := "us-east-1"
	bucket := "harden-snapshot-bucket"
	createBucket(t, env, home, bucket)
	putPolicy(t, env, home, bucket, cloudTrailBucketPolicy(bucket, trailARN(home, "harden")))
	before := env.Server.Snapshot()

	ct := env.Clients.CloudTrail(home)
	must[*cloudtrail.CreateTrailOutput](t, "create")(ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("harden"), S3BucketName: aws.String(bucket), IsMultiRegionTrail: aws.Bool(true)}))
	must[*cloudtrail.StartLoggingOutput](t, "start")(ct.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("harden")}))
	createBucket(t, env, "ap-south-1", "harden-temp-bucket")
	if string(before) == string(env.Server.Snapshot()) {
		t.Fatal("snapshot unchanged after creating a trail and a bucket")
	}
	must[*cloudtrail.StopLoggingOutput](t, "stop")(ct.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String("harden")}))
	must[*cloudtrail.DeleteTrailOutput](t, "delete")(ct.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String("harden")}))
	must[*s3.DeleteBucketOutput](t, "delete bucket")(env.Clients.S3("ap-south-1").DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("harden-temp-bucket")}))
	if string(before) != string(env.Server.Snapshot()) {
		t.Fatalf("snapshot differs after create and delete:\nbefore: %s\nafter: %s", before, env.Server.Snapshot())
	}

	// Each service answers faults with its own codes.
	env.Server.AddFault(fakeaws.Fault{Service: "s3", Error: fakeaws.AccessDenied, Times: 1})
	_, err := env.Clients.S3(home).GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
	mustCode(t, "s3 denied", err, "AccessDenied")
	if httpStatus(t, err) != 403 {
		t.Fatalf("s3 AccessDenied status %d", httpStatus(t, err))
	}
	env.Server.ResetLog()
	env.Server.AddFault(fakeaws.Fault{Service: "kms", Action: "ListAliases", Error: fakeaws.Throttle, Times: 2})
	if _, err := env.Clients.KMS(home).ListAliases(ctx, &kms.ListAliasesInput{}); err != nil {
		t.Fatalf("throttled KMS call not retried: %v", err)
	}
	if reqs := env.Server.Requests(); len(reqs) != 3 || reqs[0].Error != "ThrottlingException" {
		t.Fatalf("log = %+v", reqs)
	}
	env.Server.AddFault(fakeaws.Fault{Service: "s3", Action: "HeadBucket", Error: fakeaws.Throttle, Times: 1})
	if _, err := env.Clients.S3(home).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("SlowDown not retried: %v", err)
	}
	_, err = env.Clients.CloudTrail("af-south-1").DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
	mustCode(t, "cloudtrail in a disabled region", err, "UnrecognizedClientException")
	_, err = env.Clients.Config("me-south-1").DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{})
	mustCode(t, "config in a disabled region", err, "UnrecognizedClientException")
}
