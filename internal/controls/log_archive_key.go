package controls

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/parallel"
)

// The log-archive key's writes. The key, its alias and its rotation are
// kept by rollback: logs may be encrypted with the key.
const (
	stepCreateKey         control.StepKind = "CreateKey"
	stepCreateAlias       control.StepKind = "CreateAlias"
	stepEnableKeyRotation control.StepKind = "EnableKeyRotation"
	stepPutKeyPolicy      control.StepKind = "PutKeyPolicy"
)

// logArchiveKeyDescription is the description of the key harden creates;
// an orphan key is recognised by it and by harden's tag.
const logArchiveKeyDescription = "harden log archive: encrypts CloudTrail and AWS Config deliveries"

type (
	// createdPrior names what a create step makes; nothing existed before.
	createdPrior struct {
		Name string `json:"Name"`
	}
	// keyCreated is CreateKey's result.
	keyCreated struct {
		KeyARN string `json:"key_arn"`
	}
	// aliasState is what CreateAlias leaves.
	aliasState struct {
		Alias  string `json:"alias"`
		KeyARN string `json:"key_arn"`
	}
	// rotationPrior names the key whose rotation was turned on.
	rotationPrior struct {
		KeyARN string `json:"KeyARN"`
	}
	// keyPolicyPrior is a key's policy, before or after PutKeyPolicy.
	keyPolicyPrior struct {
		KeyARN string `json:"KeyARN"`
		Policy string `json:"Policy"`
	}
)

// readKey fills the key part of st: the key behind harden's alias, or else
// a harden key left without its alias by an interrupted apply.
func (LogArchive) readKey(ctx context.Context, env *control.Env, t control.Target, st *archiveState) error {
	k := env.AWS.KMS(t.HomeRegion)
	key, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(LogArchiveKeyAlias)})
	switch {
	case awserror.Is(err, "NotFoundException"):
		orphans, err := findKeys(ctx, k, isOrphanArchiveKey)
		if err != nil {
			return fmt.Errorf("log-archive: look for an orphan harden key in %s: %w", t.HomeRegion, err)
		}
		if len(orphans) == 0 {
			return nil
		}
		st.KeyARN, st.KeyOrphan = aws.ToString(orphans[0].Arn), true
	case err != nil:
		return fmt.Errorf("log-archive: describe key %s in %s: %w", LogArchiveKeyAlias, t.HomeRegion, err)
	default:
		st.KeyARN = aws.ToString(key.KeyMetadata.Arn)
	}
	return parallel.Do(ctx,
		func(ctx context.Context) error {
			rot, err := k.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(st.KeyARN)})
			if err != nil {
				return fmt.Errorf("log-archive: get key rotation status in %s: %w", t.HomeRegion, err)
			}
			st.KeyRotation = rot.KeyRotationEnabled
			return nil
		},
		func(ctx context.Context) (err error) {
			if st.KeyPolicy, err = readKeyPolicy(ctx, k, st.KeyARN); err != nil {
				return fmt.Errorf("log-archive: %w", err)
			}
			return nil
		})
}

func readKeyPolicy(ctx context.Context, k *kms.Client, keyARN string) (string, error) {
	pol, err := k.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(keyARN), PolicyName: aws.String("default")})
	if err != nil {
		return "", fmt.Errorf("get policy of key %s: %w", keyARN, err)
	}
	return aws.ToString(pol.Policy), nil
}

// isOrphanArchiveKey says whether a key is one harden made for the log
// archive and can adopt: harden's tag, harden's description, enabled.
func isOrphanArchiveKey(m *kmstypes.KeyMetadata, tags map[string]string) bool {
	return tags[control.TagManagedBy] == control.TagManagedByID && m.KeyState == kmstypes.KeyStateEnabled &&
		strings.HasPrefix(aws.ToString(m.Description), "harden log archive")
}

// findKeys lists the account's customer managed keys in the client's
// region that are not pending deletion and match, oldest first. Each
// key's tags are read before its metadata, so a key without harden's tag
// costs one call.
func findKeys(ctx context.Context, k *kms.Client, match func(*kmstypes.KeyMetadata, map[string]string) bool) ([]*kmstypes.KeyMetadata, error) {
	var found []*kmstypes.KeyMetadata
	p := kms.NewListKeysPaginator(k, &kms.ListKeysInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list keys: %w", err)
		}
		for _, entry := range page.Keys {
			tags, err := keyTags(ctx, k, aws.ToString(entry.KeyArn))
			if err != nil {
				return nil, err
			}
			if tags[control.TagManagedBy] != control.TagManagedByID {
				continue
			}
			d, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: entry.KeyArn})
			if err != nil {
				return nil, fmt.Errorf("describe key %s: %w", aws.ToString(entry.KeyArn), err)
			}
			m := d.KeyMetadata
			if m.KeyState == kmstypes.KeyStatePendingDeletion || m.KeyManager != kmstypes.KeyManagerTypeCustomer || !match(m, tags) {
				continue
			}
			found = append(found, m)
		}
	}
	sort.SliceStable(found, func(i, j int) bool {
		return aws.ToTime(found[i].CreationDate).Before(aws.ToTime(found[j].CreationDate))
	})
	return found, nil
}

func keyTags(ctx context.Context, k *kms.Client, keyARN string) (map[string]string, error) {
	tags := map[string]string{}
	p := kms.NewListResourceTagsPaginator(k, &kms.ListResourceTagsInput{KeyId: aws.String(keyARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list tags of key %s: %w", keyARN, err)
		}
		for _, tag := range page.Tags {
			tags[aws.ToString(tag.TagKey)] = aws.ToString(tag.TagValue)
		}
	}
	return tags, nil
}

func kmsTags(m map[string]string) []kmstypes.Tag {
	var out []kmstypes.Tag
	for _, k := range sortedMapKeys(m) {
		out = append(out, kmstypes.Tag{TagKey: aws.String(k), TagValue: aws.String(m[k])})
	}
	return out
}

func sortedMapKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// keyOutcome is the key branch's result for the bucket branch: the key's
// ARN once done is closed, or the error that stopped it.
type keyOutcome struct {
	done chan struct{}
	arn  string
	err  error
}

// wait returns the key's ARN once the key branch has ended.
func (k *keyOutcome) wait(ctx context.Context) (string, error) {
	select {
	case <-k.done:
		return k.arn, k.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// applyKey creates the key if needed, then gives it its alias, rotation
// and policy at once (each needs only the key), and returns its ARN.
func (LogArchive) applyKey(ctx context.Context, env *control.Env, t control.Target, j control.Journal, st archiveState) (string, error) {
	k := env.AWS.KMS(t.HomeRegion)
	if st.KeyARN == "" {
		var arn string
		err := j.Write(ctx, stepCreateKey, createdPrior{Name: LogArchiveKeyAlias}, createdPrior{Name: LogArchiveKeyAlias}, func(ctx context.Context) (any, error) {
			out, err := k.CreateKey(ctx, &kms.CreateKeyInput{
				Description: aws.String(logArchiveKeyDescription),
				KeySpec:     kmstypes.KeySpecSymmetricDefault,
				KeyUsage:    kmstypes.KeyUsageTypeEncryptDecrypt,
				Policy:      aws.String(keyPolicy(t)),
				Tags:        kmsTags(control.Tags(j.RunID())),
			})
			if err != nil {
				return nil, err
			}
			arn = aws.ToString(out.KeyMetadata.Arn)
			return keyCreated{KeyARN: arn}, nil
		})
		if err != nil {
			return "", fmt.Errorf("log-archive: create KMS key in %s: %w", t.HomeRegion, err)
		}
		st.KeyARN, st.KeyOrphan, st.KeyPolicy = arn, true, keyPolicy(t)
	}
	var writes []func(context.Context) error
	if st.KeyOrphan {
		writes = append(writes, func(ctx context.Context) error {
			after := aliasState{Alias: LogArchiveKeyAlias, KeyARN: st.KeyARN}
			err := j.Write(ctx, stepCreateAlias, createdPrior{Name: LogArchiveKeyAlias}, after, func(ctx context.Context) (any, error) {
				_, err := k.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(LogArchiveKeyAlias), TargetKeyId: aws.String(st.KeyARN)})
				return nil, err
			})
			if err != nil {
				return fmt.Errorf("log-archive: create alias %s in %s: %w", LogArchiveKeyAlias, t.HomeRegion, err)
			}
			return nil
		})
	}
	if !st.KeyRotation {
		writes = append(writes, func(ctx context.Context) error {
			err := j.Write(ctx, stepEnableKeyRotation, rotationPrior{KeyARN: st.KeyARN}, rotationPrior{KeyARN: st.KeyARN}, func(ctx context.Context) (any, error) {
				_, err := k.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(st.KeyARN)})
				return nil, err
			})
			if err != nil {
				return fmt.Errorf("log-archive: enable rotation of %s: %w", LogArchiveKeyAlias, err)
			}
			return nil
		})
	}
	if want := keyPolicy(t); !samePolicy(st.KeyPolicy, want) {
		writes = append(writes, func(ctx context.Context) error {
			prior, after := keyPolicyPrior{KeyARN: st.KeyARN, Policy: st.KeyPolicy}, keyPolicyPrior{KeyARN: st.KeyARN, Policy: want}
			err := j.Write(ctx, stepPutKeyPolicy, prior, after, func(ctx context.Context) (any, error) {
				_, err := k.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(st.KeyARN), PolicyName: aws.String("default"), Policy: aws.String(want)})
				return nil, err
			})
			if err != nil {
				return fmt.Errorf("log-archive: put key policy of %s: %w", LogArchiveKeyAlias, err)
			}
			return nil
		})
	}
	if err := parallel.All(ctx, writes...); err != nil {
		return "", err
	}
	return st.KeyARN, nil
}

// keyID is the key id part of a key ARN.
func keyID(arn string) string {
	if i := strings.LastIndex(arn, "key/"); i >= 0 {
		return arn[i+len("key/"):]
	}
	return arn
}

const keptKeyReason = "logs may be encrypted with it; schedule its deletion yourself if it is unwanted"

// undoCreateKey keeps the key. A confirmed create names it by the id AWS
// returned; an unconfirmed one looks for a key carrying this run's tag.
func (LogArchive) undoCreateKey(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var created keyCreated
	ok, err := control.DecodeResult(s, &created)
	if err != nil {
		return control.Undo{}, err
	}
	if ok && created.KeyARN != "" {
		return control.Kept("KMS key %s (%s) in %s: %s", keyID(created.KeyARN), LogArchiveKeyAlias, t.HomeRegion, keptKeyReason), nil
	}
	if s.RunID == "" {
		return control.Kept("KMS key %s in %s, if it was created: %s", LogArchiveKeyAlias, t.HomeRegion, keptKeyReason), nil
	}
	k := env.AWS.KMS(t.HomeRegion)
	keys, err := findKeys(ctx, k, func(_ *kmstypes.KeyMetadata, tags map[string]string) bool { return tags[control.TagRun] == s.RunID })
	if err != nil {
		return control.Undo{}, fmt.Errorf("log-archive: look for the key of run %s in %s: %w", s.RunID, t.HomeRegion, err)
	}
	if len(keys) == 0 {
		return control.Nothing("no KMS key of run %s in %s: the write never happened", s.RunID, t.HomeRegion), nil
	}
	var ids []string
	for _, m := range keys {
		ids = append(ids, aws.ToString(m.KeyId))
	}
	alias := "alias not created"
	if cur, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(LogArchiveKeyAlias)}); err == nil && aws.ToString(cur.KeyMetadata.Arn) == aws.ToString(keys[0].Arn) {
		alias = LogArchiveKeyAlias
	} else if err != nil && !awserror.Is(err, "NotFoundException") {
		return control.Undo{}, fmt.Errorf("log-archive: describe key %s in %s: %w", LogArchiveKeyAlias, t.HomeRegion, err)
	}
	return control.Kept("KMS key %s (%s) in %s: %s", strings.Join(ids, ", "), alias, t.HomeRegion, keptKeyReason), nil
}

// undoKeptKeySetting keeps the alias and the rotation of the kept key;
// what says which, with %s for the region.
func undoKeptKeySetting(what string) control.UndoFunc {
	return func(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
		return control.Kept(what+", with the key", t.HomeRegion), nil
	}
}

// undoPutKeyPolicy restores the key policy the step replaced while the key
// still has harden's policy.
func (LogArchive) undoPutKeyPolicy(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior, after keyPolicyPrior
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	ok, err := control.DecodeAfter(s, &after)
	if err != nil {
		return control.Undo{}, err
	}
	if !ok {
		// A format-1 journal: the policy then granted CloudTrail and
		// Config only.
		after = keyPolicyPrior{KeyARN: prior.KeyARN, Policy: keyPolicyOf(formatOneWriters(), t)}
	}
	if prior.Policy == "" {
		return control.Nothing("the policy of KMS key %s had no prior value to restore", keyID(prior.KeyARN)), nil
	}
	k := env.AWS.KMS(t.HomeRegion)
	key, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(prior.KeyARN)})
	switch {
	case awserror.Is(err, "NotFoundException"):
		return control.Nothing("KMS key %s no longer exists", keyID(prior.KeyARN)), nil
	case err != nil:
		return control.Undo{}, fmt.Errorf("log-archive: describe key %s: %w", keyID(prior.KeyARN), err)
	case key.KeyMetadata.KeyState == kmstypes.KeyStatePendingDeletion:
		return control.Nothing("KMS key %s is pending deletion", keyID(prior.KeyARN)), nil
	}
	cur, err := readKeyPolicy(ctx, k, prior.KeyARN)
	if err != nil {
		return control.Undo{}, fmt.Errorf("log-archive: %w", err)
	}
	restore := func(ctx context.Context) error {
		_, err := k.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(prior.KeyARN), PolicyName: aws.String("default"), Policy: aws.String(prior.Policy)})
		if err != nil {
			return fmt.Errorf("log-archive: restore policy of key %s: %w", keyID(prior.KeyARN), err)
		}
		return nil
	}
	name := "the policy of KMS key " + keyID(prior.KeyARN)
	return settingUndo(name, policyValue(cur), policyValue(after.Policy), policyValue(prior.Policy), restore), nil
}
