package controls

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/parallel"
)

// The log bucket's writes.
const (
	stepCreateBucket control.StepKind = "CreateBucket"
	// stepPutBucketTagging is only in journals of earlier versions.
	stepPutBucketTagging    control.StepKind = "PutBucketTagging"
	stepPutBucketPAB        control.StepKind = "PutBucketPublicAccessBlock"
	stepPutBucketEncryption control.StepKind = "PutBucketEncryption"
	stepPutBucketVersioning control.StepKind = "PutBucketVersioning"
	stepPutBucketLifecycle  control.StepKind = "PutBucketLifecycleConfiguration"
	stepPutBucketPolicy     control.StepKind = "PutBucketPolicy"
)

// Bucket setting states, each journaled as a step's prior and after. Their
// JSON names are those format-1 journals used (Go field names). NewBucket
// marks a setting of a bucket the same apply created: it goes with the
// bucket (deleted when empty, kept with its logs otherwise), so its undo
// has nothing of its own to restore.
type (
	bucketCreated struct {
		Bucket string            `json:"bucket"`
		Region string            `json:"region"`
		Tags   map[string]string `json:"tags,omitempty"`
	}
	bucketPABPrior struct {
		Bucket    string   `json:"Bucket"`
		PAB       pabState `json:"PAB"`
		NewBucket bool     `json:"NewBucket,omitempty"`
	}
	encryptionPrior struct {
		Bucket     string          `json:"Bucket"`
		Encryption encryptionState `json:"Encryption"`
		NewBucket  bool            `json:"NewBucket,omitempty"`
	}
	versioningPrior struct {
		Bucket    string `json:"Bucket"`
		Status    string `json:"Status"`
		NewBucket bool   `json:"NewBucket,omitempty"`
	}
	lifecyclePrior struct {
		Bucket    string          `json:"Bucket"`
		HasRules  bool            `json:"HasRules"`
		Rules     []lifecycleRule `json:"Rules"`
		NewBucket bool            `json:"NewBucket,omitempty"`
	}
	bucketPolicyPrior struct {
		Bucket    string `json:"Bucket"`
		Policy    string `json:"Policy"`
		NewBucket bool   `json:"NewBucket,omitempty"`
	}
)

// errBucketGone is what the bucket readers return when the bucket no
// longer exists.
var errBucketGone = errors.New("bucket does not exist")

func bucketGone(err error) bool {
	return errors.Is(err, errBucketGone) || awserror.Is(err, "NoSuchBucket", "NotFound")
}

func readBucket(ctx context.Context, c *s3.Client, st *archiveState) error {
	_, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(st.Bucket)})
	if bucketGone(err) {
		st.Owned = true // harden will create it
		return nil
	}
	if err != nil {
		return fmt.Errorf("head bucket %s: %w", st.Bucket, err)
	}
	st.Exists = true
	// Each read fills its own fields: all at once.
	return parallel.Do(ctx,
		func(ctx context.Context) error {
			tags, err := readBucketTags(ctx, c, st.Bucket)
			st.Owned = tags[control.TagManagedBy] == control.TagManagedByID
			return err
		},
		func(ctx context.Context) (err error) { st.PAB, err = readBucketPAB(ctx, c, st.Bucket); return err },
		func(ctx context.Context) (err error) {
			st.Encryption, err = readEncryption(ctx, c, st.Bucket)
			return err
		},
		func(ctx context.Context) (err error) {
			st.Versioning, err = readVersioning(ctx, c, st.Bucket)
			return err
		},
		func(ctx context.Context) (err error) {
			st.Lifecycle, st.HasRules, err = readLifecycle(ctx, c, st.Bucket)
			return err
		},
		func(ctx context.Context) (err error) {
			st.Policy, err = readBucketPolicy(ctx, c, st.Bucket)
			return err
		})
}

func readBucketTags(ctx context.Context, c *s3.Client, bucket string) (map[string]string, error) {
	out, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
	tags := map[string]string{}
	switch {
	case awserror.Is(err, "NoSuchTagSet"):
		return tags, nil
	case err != nil:
		return nil, fmt.Errorf("get tags of bucket %s: %w", bucket, err)
	}
	for _, tag := range out.TagSet {
		tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return tags, nil
}

func readBucketPAB(ctx context.Context, c *s3.Client, bucket string) (pabState, error) {
	out, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(bucket)})
	switch {
	case awserror.Is(err, "NoSuchPublicAccessBlockConfiguration"):
		return pabState{}, nil
	case err != nil:
		return pabState{}, fmt.Errorf("get public access block of %s: %w", bucket, err)
	}
	p := out.PublicAccessBlockConfiguration
	return pabState{Exists: true, BlockPublicAcls: aws.ToBool(p.BlockPublicAcls), IgnorePublicAcls: aws.ToBool(p.IgnorePublicAcls),
		BlockPublicPolicy: aws.ToBool(p.BlockPublicPolicy), RestrictPublicBuckets: aws.ToBool(p.RestrictPublicBuckets)}, nil
}

func readEncryption(ctx context.Context, c *s3.Client, bucket string) (encryptionState, error) {
	out, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(bucket)})
	switch {
	case awserror.Is(err, "ServerSideEncryptionConfigurationNotFoundError"):
		return encryptionState{}, nil
	case err != nil:
		return encryptionState{}, fmt.Errorf("get encryption of %s: %w", bucket, err)
	}
	var e encryptionState
	for _, r := range out.ServerSideEncryptionConfiguration.Rules {
		if d := r.ApplyServerSideEncryptionByDefault; d != nil {
			e = encryptionState{Algorithm: string(d.SSEAlgorithm), KeyID: aws.ToString(d.KMSMasterKeyID), BucketKey: aws.ToBool(r.BucketKeyEnabled)}
		}
	}
	return e, nil
}

func readVersioning(ctx context.Context, c *s3.Client, bucket string) (string, error) {
	out, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(bucket)})
	if err != nil {
		return "", fmt.Errorf("get versioning of %s: %w", bucket, err)
	}
	return string(out.Status), nil
}

func readLifecycle(ctx context.Context, c *s3.Client, bucket string) ([]lifecycleRule, bool, error) {
	out, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(bucket)})
	switch {
	case awserror.Is(err, "NoSuchLifecycleConfiguration"):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("get lifecycle of %s: %w", bucket, err)
	}
	return lifecycleRulesFromSDK(out.Rules), true, nil
}

func readBucketPolicy(ctx context.Context, c *s3.Client, bucket string) (string, error) {
	out, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
	switch {
	case awserror.Is(err, "NoSuchBucketPolicy"):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("get policy of %s: %w", bucket, err)
	}
	return aws.ToString(out.Policy), nil
}

// applyBucket makes the bucket and its settings. S3 answers
// OperationAborted to configuration writes made at once on one bucket, so
// they are made one after another; the default encryption comes last, as
// it waits for the key branch's key. A bucket it creates is read for
// Block Public Access while versioning is written (a read never conflicts
// with a write): S3 turns it all on for every new bucket, so that write
// is left out when the read finds it on.
func (LogArchive) applyBucket(ctx context.Context, env *control.Env, t control.Target, j control.Journal, st *archiveState, key *keyOutcome) error {
	c := env.AWS.S3(t.HomeRegion)
	newBucket := !st.Exists
	if newBucket {
		if err := createBucket(ctx, c, t, j, st); err != nil {
			return err
		}
	}
	versioning := func(ctx context.Context) error {
		if !st.Owned || st.Versioning == string(s3types.BucketVersioningStatusEnabled) {
			return nil
		}
		prior := versioningPrior{Bucket: st.Bucket, Status: st.Versioning, NewBucket: newBucket}
		after := versioningPrior{Bucket: st.Bucket, Status: string(s3types.BucketVersioningStatusEnabled)}
		if err := j.Write(ctx, stepPutBucketVersioning, prior, after, func(ctx context.Context) (any, error) {
			return nil, putVersioning(ctx, c, st.Bucket, s3types.BucketVersioningStatusEnabled)
		}); err != nil {
			return fmt.Errorf("log-archive: enable versioning of %s: %w", st.Bucket, err)
		}
		return nil
	}
	if newBucket {
		err := parallel.All(ctx, versioning, func(ctx context.Context) (err error) {
			if st.PAB, err = readBucketPAB(ctx, c, st.Bucket); err != nil {
				return fmt.Errorf("log-archive: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if len(st.PAB.changes()) > 0 {
		want := pabState{true, true, true, true, true}
		prior, after := bucketPABPrior{Bucket: st.Bucket, PAB: st.PAB, NewBucket: newBucket}, bucketPABPrior{Bucket: st.Bucket, PAB: want}
		if err := j.Write(ctx, stepPutBucketPAB, prior, after, func(ctx context.Context) (any, error) {
			return nil, putBucketPAB(ctx, c, st.Bucket, want)
		}); err != nil {
			return fmt.Errorf("log-archive: block public access to %s: %w", st.Bucket, err)
		}
	}
	if !newBucket {
		if err := versioning(ctx); err != nil {
			return err
		}
	}
	if days := retentionDays(env); !hasRetention(st.Lifecycle, days) {
		want := withRetention(st.Lifecycle, days)
		prior := lifecyclePrior{Bucket: st.Bucket, HasRules: st.HasRules, Rules: st.Lifecycle, NewBucket: newBucket}
		after := lifecyclePrior{Bucket: st.Bucket, HasRules: true, Rules: want}
		if err := j.Write(ctx, stepPutBucketLifecycle, prior, after, func(ctx context.Context) (any, error) {
			return nil, putLifecycle(ctx, c, st.Bucket, want)
		}); err != nil {
			return fmt.Errorf("log-archive: set retention of %s: %w", st.Bucket, err)
		}
	}
	want, err := mergedBucketPolicy(st.Policy, st.Bucket, t)
	if err != nil {
		return fmt.Errorf("log-archive: %w", err)
	}
	if !samePolicy(st.Policy, want) {
		prior, after := bucketPolicyPrior{Bucket: st.Bucket, Policy: st.Policy, NewBucket: newBucket}, bucketPolicyPrior{Bucket: st.Bucket, Policy: want}
		if err := j.Write(ctx, stepPutBucketPolicy, prior, after, func(ctx context.Context) (any, error) {
			_, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(st.Bucket), Policy: aws.String(want)})
			return nil, err
		}); err != nil {
			return fmt.Errorf("log-archive: put policy of %s: %w", st.Bucket, err)
		}
	}
	if !st.Owned {
		return nil
	}
	keyARN, err := key.wait(ctx)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("log-archive: set default encryption of %s: %w", st.Bucket, ctx.Err())
	}
	if err != nil {
		return nil // the key branch reports its error; the encryption waits for the next apply
	}
	st.KeyARN = keyARN
	if !st.wantEncryption() {
		want := encryptionState{Algorithm: string(s3types.ServerSideEncryptionAwsKms), KeyID: st.KeyARN, BucketKey: true}
		prior, after := encryptionPrior{Bucket: st.Bucket, Encryption: st.Encryption, NewBucket: newBucket}, encryptionPrior{Bucket: st.Bucket, Encryption: want}
		if err := j.Write(ctx, stepPutBucketEncryption, prior, after, func(ctx context.Context) (any, error) {
			return nil, putEncryption(ctx, c, st.Bucket, want)
		}); err != nil {
			return fmt.Errorf("log-archive: set default encryption of %s: %w", st.Bucket, err)
		}
	}
	return nil
}

// createBucket creates the bucket with harden's tags in the same call, so
// that no bucket of harden's ever exists without the tags that prove whose
// it is (a separate tagging write could be cut off by a kill, leaving a
// bucket rollback may not delete). The new bucket's settings are then
// written explicitly, never assumed from S3's defaults for new buckets (an
// S3-compatible endpoint may lack them): Block Public Access, the one
// default harden wants as S3 sets it, is read and written only if missing.
func createBucket(ctx context.Context, c *s3.Client, t control.Target, j control.Journal, st *archiveState) error {
	tags := control.Tags(j.RunID())
	cfg := &s3types.CreateBucketConfiguration{}
	for _, k := range sortedMapKeys(tags) {
		cfg.Tags = append(cfg.Tags, s3types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	if t.HomeRegion != "us-east-1" {
		cfg.LocationConstraint = s3types.BucketLocationConstraint(t.HomeRegion)
	}
	in := &s3.CreateBucketInput{Bucket: aws.String(st.Bucket), CreateBucketConfiguration: cfg}
	created := bucketCreated{Bucket: st.Bucket, Region: t.HomeRegion, Tags: tags}
	err := j.Write(ctx, stepCreateBucket, createdPrior{Name: st.Bucket}, created, func(ctx context.Context) (any, error) {
		if _, err := c.CreateBucket(ctx, in); err != nil {
			return nil, err
		}
		return created, nil
	})
	if awserror.Is(err, "BucketAlreadyExists") {
		return fmt.Errorf("log-archive: bucket name %s is taken by another account: choose another with --log-bucket: %w", st.Bucket, err)
	}
	if err != nil {
		return fmt.Errorf("log-archive: create bucket %s in %s: %w", st.Bucket, t.HomeRegion, err)
	}
	st.Exists, st.Owned = true, true
	return nil
}

func putBucketPAB(ctx context.Context, c *s3.Client, bucket string, p pabState) error {
	_, err := c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(bucket),
		PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(p.BlockPublicAcls), IgnorePublicAcls: aws.Bool(p.IgnorePublicAcls),
			BlockPublicPolicy: aws.Bool(p.BlockPublicPolicy), RestrictPublicBuckets: aws.Bool(p.RestrictPublicBuckets)}})
	return err
}

func putEncryption(ctx context.Context, c *s3.Client, bucket string, e encryptionState) error {
	def := &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryption(e.Algorithm)}
	if e.KeyID != "" {
		def.KMSMasterKeyID = aws.String(e.KeyID)
	}
	_, err := c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(bucket),
		ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{
			{ApplyServerSideEncryptionByDefault: def, BucketKeyEnabled: aws.Bool(e.BucketKey)}}}})
	return err
}

func putVersioning(ctx context.Context, c *s3.Client, bucket string, status s3types.BucketVersioningStatus) error {
	_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: status}})
	return err
}

func putLifecycle(ctx context.Context, c *s3.Client, bucket string, rules []lifecycleRule) error {
	_, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String(bucket),
		LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: sdkLifecycleRules(rules)}})
	return err
}

// undoCreateBucket deletes the bucket only when it is the one harden
// created (harden's tags, this run's tag when it has one) and holds no
// object; a bucket with logs is kept, a bucket without harden's tags is
// someone else's and is never deleted, not even with --force.
func (LogArchive) undoCreateBucket(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var p createdPrior
	if err := control.DecodePrior(s, &p); err != nil {
		return control.Undo{}, err
	}
	c := env.AWS.S3(t.HomeRegion)
	_, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(p.Name)})
	if bucketGone(err) {
		if !s.Done {
			return control.Nothing("bucket %s does not exist: the write never happened", p.Name), nil
		}
		return control.Nothing("bucket %s is already gone", p.Name), nil
	}
	if err != nil {
		return control.Undo{}, fmt.Errorf("log-archive: head bucket %s: %w", p.Name, err)
	}
	tags, err := readBucketTags(ctx, c, p.Name)
	if bucketGone(err) {
		return control.Nothing("bucket %s is already gone", p.Name), nil
	}
	if err != nil {
		return control.Undo{}, fmt.Errorf("log-archive: %w", err)
	}
	if why := notHardensBucket(tags, s); why != "" {
		return control.Drift(nil, "bucket %s is not the one harden created (%s): left alone", p.Name, why), nil
	}
	// One version or delete marker is enough to keep the bucket: a log
	// deleted from a versioned bucket is still there as a noncurrent
	// version.
	vs, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(p.Name), MaxKeys: aws.Int32(1)})
	if err != nil && !bucketGone(err) {
		return control.Undo{}, fmt.Errorf("log-archive: list object versions of %s: %w", p.Name, err)
	}
	if err == nil && len(vs.Versions)+len(vs.DeleteMarkers) > 0 {
		return control.Kept("bucket %s holds logs or object versions (rollback never deletes logs)", p.Name), nil
	}
	return control.Deleted("delete empty bucket "+p.Name+", which harden created", func(ctx context.Context) error {
		_, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(p.Name)})
		switch {
		case awserror.Is(err, "BucketNotEmpty"):
			return control.Retain("bucket %s holds logs or object versions (rollback never deletes logs)", p.Name)
		case err != nil && !bucketGone(err):
			return fmt.Errorf("log-archive: delete empty bucket %s: %w", p.Name, err)
		}
		return nil
	}), nil
}

// notHardensBucket says why a bucket's tags do not prove that the step's
// run created it; "" when they do. A step whose outcome is unknown needs
// the run tag; journals of format 1 tagged managed-by only.
func notHardensBucket(tags map[string]string, s control.Step) string {
	if tags[control.TagManagedBy] != control.TagManagedByID {
		return "it does not carry " + control.TagManagedBy + "=" + control.TagManagedByID
	}
	run, ok := tags[control.TagRun]
	switch {
	case ok && s.RunID != "" && run != s.RunID:
		return fmt.Sprintf("it was made by run %s, not %s", run, s.RunID)
	case !ok && !s.Done:
		return "it carries no " + control.TagRun + " tag and the create was not confirmed"
	}
	return ""
}

// undoBucketTagging undoes the separate tagging write of earlier
// versions (buckets are now tagged as they are created): nothing to undo,
// the tags go with the bucket, or stay on a kept bucket to say who made it.
func undoBucketTagging(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var p createdPrior
	if err := control.DecodePrior(s, &p); err != nil {
		return control.Undo{}, err
	}
	return control.Nothing("harden's tags go with bucket %s", p.Name), nil
}

// settingValue is one setting as compared (key) and as shown (show).
type settingValue struct{ key, show string }

// settingUndo decides the undo of a setting: restore it while it is what
// harden left, nothing when the prior value is back, drift otherwise.
func settingUndo(name string, cur, after, prior settingValue, restore func(context.Context) error) control.Undo {
	switch cur.key {
	case after.key:
		return control.Restored(fmt.Sprintf("restore %s (%s → %s)", name, after.show, prior.show), restore)
	case prior.key:
		return control.Nothing("%s is already %s", name, prior.show)
	}
	return control.Drift(restore, "%s: harden set %s, now %s", name, after.show, cur.show)
}

// newBucketSetting is the undo of a setting written on a bucket the same
// apply created: the setting goes with the bucket.
func newBucketSetting(setting, bucket string) control.Undo {
	return control.Nothing("the %s harden gave bucket %s at creation goes with the bucket (see its delete)", setting, bucket)
}

func bucketGoneUndo(bucket string) control.Undo {
	return control.Nothing("bucket %s no longer exists", bucket)
}

func pabValue(p pabState) settingValue {
	if !p.Exists {
		return settingValue{"none", "not set"}
	}
	var off []string
	for _, ch := range p.changes() {
		off = append(off, ch.Field)
	}
	if len(off) == 0 {
		return settingValue{"all", "all four on"}
	}
	return settingValue{strings.Join(off, ","), "off: " + strings.Join(off, ", ")}
}

func undoBucketPAB(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior, after bucketPABPrior
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	setting, name := "Block Public Access", "Block Public Access of bucket "+prior.Bucket
	if prior.NewBucket {
		return newBucketSetting(setting, prior.Bucket), nil
	}
	ok, err := control.DecodeAfter(s, &after)
	if err != nil {
		return control.Undo{}, err
	}
	if !ok {
		after.PAB = pabState{true, true, true, true, true}
	}
	c := env.AWS.S3(t.HomeRegion)
	cur, err := readBucketPAB(ctx, c, prior.Bucket)
	if bucketGone(err) {
		return bucketGoneUndo(prior.Bucket), nil
	}
	if err != nil {
		return control.Undo{}, fmt.Errorf("log-archive: %w", err)
	}
	return settingUndo(name, pabValue(cur), pabValue(after.PAB), pabValue(prior.PAB), func(ctx context.Context) error {
		var err error
		if prior.PAB.Exists {
			err = putBucketPAB(ctx, c, prior.Bucket, prior.PAB)
		} else {
			_, err = c.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String(prior.Bucket)})
		}
		if err != nil && !bucketGone(err) {
			return fmt.Errorf("log-archive: restore public access block of %s: %w", prior.Bucket, err)
		}
		return nil
	}), nil
}

func encryptionValue(e encryptionState) settingValue {
	if e.Algorithm == "" {
		return settingValue{"none", "none"}
	}
	show := e.Algorithm
	if e.KeyID != "" {
		show += " with key " + keyID(e.KeyID)
	}
	if e.BucketKey {
		show += ", bucket key on"
	}
	return settingValue{mustJSON(e), show}
}

func (LogArchive) undoBucketEncryption(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior, after encryptionPrior
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	setting, name := "default encryption", "the default encryption of bucket "+prior.Bucket
	if prior.NewBucket {
		return newBucketSetting(setting, prior.Bucket), nil
	}
	ok, err := control.DecodeAfter(s, &after)
	if err != nil {
		return control.Undo{}, err
	}
	if !ok {
		if after.Encryption, err = formerEncryption(ctx, env, t); err != nil {
			return control.Undo{}, err
		}
	}
	c := env.AWS.S3(t.HomeRegion)
	cur, err := readEncryption(ctx, c, prior.Bucket)
	if bucketGone(err) {
		return bucketGoneUndo(prior.Bucket), nil
	}
	if err != nil {
		return control.Undo{}, fmt.Errorf("log-archive: %w", err)
	}
	return settingUndo(name, encryptionValue(cur), encryptionValue(after.Encryption), encryptionValue(prior.Encryption), func(ctx context.Context) error {
		var err error
		if prior.Encryption.Algorithm == "" {
			_, err = c.DeleteBucketEncryption(ctx, &s3.DeleteBucketEncryptionInput{Bucket: aws.String(prior.Bucket)})
		} else {
			err = putEncryption(ctx, c, prior.Bucket, prior.Encryption)
		}
		if err != nil && !bucketGone(err) {
			return fmt.Errorf("log-archive: restore default encryption of %s: %w", prior.Bucket, err)
		}
		return nil
	}), nil
}

// formerEncryption is what a format-1 PutBucketEncryption step wrote:
// SSE-KMS with the key behind harden's alias, bucket key on.
func formerEncryption(ctx context.Context, env *control.Env, t control.Target) (encryptionState, error) {
	e := encryptionState{Algorithm: string(s3types.ServerSideEncryptionAwsKms), KeyID: LogArchiveKeyAlias, BucketKey: true}
	key, err := env.AWS.KMS(t.HomeRegion).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(LogArchiveKeyAlias)})
	switch {
	case awserror.Is(err, "NotFoundException"):
	case err != nil:
		return e, fmt.Errorf("log-archive: describe key %s in %s: %w", LogArchiveKeyAlias, t.HomeRegion, err)
	default:
		e.KeyID = aws.ToString(key.KeyMetadata.Arn)
	}
	return e, nil
}

// restoredVersioning is the status rollback can put back: versioning once
// enabled can only be suspended.
func restoredVersioning(prior string) string {
	if prior == string(s3types.BucketVersioningStatusEnabled) {
		return prior
	}
	return string(s3types.BucketVersioningStatusSuspended)
}

func versioningValue(status string) settingValue { return settingValue{status, versioningName(status)} }

func undoBucketVersioning(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior, after versioningPrior
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	setting, name := "versioning", "versioning of bucket "+prior.Bucket
	if prior.NewBucket {
		return newBucketSetting(setting, prior.Bucket), nil
	}
	ok, err := control.DecodeAfter(s, &after)
	if err != nil {
		return control.Undo{}, err
	}
	if !ok {
		after.Status = string(s3types.BucketVersioningStatusEnabled)
	}
	c := env.AWS.S3(t.HomeRegion)
	cur, err := readVersioning(ctx, c, prior.Bucket)
	if bucketGone(err) {
		return bucketGoneUndo(prior.Bucket), nil
	}
	if err != nil {
		return control.Undo{}, fmt.Errorf("log-archive: %w", err)
	}
	back := restoredVersioning(prior.Status)
	return settingUndo(name, versioningValue(cur), versioningValue(after.Status), versioningValue(back), func(ctx context.Context) error {
		if err := putVersioning(ctx, c, prior.Bucket, s3types.BucketVersioningStatus(back)); err != nil && !bucketGone(err) {
			return fmt.Errorf("log-archive: restore versioning of %s: %w", prior.Bucket, err)
		}
		return nil
	}), nil
}

func lifecycleValue(hasRules bool, rules []lifecycleRule) settingValue {
	if !hasRules || len(rules) == 0 {
		return settingValue{"none", "no lifecycle rules"}
	}
	var ids []string
	for _, r := range rules {
		ids = append(ids, aws.ToString(r.ID))
	}
	b, _ := json.Marshal(rules)
	return settingValue{string(b), "rules " + strings.Join(ids, ", ")}
}

func (LogArchive) undoBucketLifecycle(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior, after lifecyclePrior
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	setting, name := "lifecycle rules", "the lifecycle rules of bucket "+prior.Bucket
	if prior.NewBucket {
		return newBucketSetting(setting, prior.Bucket), nil
	}
	c := env.AWS.S3(t.HomeRegion)
	cur, hasRules, err := readLifecycle(ctx, c, prior.Bucket)
	if bucketGone(err) {
		return bucketGoneUndo(prior.Bucket), nil
	}
	if err != nil {
		return control.Undo{}, fmt.Errorf("log-archive: %w", err)
	}
	ok, err := control.DecodeAfter(s, &after)
	if err != nil {
		return control.Undo{}, err
	}
	if !ok {
		after = lifecyclePrior{Bucket: prior.Bucket, HasRules: true, Rules: formerLifecycle(prior.Rules, cur, retentionDays(env))}
	}
	return settingUndo(name, lifecycleValue(hasRules, cur), lifecycleValue(after.HasRules, after.Rules), lifecycleValue(prior.HasRules, prior.Rules), func(ctx context.Context) error {
		var err error
		if prior.HasRules && len(prior.Rules) > 0 {
			err = putLifecycle(ctx, c, prior.Bucket, prior.Rules)
		} else {
			_, err = c.DeleteBucketLifecycle(ctx, &s3.DeleteBucketLifecycleInput{Bucket: aws.String(prior.Bucket)})
		}
		if err != nil && !bucketGone(err) {
			return fmt.Errorf("log-archive: restore lifecycle of %s: %w", prior.Bucket, err)
		}
		return nil
	}), nil
}

// formerLifecycle is what a format-1 lifecycle step wrote: the prior rules
// without harden's rule, then harden's rule. Its exact shape changed
// between versions, so the current harden-retention rule stands for it
// when there is one.
func formerLifecycle(prior, current []lifecycleRule, days int32) []lifecycleRule {
	for _, r := range current {
		if aws.ToString(r.ID) == retentionRuleID {
			out := []lifecycleRule{}
			for _, p := range prior {
				if aws.ToString(p.ID) != retentionRuleID {
					out = append(out, p)
				}
			}
			return append(out, r)
		}
	}
	return withRetention(prior, days)
}

func policyValue(policy string) settingValue {
	if policy == "" {
		return settingValue{"", "no policy"}
	}
	var v any
	if err := json.Unmarshal([]byte(policy), &v); err != nil {
		return settingValue{policy, "an unreadable policy"}
	}
	return settingValue{mustJSON(v), "a policy with " + policySids(policy)}
}

func (LogArchive) undoBucketPolicy(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior, after bucketPolicyPrior
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	setting, name := "policy", "the policy of bucket "+prior.Bucket
	if prior.NewBucket {
		return newBucketSetting(setting, prior.Bucket), nil
	}
	ok, err := control.DecodeAfter(s, &after)
	if err != nil {
		return control.Undo{}, err
	}
	if !ok {
		// A format-1 journal: the policy then granted CloudTrail and
		// Config only.
		after.Policy = bucketPolicyOf(formatOneWriters(), prior.Bucket, t)
	}
	c := env.AWS.S3(t.HomeRegion)
	cur, err := readBucketPolicy(ctx, c, prior.Bucket)
	if bucketGone(err) {
		return bucketGoneUndo(prior.Bucket), nil
	}
	if err != nil {
		return control.Undo{}, fmt.Errorf("log-archive: %w", err)
	}
	return settingUndo(name, policyValue(cur), policyValue(after.Policy), policyValue(prior.Policy), func(ctx context.Context) error {
		var err error
		if prior.Policy == "" {
			_, err = c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(prior.Bucket)})
		} else {
			_, err = c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(prior.Bucket), Policy: aws.String(prior.Policy)})
		}
		if err != nil && !bucketGone(err) {
			return fmt.Errorf("log-archive: restore policy of %s: %w", prior.Bucket, err)
		}
		return nil
	}), nil
}
