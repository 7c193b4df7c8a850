package fakeaws

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// kmsRegion is one region's KMS state: customer managed keys by key id and
// aliases by name ("alias/…"). A new account has no customer managed keys.
type kmsRegion struct {
	Keys    map[string]*kmsKey   `json:",omitempty"`
	Aliases map[string]*kmsAlias `json:",omitempty"`
}

type kmsKey struct {
	KeyID        string
	Arn          string
	Region       string
	CreationDate float64
	Description  string
	KeyUsage     string
	KeySpec      string
	// KeyState is Enabled, Disabled or PendingDeletion.
	KeyState                    string
	DeletionDate                float64 `json:",omitempty"`
	PendingDeletionWindowInDays int32   `json:",omitempty"`
	Policy                      string
	RotationEnabled             bool
	RotationPeriodInDays        int32    `json:",omitempty"`
	NextRotationDate            float64  `json:",omitempty"`
	Tags                        []kmsTag `json:",omitempty"`
}

type kmsTag struct {
	TagKey   string `json:"TagKey"`
	TagValue string `json:"TagValue"`
}

type kmsAlias struct {
	AliasName       string  `json:"AliasName"`
	AliasArn        string  `json:"AliasArn"`
	TargetKeyID     string  `json:"TargetKeyId"`
	CreationDate    float64 `json:"CreationDate"`
	LastUpdatedDate float64 `json:"LastUpdatedDate"`
}

func kmsService() *service {
	return &service{
		name:          "kms",
		signingName:   "kms",
		protocol:      protoJSON,
		target:        "TrentService",
		throttleErr:   APIError{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"},
		deniedErr:     APIError{Status: 400, Code: "AccessDeniedException", Message: "User is not authorized to perform this action"},
		notEnabledErr: APIError{Status: 400, Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid."},
		ops: []*op{
			{name: "CreateKey", write: true, handle: kmsCreateKey},
			{name: "DescribeKey", handle: kmsDescribeKey},
			{name: "ListKeys", handle: kmsListKeys},
			{name: "EnableKey", write: true, handle: kmsSetKeyEnabled(true)},
			{name: "DisableKey", write: true, handle: kmsSetKeyEnabled(false)},
			{name: "GetKeyPolicy", handle: kmsGetKeyPolicy},
			{name: "PutKeyPolicy", write: true, handle: kmsPutKeyPolicy},
			{name: "EnableKeyRotation", write: true, handle: kmsEnableKeyRotation},
			{name: "DisableKeyRotation", write: true, handle: kmsDisableKeyRotation},
			{name: "GetKeyRotationStatus", handle: kmsGetKeyRotationStatus},
			{name: "CreateAlias", write: true, handle: kmsCreateAlias},
			{name: "ListAliases", handle: kmsListAliases},
			{name: "DeleteAlias", write: true, handle: kmsDeleteAlias},
			{name: "ScheduleKeyDeletion", write: true, handle: kmsScheduleKeyDeletion},
			{name: "CancelKeyDeletion", write: true, handle: kmsCancelKeyDeletion},
			{name: "TagResource", write: true, handle: kmsTagResource},
			{name: "UntagResource", write: true, handle: kmsUntagResource},
			{name: "ListResourceTags", handle: kmsListResourceTags},
		},
	}
}

func kmsErr(code, msg string) *APIError { return &APIError{Status: 400, Code: code, Message: msg} }

// callerARN is the IAM principal every request is made as (see sts.go).
func callerARN(acct string) string { return "arn:aws:iam::" + acct + ":user/fakeaws" }

// defaultKeyPolicy is the key policy KMS applies when CreateKey names none:
// the account (its root principal) may do everything, so IAM policies
// decide access.
func defaultKeyPolicy(acct string) string {
	return `{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::` + acct + `:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}`
}

func newKeyID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func epochNow() float64 {
	return float64(time.Now().UnixMilli()) / 1000
}

// keySpecUsages lists the key usages each key spec allows.
var keySpecUsages = map[string][]string{
	"SYMMETRIC_DEFAULT": {"ENCRYPT_DECRYPT"},
	"RSA_2048":          {"ENCRYPT_DECRYPT", "SIGN_VERIFY"},
	"RSA_3072":          {"ENCRYPT_DECRYPT", "SIGN_VERIFY"},
	"RSA_4096":          {"ENCRYPT_DECRYPT", "SIGN_VERIFY"},
	"ECC_NIST_P256":     {"SIGN_VERIFY", "KEY_AGREEMENT"},
	"ECC_NIST_P384":     {"SIGN_VERIFY", "KEY_AGREEMENT"},
	"ECC_NIST_P521":     {"SIGN_VERIFY", "KEY_AGREEMENT"},
	"ECC_SECG_P256K1":   {"SIGN_VERIFY"},
	"HMAC_224":          {"GENERATE_VERIFY_MAC"},
	"HMAC_256":          {"GENERATE_VERIFY_MAC"},
	"HMAC_384":          {"GENERATE_VERIFY_MAC"},
	"HMAC_512":          {"GENERATE_VERIFY_MAC"},
	"ML_DSA_44":         {"SIGN_VERIFY"},
	"ML_DSA_65":         {"SIGN_VERIFY"},
	"ML_DSA_87":         {"SIGN_VERIFY"},
}

// checkKeyPolicy parses a key policy and applies KMS's lockout safety
// check: the policy must let the caller (this account's principal) call
// PutKeyPolicy later.
func checkKeyPolicy(c *call, policy, keyARN string, bypass bool) error {
	if len(policy) > 32768 {
		return kmsErr("LimitExceededException", "Key policy exceeds the maximum size of 32768 bytes")
	}
	doc, err := parsePolicy(policy, policyParseOptions{requirePrincipal: true, requireResource: true})
	if err != nil {
		return kmsErr("MalformedPolicyDocumentException", "The key policy is not valid: "+err.Error())
	}
	if bypass {
		return nil
	}
	caller := callerARN(c.acct.ID)
	ok := doc.allows(policyRequest{
		Principal: policyPrincipal{ARN: caller, Account: c.acct.ID},
		Action:    "kms:PutKeyPolicy",
		Resource:  keyARN,
		Context: map[string][]string{
			"aws:PrincipalArn":     {caller},
			"aws:PrincipalAccount": {c.acct.ID},
			"aws:PrincipalType":    {"User"},
			"aws:SecureTransport":  {"true"},
			"kms:CallerAccount":    {c.acct.ID},
		},
	})
	if !ok {
		return kmsErr("MalformedPolicyDocumentException",
			"The new key policy will not allow you to update the key policy in the future.")
	}
	return nil
}

func validateKMSTags(tags []kmsTag) error {
	for _, t := range tags {
		switch {
		case t.TagKey == "" || len(t.TagKey) > 128:
			return kmsErr("TagException", fmt.Sprintf("Tag key '%s' is not valid", t.TagKey))
		case len(t.TagValue) > 256:
			return kmsErr("TagException", fmt.Sprintf("Tag value for key '%s' is too long", t.TagKey))
		case strings.HasPrefix(strings.ToLower(t.TagKey), "aws:"):
			return kmsErr("TagException", "Tags beginning with aws: are reserved")
		}
	}
	return nil
}

func mergeKMSTags(dst []kmsTag, add []kmsTag) []kmsTag {
	for _, t := range add {
		replaced := false
		for i := range dst {
			if dst[i].TagKey == t.TagKey {
				dst[i].TagValue = t.TagValue
				replaced = true
			}
		}
		if !replaced {
			dst = append(dst, t)
		}
	}
	return dst
}

func kmsCreateKey(c *call) (any, error) {
	var in struct {
		Policy                         *string
		Description                    string
		KeyUsage                       string
		KeySpec                        string
		CustomerMasterKeySpec          string
		Origin                         string
		CustomKeyStoreID               string `json:"CustomKeyStoreId"`
		BypassPolicyLockoutSafetyCheck bool
		Tags                           []kmsTag
		MultiRegion                    bool
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	spec := in.KeySpec
	if spec == "" {
		spec = in.CustomerMasterKeySpec
	} else if in.CustomerMasterKeySpec != "" {
		return nil, kmsErr("ValidationException", "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.")
	}
	if spec == "" {
		spec = "SYMMETRIC_DEFAULT"
	}
	usages, ok := keySpecUsages[spec]
	if !ok {
		return nil, kmsErr("ValidationException", fmt.Sprintf("1 validation error detected: Value '%s' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set", spec))
	}
	usage := in.KeyUsage
	if usage == "" {
		usage = "ENCRYPT_DECRYPT"
	}
	if !contains(usages, usage) {
		return nil, kmsErr("ValidationException", fmt.Sprintf("KeyUsage %s is not compatible with KeySpec %s", usage, spec))
	}
	if in.Origin != "" && in.Origin != "AWS_KMS" {
		return nil, kmsErr("UnsupportedOperationException", fmt.Sprintf("fakeaws supports only Origin AWS_KMS, not %s", in.Origin))
	}
	if in.CustomKeyStoreID != "" {
		return nil, kmsErr("CustomKeyStoreNotFoundException", fmt.Sprintf("Custom key store %s does not exist", in.CustomKeyStoreID))
	}
	if len(in.Description) > 8192 {
		return nil, kmsErr("ValidationException", "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192")
	}
	if err := validateKMSTags(in.Tags); err != nil {
		return nil, err
	}
	id := newKeyID()
	if in.MultiRegion {
		id = "mrk-" + strings.ReplaceAll(id, "-", "")
	}
	arn := fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", c.region, c.acct.ID, id)
	policy := defaultKeyPolicy(c.acct.ID)
	if in.Policy != nil {
		policy = *in.Policy
		if err := checkKeyPolicy(c, policy, arn, in.BypassPolicyLockoutSafetyCheck); err != nil {
			return nil, err
		}
	}
	k := &kmsKey{
		KeyID:        id,
		Arn:          arn,
		Region:       c.region,
		CreationDate: epochNow(),
		Description:  in.Description,
		KeyUsage:     usage,
		KeySpec:      spec,
		KeyState:     "Enabled",
		Policy:       policy,
		Tags:         mergeKMSTags(nil, in.Tags),
	}
	c.regionState().KMS.Keys[id] = k
	return struct {
		KeyMetadata map[string]any
	}{k.metadata(c.acct.ID)}, nil
}

// metadata is the key's KeyMetadata as DescribeKey returns it.
func (k *kmsKey) metadata(acct string) map[string]any {
	m := map[string]any{
		"AWSAccountId":          acct,
		"KeyId":                 k.KeyID,
		"Arn":                   k.Arn,
		"CreationDate":          k.CreationDate,
		"Enabled":               k.KeyState == "Enabled",
		"Description":           k.Description,
		"KeyUsage":              k.KeyUsage,
		"KeyState":              k.KeyState,
		"Origin":                "AWS_KMS",
		"KeyManager":            "CUSTOMER",
		"CustomerMasterKeySpec": k.KeySpec,
		"KeySpec":               k.KeySpec,
		"MultiRegion":           strings.HasPrefix(k.KeyID, "mrk-"),
	}
	switch k.KeyUsage {
	case "ENCRYPT_DECRYPT":
		if k.KeySpec == "SYMMETRIC_DEFAULT" {
			m["EncryptionAlgorithms"] = []string{"SYMMETRIC_DEFAULT"}
		} else {
			m["EncryptionAlgorithms"] = []string{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}
		}
	case "GENERATE_VERIFY_MAC":
		m["MacAlgorithms"] = []string{"HMAC_" + strings.TrimPrefix(k.KeySpec, "HMAC_")}
	}
	if k.KeyState == "PendingDeletion" {
		m["DeletionDate"] = k.DeletionDate
		m["PendingDeletionWindowInDays"] = k.PendingDeletionWindowInDays
	}
	return m
}

// resolveKey finds a key in the call's region by key id, key ARN and, when
// aliases are allowed, alias name or alias ARN.
// keyRef is the KeyId every key operation's request carries.
type keyRef struct {
	KeyID string `json:"KeyId"`
}

func (r *keyRef) keyID() string { return r.KeyID }

// decodeKeyRequest decodes a key operation's request into in (a struct
// embedding keyRef) and resolves the key it names.
func (c *call) decodeKeyRequest(in interface{ keyID() string }, aliases bool) (*kmsKey, error) {
	if err := c.decodeJSON(in); err != nil {
		return nil, err
	}
	return resolveKey(c, in.keyID(), aliases)
}

func resolveKey(c *call, id string, aliases bool) (*kmsKey, error) {
	if id == "" {
		return nil, kmsErr("ValidationException", "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null")
	}
	r := &c.regionState().KMS
	notFound := func(what string) error {
		return kmsErr("NotFoundException", what)
	}
	aliasName := ""
	switch {
	case strings.HasPrefix(id, "arn:"):
		parts := strings.SplitN(id, ":", 6)
		if len(parts) != 6 || parts[2] != "kms" {
			return nil, kmsErr("InvalidArnException", fmt.Sprintf("Invalid arn %s", id))
		}
		if parts[3] != c.region || parts[4] != c.acct.ID {
			return nil, notFound(fmt.Sprintf("Invalid arn %s", parts[3]))
		}
		switch {
		case strings.HasPrefix(parts[5], "key/"):
			k, ok := r.Keys[strings.TrimPrefix(parts[5], "key/")]
			if !ok {
				return nil, notFound(fmt.Sprintf("Key '%s' does not exist", id))
			}
			return k, nil
		case strings.HasPrefix(parts[5], "alias/"):
			aliasName = parts[5]
		default:
			return nil, kmsErr("InvalidArnException", fmt.Sprintf("Invalid arn %s", id))
		}
	case strings.HasPrefix(id, "alias/"):
		aliasName = id
	default:
		k, ok := r.Keys[id]
		if !ok {
			return nil, notFound(fmt.Sprintf("Key 'arn:aws:kms:%s:%s:key/%s' does not exist", c.region, c.acct.ID, id))
		}
		return k, nil
	}
	if !aliases {
		return nil, notFound(fmt.Sprintf("Invalid keyId %s", id))
	}
	a, ok := r.Aliases[aliasName]
	if !ok {
		return nil, notFound(fmt.Sprintf("Alias arn:aws:kms:%s:%s:%s is not found.", c.region, c.acct.ID, aliasName))
	}
	return r.Keys[a.TargetKeyID], nil
}

// keyIDInput reads the KeyId every key operation takes.
func keyIDInput(c *call, aliases bool) (*kmsKey, error) {
	var in struct {
		KeyID string `json:"KeyId"`
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	return resolveKey(c, in.KeyID, aliases)
}

func invalidState(k *kmsKey) error {
	return kmsErr("KMSInvalidStateException", fmt.Sprintf("%s is %s", k.Arn, strings.ToLower(k.KeyState[:1])+k.KeyState[1:]))
}

func kmsDescribeKey(c *call) (any, error) {
	k, err := keyIDInput(c, true)
	if err != nil {
		return nil, err
	}
	return struct{ KeyMetadata map[string]any }{k.metadata(c.acct.ID)}, nil
}

// page applies KMS's Limit/Marker paging to n items.
func kmsPage(limit int, marker string, n int) (start, end int, next string, err error) {
	if limit == 0 {
		limit = 100
	}
	if limit < 1 || limit > 1000 {
		return 0, 0, "", kmsErr("ValidationException", "1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value between 1 and 1000")
	}
	if marker != "" {
		start, err = strconv.Atoi(marker)
		if err != nil || start < 0 || start > n {
			return 0, 0, "", kmsErr("InvalidMarkerException", "Invalid marker")
		}
	}
	end = min(n, start+limit)
	if end < n {
		next = strconv.Itoa(end)
	}
	return start, end, next, nil
}

func kmsListKeys(c *call) (any, error) {
	var in struct {
		Limit  int
		Marker string
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	r := &c.regionState().KMS
	ids := sortedKeys(r.Keys)
	start, end, next, err := kmsPage(in.Limit, in.Marker, len(ids))
	if err != nil {
		return nil, err
	}
	type entry struct {
		KeyID  string `json:"KeyId"`
		KeyArn string `json:"KeyArn"`
	}
	keys := []entry{}
	for _, id := range ids[start:end] {
		keys = append(keys, entry{id, r.Keys[id].Arn})
	}
	return struct {
		Keys       []entry
		NextMarker string `json:",omitempty"`
		Truncated  bool
	}{keys, next, next != ""}, nil
}

func kmsSetKeyEnabled(on bool) func(*call) (any, error) {
	return func(c *call) (any, error) {
		k, err := keyIDInput(c, false)
		if err != nil {
			return nil, err
		}
		if k.KeyState == "PendingDeletion" {
			return nil, invalidState(k)
		}
		k.KeyState = "Disabled"
		if on {
			k.KeyState = "Enabled"
		}
		return nil, nil
	}
}

func checkPolicyName(name string) error {
	if name != "" && name != "default" {
		return kmsErr("NotFoundException", fmt.Sprintf("No such policy exists: %s", name))
	}
	return nil
}

func kmsGetKeyPolicy(c *call) (any, error) {
	var in struct {
		keyRef
		PolicyName string
	}
	k, err := c.decodeKeyRequest(&in, false)
	if err != nil {
		return nil, err
	}
	if err := checkPolicyName(in.PolicyName); err != nil {
		return nil, err
	}
	return struct{ Policy, PolicyName string }{k.Policy, "default"}, nil
}

func kmsPutKeyPolicy(c *call) (any, error) {
	var in struct {
		keyRef
		PolicyName                     string
		Policy                         string
		BypassPolicyLockoutSafetyCheck bool
	}
	k, err := c.decodeKeyRequest(&in, false)
	if err != nil {
		return nil, err
	}
	if err := checkPolicyName(in.PolicyName); err != nil {
		return nil, err
	}
	if err := checkKeyPolicy(c, in.Policy, k.Arn, in.BypassPolicyLockoutSafetyCheck); err != nil {
		return nil, err
	}
	k.Policy = in.Policy
	return nil, nil
}

func kmsEnableKeyRotation(c *call) (any, error) {
	var in struct {
		keyRef
		RotationPeriodInDays *int32
	}
	k, err := c.decodeKeyRequest(&in, false)
	if err != nil {
		return nil, err
	}
	if k.KeyState != "Enabled" {
		return nil, invalidState(k)
	}
	if k.KeySpec != "SYMMETRIC_DEFAULT" {
		return nil, kmsErr("UnsupportedOperationException", fmt.Sprintf("%s key rotation is not supported for %s keys", k.Arn, k.KeySpec))
	}
	period := int32(365)
	if in.RotationPeriodInDays != nil {
		period = *in.RotationPeriodInDays
		if period < 90 || period > 2560 {
			return nil, kmsErr("ValidationException", fmt.Sprintf("1 validation error detected: Value '%d' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value between 90 and 2560", period))
		}
	}
	if !k.RotationEnabled || k.RotationPeriodInDays != period {
		k.RotationEnabled = true
		k.RotationPeriodInDays = period
		k.NextRotationDate = k.CreationDate + float64(period)*86400
		for k.NextRotationDate < epochNow() {
			k.NextRotationDate += float64(period) * 86400
		}
	}
	return nil, nil
}

func kmsDisableKeyRotation(c *call) (any, error) {
	k, err := keyIDInput(c, false)
	if err != nil {
		return nil, err
	}
	if k.KeyState != "Enabled" {
		return nil, invalidState(k)
	}
	if k.KeySpec != "SYMMETRIC_DEFAULT" {
		return nil, kmsErr("UnsupportedOperationException", fmt.Sprintf("%s key rotation is not supported for %s keys", k.Arn, k.KeySpec))
	}
	k.RotationEnabled, k.RotationPeriodInDays, k.NextRotationDate = false, 0, 0
	return nil, nil
}

func kmsGetKeyRotationStatus(c *call) (any, error) {
	k, err := keyIDInput(c, false)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"KeyRotationEnabled": k.RotationEnabled, "KeyId": k.Arn}
	if k.RotationEnabled {
		out["RotationPeriodInDays"] = k.RotationPeriodInDays
		out["NextRotationDate"] = k.NextRotationDate
	}
	return out, nil
}

var aliasNamePattern = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]+$`)

func validateAliasName(name string) error {
	switch {
	case !strings.HasPrefix(name, "alias/"):
		return kmsErr("ValidationException", `Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html`)
	case len(name) > 256 || !aliasNamePattern.MatchString(name):
		return kmsErr("ValidationException", name+" contains invalid characters for an alias")
	case strings.HasPrefix(name, "alias/aws/"):
		return kmsErr("InvalidAliasNameException", "Cannot create alias with prefix 'alias/aws/'")
	}
	return nil
}

func kmsCreateAlias(c *call) (any, error) {
	var in struct {
		AliasName   string
		TargetKeyID string `json:"TargetKeyId"`
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	if err := validateAliasName(in.AliasName); err != nil {
		return nil, err
	}
	k, err := resolveKey(c, in.TargetKeyID, false)
	if err != nil {
		return nil, err
	}
	if k.KeyState == "PendingDeletion" {
		return nil, invalidState(k)
	}
	r := &c.regionState().KMS
	if _, ok := r.Aliases[in.AliasName]; ok {
		return nil, kmsErr("AlreadyExistsException",
			fmt.Sprintf("An alias with the name arn:aws:kms:%s:%s:%s already exists", c.region, c.acct.ID, in.AliasName))
	}
	now := epochNow()
	r.Aliases[in.AliasName] = &kmsAlias{
		AliasName:       in.AliasName,
		AliasArn:        fmt.Sprintf("arn:aws:kms:%s:%s:%s", c.region, c.acct.ID, in.AliasName),
		TargetKeyID:     k.KeyID,
		CreationDate:    now,
		LastUpdatedDate: now,
	}
	return nil, nil
}

func kmsListAliases(c *call) (any, error) {
	var in struct {
		KeyID  string `json:"KeyId"`
		Limit  int
		Marker string
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	r := &c.regionState().KMS
	var only *kmsKey
	if in.KeyID != "" {
		k, err := resolveKey(c, in.KeyID, false)
		if err != nil {
			return nil, err
		}
		only = k
	}
	var all []*kmsAlias
	for _, name := range sortedKeys(r.Aliases) {
		if a := r.Aliases[name]; only == nil || a.TargetKeyID == only.KeyID {
			all = append(all, a)
		}
	}
	limit := in.Limit
	if limit == 0 {
		limit = 50
	}
	start, end, next, err := kmsPage(limit, in.Marker, len(all))
	if err != nil {
		return nil, err
	}
	return struct {
		Aliases    []*kmsAlias
		NextMarker string `json:",omitempty"`
		Truncated  bool
	}{append([]*kmsAlias{}, all[start:end]...), next, next != ""}, nil
}

func kmsDeleteAlias(c *call) (any, error) {
	var in struct{ AliasName string }
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	r := &c.regionState().KMS
	if _, ok := r.Aliases[in.AliasName]; !ok {
		return nil, kmsErr("NotFoundException", fmt.Sprintf("Alias arn:aws:kms:%s:%s:%s is not found.", c.region, c.acct.ID, in.AliasName))
	}
	delete(r.Aliases, in.AliasName)
	return nil, nil
}

func kmsScheduleKeyDeletion(c *call) (any, error) {
	var in struct {
		keyRef
		PendingWindowInDays *int32
	}
	k, err := c.decodeKeyRequest(&in, false)
	if err != nil {
		return nil, err
	}
	days := int32(30)
	if in.PendingWindowInDays != nil {
		days = *in.PendingWindowInDays
	}
	if days < 7 || days > 30 {
		return nil, kmsErr("ValidationException", fmt.Sprintf("1 validation error detected: Value '%d' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between 7 and 30", days))
	}
	if k.KeyState == "PendingDeletion" {
		return nil, invalidState(k)
	}
	k.KeyState = "PendingDeletion"
	k.PendingDeletionWindowInDays = days
	k.DeletionDate = epochNow() + float64(days)*86400
	return map[string]any{
		"KeyId": k.Arn, "DeletionDate": k.DeletionDate, "KeyState": k.KeyState, "PendingWindowInDays": days,
	}, nil
}

func kmsCancelKeyDeletion(c *call) (any, error) {
	k, err := keyIDInput(c, false)
	if err != nil {
		return nil, err
	}
	if k.KeyState != "PendingDeletion" {
		return nil, invalidState(k)
	}
	k.KeyState = "Disabled"
	k.DeletionDate, k.PendingDeletionWindowInDays = 0, 0
	return struct {
		KeyID string `json:"KeyId"`
	}{k.Arn}, nil
}

func kmsTagResource(c *call) (any, error) {
	var in struct {
		keyRef
		Tags []kmsTag
	}
	k, err := c.decodeKeyRequest(&in, false)
	if err != nil {
		return nil, err
	}
	if k.KeyState == "PendingDeletion" {
		return nil, invalidState(k)
	}
	if err := validateKMSTags(in.Tags); err != nil {
		return nil, err
	}
	merged := mergeKMSTags(append([]kmsTag(nil), k.Tags...), in.Tags)
	if len(merged) > 50 {
		return nil, kmsErr("LimitExceededException", "A KMS key can have at most 50 tags")
	}
	k.Tags = merged
	return nil, nil
}

func kmsUntagResource(c *call) (any, error) {
	var in struct {
		keyRef
		TagKeys []string
	}
	k, err := c.decodeKeyRequest(&in, false)
	if err != nil {
		return nil, err
	}
	if k.KeyState == "PendingDeletion" {
		return nil, invalidState(k)
	}
	var kept []kmsTag
	for _, t := range k.Tags {
		if !contains(in.TagKeys, t.TagKey) {
			kept = append(kept, t)
		}
	}
	k.Tags = kept
	return nil, nil
}

func kmsListResourceTags(c *call) (any, error) {
	var in struct {
		keyRef
		Limit  int
		Marker string
	}
	k, err := c.decodeKeyRequest(&in, false)
	if err != nil {
		return nil, err
	}
	tags := append([]kmsTag{}, k.Tags...)
	sort.Slice(tags, func(i, j int) bool { return tags[i].TagKey < tags[j].TagKey })
	limit := in.Limit
	if limit == 0 {
		limit = 50
	}
	start, end, next, err := kmsPage(limit, in.Marker, len(tags))
	if err != nil {
		return nil, err
	}
	return struct {
		Tags       []kmsTag
		NextMarker string `json:",omitempty"`
		Truncated  bool
	}{tags[start:end], next, next != ""}, nil
}

// findKeyAnywhere resolves a key id, key ARN, alias name or alias ARN as
// another service (CloudTrail, Config) does: alias names and bare key ids
// in defaultRegion, ARNs in their own region. It returns nil when there is
// no such key.
func findKeyAnywhere(a *account, defaultRegion, id string) *kmsKey {
	region, rest := defaultRegion, id
	if strings.HasPrefix(id, "arn:") {
		parts := strings.SplitN(id, ":", 6)
		if len(parts) != 6 || parts[2] != "kms" || parts[4] != a.ID {
			return nil
		}
		region, rest = parts[3], parts[5]
	}
	r, ok := a.Regions[region]
	if !ok {
		return nil
	}
	if strings.HasPrefix(rest, "alias/") {
		al, ok := r.KMS.Aliases[rest]
		if !ok {
			return nil
		}
		return r.KMS.Keys[al.TargetKeyID]
	}
	return r.KMS.Keys[strings.TrimPrefix(rest, "key/")]
}
